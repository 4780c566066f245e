"""Socket.IO event packets serialized once, then handed as they are to every connection.

python-socketio's emit encodes a packet per call, walks the payload for binary parts and
starts a task per recipient. A user-stream event is JSON only and goes to known
connections, so it is encoded here once, with the same JSON as every other packet
(server/json_codec.py), and the same Engine.IO packet (which caches its own text) is queued
for each connection and each replay.
"""

from __future__ import annotations

from typing import Any

from engineio import packet as eio_packet
from socketio import packet as sio_packet

from server import json_codec

_EVENT = str(sio_packet.EVENT)


def event_packet(namespace: str, name: str, data: dict[str, Any]) -> eio_packet.Packet:
    """The Engine.IO MESSAGE carrying the Socket.IO EVENT `[name, data]` on `namespace`."""
    prefix = _EVENT if namespace == "/" else f"{_EVENT}{namespace},"
    return eio_packet.Packet(eio_packet.MESSAGE, prefix + json_codec.dumps([name, data]))
