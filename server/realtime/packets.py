"""Socket.IO packets as this server encodes and decodes them.

Encoded with orjson (server/realtime/json_codec.py), once, when the packet is built: orjson cannot
encode bytes, so a payload it encoded has no binary attachments, and python-socketio's walk of
every payload looking for them is skipped. A user-stream event is encoded once for all its
recipients and replays (`event_packet`): the same Engine.IO packet, which caches its own text,
is queued for each connection.
"""

from __future__ import annotations

from typing import Any

from engineio import packet as eio_packet
from socketio import packet

from server.realtime.json_codec import JsonCodec, try_dumps


class UndecodablePacket(ValueError):
    """A packet whose header was read but whose JSON was not."""

    def __init__(self, pkt: packet.Packet, reason: str) -> None:
        super().__init__(reason)
        self.packet_type: Any = pkt.packet_type
        self.namespace: str = pkt.namespace or "/"
        self.id: int | None = pkt.id


class BinaryPacketRefused(UndecodablePacket):
    """A binary event or ack: the protocol is JSON only, so its attachments are never
    waited for (python-socketio would buffer as many as the header declares)."""


class ServerPacket(packet.Packet):  # type: ignore[misc]
    # On this class only: the library's own Packet, which its clients use too, keeps its json.
    json = JsonCodec

    def __init__(
        self,
        packet_type: int = packet.EVENT,
        data: Any = None,
        namespace: str | None = None,
        id: int | None = None,
        binary: bool | None = None,
        encoded_packet: Any = None,
    ) -> None:
        encoded = None
        if encoded_packet is None and binary is None and data is not None:
            encoded = try_dumps(data)
            if encoded is not None:
                binary = False
        super().__init__(packet_type, data, namespace, id, binary, encoded_packet)
        self._encoded_data = encoded

    def encode(self) -> Any:
        if self._encoded_data is None:
            return super().encode()
        head = str(self.packet_type)
        if self.namespace is not None and self.namespace != "/":
            head += self.namespace + ","
        if self.id is not None:
            head += str(self.id)
        return head + self._encoded_data

    def decode(self, encoded_packet: Any) -> Any:
        try:
            attachments = super().decode(encoded_packet)
        except (ValueError, RecursionError, TypeError, IndexError) as exc:
            raise UndecodablePacket(self, f"{type(exc).__name__}: {exc}") from None
        if self.packet_type in (packet.BINARY_EVENT, packet.BINARY_ACK):
            raise BinaryPacketRefused(self, f"binary packet declaring {attachments} attachments")
        return attachments


def event_packet(namespace: str, name: str, data: dict[str, Any]) -> eio_packet.Packet:
    """The Engine.IO MESSAGE carrying the Socket.IO EVENT `[name, data]` on `namespace`."""
    event = ServerPacket(packet.EVENT, data=[name, data], namespace=namespace)
    return eio_packet.Packet(eio_packet.MESSAGE, event.encode())
