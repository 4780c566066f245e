"""Replaces python-socketio's `socketio.packet.Packet.encode` and `Packet.decode` (and extends
`Packet.__init__`) for the packet class the server is given as `serializer=`.

- Encoding: with orjson (server/realtime/json_codec.py), once, when the packet is built.
  orjson cannot encode bytes, so a payload it encoded has no binary attachments, and
  upstream's walk of every payload looking for them is skipped; `encode` then writes the
  header as upstream does, followed by the text already encoded.
- Decoding: a packet whose JSON cannot be read raises `UndecodablePacket`, carrying the
  header upstream had read (type, namespace, ack id) so the server can answer it; a binary
  event or ack raises `BinaryPacketRefused` instead of waiting for attachments.
"""

from __future__ import annotations

from typing import Any

from socketio import packet

from server.realtime.json_codec import JsonCodec, try_dumps
from server.realtime.overrides.upstream import Upstream

UPSTREAM = (
    Upstream(
        "socketio.packet",
        "Packet.encode",
        sha256="513c45be75181da2e2b99a71f0876080a515f8dc0dfd99fd691ea2879637e8ea",
    ),
    # Sets type, namespace and id before it reads the JSON, which may raise.
    Upstream(
        "socketio.packet",
        "Packet.decode",
        sha256="61ad7904b539f4728d84d0db1a2051a762676a85ab5bacfaf83f3b3465190a8a",
    ),
    # Decodes from the constructor; decides binary-ness from `binary` and the data.
    Upstream(
        "socketio.packet",
        "Packet.__init__",
        sha256="5fe2fa797e082c1dcecce5ef96b84380ef8267559aa649c0792df016afc08a21",
    ),
)


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
