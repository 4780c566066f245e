"""python-socketio's AsyncServer with the hooks the namespaces rely on.

1. Whether the client asked for an ack is known only inside the server; handlers need it to
   report a failed ack-less event as `<namespace>:error` instead (`ack_requested`).
2. Work that must follow the CONNECT packet (hello, replay, `chat:ready`) runs right after it,
   in the same task, so nothing can reach the client before its connect succeeds.
3. A client event named `connect` or `disconnect` goes to the namespace as a client event,
   never to its connect or disconnect handling.
4. A packet whose JSON cannot be decoded (a number over 100 digits, nesting too deep, bad
   syntax) is answered like any bad input, an `invalid_payload` ack or a `token_invalid`
   connect refusal, instead of being dropped with a traceback in the log.
5. Events a namespace lists in `inline_events` (handlers that never wait) run on the
   connection's reader, without the task python-socketio starts for every event.
6. What the protocol does not have is refused on arrival, counted as a bad frame
   (server/realtime/bad_frames.py) and never logged with a traceback: a connect to a namespace
   not registered (there is no default namespace `/`), binary events and acks (the protocol
   is JSON only: their attachments are never buffered), binary frames, acks and connect
   errors from a client, events without a name or on a namespace not joined. Where the
   packet carries an ack id on a registered namespace, it gets a typed error ack.

Packets are server/realtime/overrides/packet_codec.py's, given as python-socketio's
`serializer`: encoded once, with orjson, and decoded to what python-engineio's json would.
What replaces python-socketio's internals lives in server/realtime/overrides/, one module
per upstream function; this class composes them and implements their hooks. Its Engine.IO
server is server/realtime/engine.py's, whose outbound-queue guard the emitter reaches through
`check_outbound` and `expect_outbound`.
"""

from __future__ import annotations

from typing import Any, Protocol

from engineio import packet as eio_packet
from socketio import packet

from schemas.ack import AckError, ErrorBody, ErrorCode
from schemas.auth import ConnectRefusal, RefusalCode
from server.auth.connect import log_refusal
from server.auth.errors import AuthFailure
from server.realtime.engine import GuardedEngine
from server.realtime.overrides.eio_message import EioMessage
from server.realtime.overrides.engineio_server_class import EngineClass
from server.realtime.overrides.handle_connect import HandleConnect
from server.realtime.overrides.handle_event import HandleEvent, ack_requested
from server.realtime.overrides.packet_codec import (
    BinaryPacketRefused,
    ServerPacket,
    UndecodablePacket,
)
from server.realtime.overrides.send_packet import SendPacket

__all__ = ["AfterConnect", "NetraServer", "ack_requested"]


class AfterConnect(Protocol):
    async def after_connect(self, sid: str) -> None: ...


class PacketSink(Protocol):
    """Where every packet leaves: the Emitter (server/realtime/emitter.py)."""

    async def packet(self, eio_sid: str, pkt: eio_packet.Packet) -> None: ...


class NetraServer(EioMessage, HandleEvent, HandleConnect, SendPacket, EngineClass):
    eio: GuardedEngine
    engine_class = GuardedEngine

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, serializer=ServerPacket, **kwargs)
        # Set once the Emitter exists (server/app.py); until then packets go straight out.
        self.sink: PacketSink | None = None

    async def send_outbound(self, eio_sid: str, pkt: eio_packet.Packet) -> None:
        if self.sink is not None:
            await self.sink.packet(eio_sid, pkt)
        else:
            await self.eio.send_packet(eio_sid, pkt)

    async def answer_undecodable(self, eio_sid: str, bad: UndecodablePacket) -> bool:
        """A refusal or an error ack where the packet asked for one; False if none."""
        namespace = bad.namespace
        if namespace not in self.namespace_handlers:
            return False
        if bad.packet_type == packet.CONNECT:
            failure = AuthFailure(
                "token_invalid", "auth object is malformed", f"undecodable connect packet: {bad}"
            )
            environ = self.environ.get(eio_sid, {})
            log_refusal(namespace, failure, environ, self.eio.bad_frames.sampler)
            await self.refuse_connect(eio_sid, namespace, failure.code, failure.message)
            return True
        if bad.packet_type not in (packet.EVENT, packet.BINARY_EVENT):
            return False
        if isinstance(bad, BinaryPacketRefused):
            message = "Binary attachments are not supported; send JSON"
        else:
            message = f"Payload is not valid JSON ({bad})"
        return await self.ack_error(eio_sid, namespace, bad.id, ErrorCode.INVALID_PAYLOAD, message)

    async def ack_error(
        self, eio_sid: str, namespace: str, id: Any, code: ErrorCode, message: str
    ) -> bool:
        """A typed error ack, if asked for, on a namespace this connection has joined."""
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if id is None or sid is None or not self.manager.is_connected(sid, namespace):
            return False
        await self.send_error_ack(eio_sid, namespace, id, code, message)
        return True

    async def send_error_ack(
        self, eio_sid: str, namespace: str, id: int, code: ErrorCode, message: str
    ) -> None:
        ack = AckError(error=ErrorBody(code=code, message=message)).model_dump(
            mode="json", exclude_none=True
        )
        await self.send_ack(eio_sid, namespace, id, [ack])

    async def send_ack(self, eio_sid: str, namespace: str, id: int, data: list[Any]) -> None:
        await self._send_packet(
            eio_sid, ServerPacket(packet.ACK, namespace=namespace, id=id, data=data)
        )

    async def refuse_connect(
        self, eio_sid: str, namespace: str, code: RefusalCode, message: str
    ) -> None:
        refusal = ConnectRefusal(code=code, message=message)
        reply = {"message": message, "data": refusal.model_dump()}
        await self._send_packet(
            eio_sid, ServerPacket(packet.CONNECT_ERROR, data=reply, namespace=namespace)
        )

    def check_outbound(self, sid: str, namespace: str) -> None:
        """Cut the connection under `sid` if it has stopped reading (server/realtime/engine.py)."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        if eio_sid is not None:
            self.eio.check_backlog(eio_sid)

    def expect_outbound(self, sid: str, namespace: str, packets: int) -> None:
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        if eio_sid is not None:
            self.eio.expect_burst(eio_sid, packets)
