"""Replaces python-socketio's `socketio.async_server.AsyncServer._handle_eio_message`: the
dispatch of each Socket.IO packet.

Upstream buffers the attachments a binary packet announces, decodes JSON that may raise
anywhere (logged with a traceback), and raises on a client's CONNECT_ERROR or an unknown
type. The protocol is JSON only and the server never asks a client for an ack, so here a
binary frame, a binary packet, a client ACK or CONNECT_ERROR and an unknown type are
counted as bad frames; a packet whose JSON cannot be read is answered (`answer_undecodable`)
where it asked for an answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import socketio
from socketio import packet

from server.realtime.bad_frames import BadFrameKind
from server.realtime.overrides.packet_codec import BinaryPacketRefused, UndecodablePacket
from server.realtime.overrides.upstream import Upstream

if TYPE_CHECKING:
    from server.realtime.engine import GuardedEngine

UPSTREAM = (
    Upstream(
        "socketio.async_server",
        "AsyncServer._handle_eio_message",
        sha256="bef50fc0e1635921c922995dba721d05d1c5ccc95d6a6b7647a1db75c4e6032e",
    ),
    # Dispatched to as upstream does, with the same arguments.
    Upstream(
        "socketio.async_server",
        "AsyncServer._handle_disconnect",
        sha256="9862309d2dd535604017d53446bb5ee0613a4af6ac2c58d415821f9c02e49987",
        part="signature",
    ),
    # Registers `_handle_eio_message` as the engine's `message` handler.
    Upstream(
        "socketio.base_server",
        "BaseServer.__init__",
        sha256="6b998e091b34a5630d603af2af88d726877fe6a33a77f1772dec825353f42541",
    ),
)


class EioMessage(socketio.AsyncServer):  # type: ignore[misc]
    eio: GuardedEngine

    async def answer_undecodable(self, eio_sid: str, bad: UndecodablePacket) -> bool:
        """Answer a packet whose JSON cannot be read, if it asked; False if not answered."""
        raise NotImplementedError

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if isinstance(data, bytes):
            # Only ever an attachment, and no binary packet is ever waited on.
            self.eio.bad_frame(eio_sid, "attachment", f"{len(data)} bytes")
            return
        if not isinstance(data, str):
            # python-engineio decodes a MESSAGE's data as JSON when it can (`4-1`, `4null`).
            detail = f"message data of type {type(data).__name__}"
            self.eio.bad_frame(eio_sid, "engineio_garbage", detail)
            return
        try:
            pkt = self.packet_class(encoded_packet=data)
        except UndecodablePacket as bad:
            kind: BadFrameKind = "binary" if isinstance(bad, BinaryPacketRefused) else "undecodable"
            answered = await self.answer_undecodable(eio_sid, bad)
            self.eio.bad_frame(eio_sid, kind, str(bad), answered=answered)
            return
        if pkt.packet_type == packet.EVENT:
            await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
        elif pkt.packet_type == packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif pkt.packet_type == packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        else:
            # The server never asks a client for an ack; CONNECT_ERROR is the server's.
            detail = f"packet type {pkt.packet_type} on {str(pkt.namespace)[:100]}"
            self.eio.bad_frame(eio_sid, "unexpected_packet", detail)
