"""Everything that replaces or re-implements a private part of python-socketio or
python-engineio, one module per upstream function (or tightly bound pair).

Each module's docstring names what it replaces and why; its `UPSTREAM` pins what it depends
on by hash (upstream.py), checked against the installed libraries by
tests/server/realtime/overrides/test_upstream.py. server/realtime/engine.py and
server/realtime/sio_server.py compose these; nothing else overrides a library internal.
"""
