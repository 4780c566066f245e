"""Replaces python-socketio's `socketio.async_server.AsyncServer._send_packet` and
`_send_eio_packet`.

Every Socket.IO packet python-socketio sends (connect replies, acks, emits through the client
manager, disconnects) goes through these two; here they hand it to `send_outbound`, which
the server points at the Emitter, so that the Emitter is where every packet leaves, counted
(server/realtime/emitter.py `Emitter.packet`).
"""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet

from server.realtime.overrides.upstream import Upstream

UPSTREAM = (
    Upstream(
        "socketio.async_server",
        "AsyncServer._send_packet",
        sha256="a00022b42c1c29e908fd601c32aa1854aeaf2f131b3acc12461f6030e1ab9e9b",
    ),
    Upstream(
        "socketio.async_server",
        "AsyncServer._send_eio_packet",
        sha256="64cf72a2ab7d75b1d4cc1469416cde6ad7e949f74693924381dc05560e9ae929",
    ),
)


class SendPacket(socketio.AsyncServer):  # type: ignore[misc]
    async def send_outbound(self, eio_sid: str, pkt: eio_packet.Packet) -> None:
        """One Engine.IO MESSAGE to one connection."""
        raise NotImplementedError

    async def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        encoded = pkt.encode()
        for part in encoded if isinstance(encoded, list) else [encoded]:
            await self.send_outbound(eio_sid, eio_packet.Packet(eio_packet.MESSAGE, part))

    async def _send_eio_packet(self, eio_sid: str, eio_pkt: eio_packet.Packet) -> None:
        await self.send_outbound(eio_sid, eio_pkt)
