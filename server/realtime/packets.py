"""User-stream events encoded once for all their recipients and replays.

`event_packet` builds the Engine.IO MESSAGE with the server's own packet class
(server/realtime/overrides/packet_codec.py); the same Engine.IO packet, which caches its own
text, is queued for each connection.
"""

from __future__ import annotations

from typing import Any

from engineio import packet as eio_packet
from socketio import packet

from server.realtime.overrides.packet_codec import ServerPacket


def event_packet(namespace: str, name: str, data: dict[str, Any]) -> eio_packet.Packet:
    """The Engine.IO MESSAGE carrying the Socket.IO EVENT `[name, data]` on `namespace`."""
    event = ServerPacket(packet.EVENT, data=[name, data], namespace=namespace)
    return eio_packet.Packet(eio_packet.MESSAGE, event.encode())
