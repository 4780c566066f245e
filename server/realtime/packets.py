"""User-stream events encoded once for all their recipients and replays.

`event_packet` builds the Engine.IO MESSAGE carrying a Socket.IO EVENT: the same Engine.IO
packet, which caches its own text, is queued for each connection.
"""

from __future__ import annotations

from typing import Any

from engineio import packet as eio_packet
from socketio import packet

from server.realtime.json_codec import try_dumps
from server.realtime.overrides.packet_codec import ServerPacket
from server.stores.replay_store import StoredEvent

_EVENT = str(packet.EVENT)


def event_packet(
    namespace: str, name: str, data: dict[str, Any], encoded: str | None = None
) -> eio_packet.Packet:
    """The Engine.IO MESSAGE carrying the Socket.IO EVENT `[name, data]` on `namespace`;
    `encoded`, the JSON of `[name, data]` if the caller has it already."""
    if encoded is None:
        encoded = try_dumps([name, data])
    if encoded is not None and namespace != "/":
        return _from_json(namespace, encoded)
    # What orjson cannot encode, and the default namespace's header, as the codec does.
    text = ServerPacket(packet.EVENT, data=[name, data], namespace=namespace).encode()
    return eio_packet.Packet(eio_packet.MESSAGE, text)


def stored_event_packet(namespace: str, event: StoredEvent) -> eio_packet.Packet:
    """`event_packet` of a kept event, from the JSON it was kept as when there is one (its
    data is then never read back)."""
    if event.encoded is not None and namespace != "/":
        return _from_json(namespace, event.encoded)
    return event_packet(namespace, event.name, event.data)


def _from_json(namespace: str, encoded: str) -> eio_packet.Packet:
    # The text ServerPacket.encode writes (type, namespace, comma, JSON), without building the
    # packet object: a replay makes a thousand of these at once.
    return eio_packet.Packet(eio_packet.MESSAGE, _EVENT + namespace + "," + encoded)
