"""Replaces python-socketio's `socketio.async_server.AsyncServer._engineio_server_class`.

python-socketio builds its Engine.IO server in its constructor from this method's answer,
with no public way to pass another class: this one answers `engine_class`, the engine with
the transport guards (server/realtime/engine.py).
"""

from __future__ import annotations

from typing import Any

import engineio
import socketio

from server.realtime.overrides.upstream import Upstream

UPSTREAM = (
    Upstream(
        "socketio.async_server",
        "AsyncServer._engineio_server_class",
        sha256="199c42bf149247e0325bd5fb6c8bcc6c3703c5576704530fa92b383e0f777dd4",
    ),
    # Calls it once, with the engine's options (`async_handlers=False` among them).
    Upstream(
        "socketio.base_server",
        "BaseServer.__init__",
        sha256="6b998e091b34a5630d603af2af88d726877fe6a33a77f1772dec825353f42541",
    ),
)


class EngineClass(socketio.AsyncServer):  # type: ignore[misc]
    engine_class: type[Any] = engineio.AsyncServer

    def _engineio_server_class(self) -> type[Any]:
        return self.engine_class
