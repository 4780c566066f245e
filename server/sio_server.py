"""python-socketio's AsyncServer with the hooks the namespaces rely on.

1. Whether the client asked for an ack is known only inside the server; handlers need it to
   report a failed ack-less event as `<namespace>:error` instead.
2. Work that must follow the CONNECT packet (hello, replay, `chat:ready`) runs right after it,
   in the same task, so nothing can reach the client before its connect succeeds.
3. A client event named `connect` or `disconnect` goes to the namespace as a client event,
   never to its connect or disconnect handling.
4. A packet whose JSON cannot be decoded (a number over 100 digits, nesting too deep, bad
   syntax) is answered like any bad input, an `invalid_payload` ack or a `token_invalid`
   connect refusal, instead of being dropped with a traceback in the log.
5. Events a namespace lists in `inline_events` (handlers that never wait) run on the
   connection's reader, without the task python-socketio starts for every event.

Packets are server/packets.py's: encoded once, with orjson, and decoded to what
python-engineio's json would.

Its Engine.IO server is server/engine.py's, whose outbound-queue guard the emitter reaches
through `check_outbound` and `expect_outbound`.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Protocol

import socketio
from loguru import logger
from socketio import packet

from schemas.ack import AckError, ErrorBody, ErrorCode
from schemas.auth import ConnectRefusal
from server.auth.connect import log_refusal
from server.auth.errors import AuthFailure
from server.engine import GuardedEngine
from server.packets import ServerPacket, UndecodablePacket

ack_requested: ContextVar[bool] = ContextVar("ack_requested", default=False)


class AfterConnect(Protocol):
    async def after_connect(self, sid: str) -> None: ...


class NetraServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.packet_class = ServerPacket

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except UndecodablePacket as bad:
            await self._answer_undecodable(eio_sid, bad)

    async def _answer_undecodable(self, eio_sid: str, bad: UndecodablePacket) -> None:
        namespace = bad.namespace
        if namespace not in self.namespace_handlers:
            return
        if bad.packet_type == packet.CONNECT:
            failure = AuthFailure(
                "token_invalid", "auth object is malformed", f"undecodable connect packet: {bad}"
            )
            log_refusal(namespace, failure, self.environ.get(eio_sid, {}))
            refusal = ConnectRefusal(code=failure.code, message=failure.message)
            reply = {"message": failure.message, "data": refusal.model_dump()}
            await self._send_packet(
                eio_sid, self.packet_class(packet.CONNECT_ERROR, data=reply, namespace=namespace)
            )
            return
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        logger.bind(sid=sid, namespace=namespace).debug(
            "undecodable packet namespace={} sid={} reason={}", namespace, sid, bad
        )
        wants_ack = bad.packet_type in (packet.EVENT, packet.BINARY_EVENT) and bad.id is not None
        if not wants_ack or sid is None or not self.manager.is_connected(sid, namespace):
            return
        body = ErrorBody(
            code=ErrorCode.INVALID_PAYLOAD, message=f"Payload is not valid JSON ({bad})"
        )
        ack = AckError(error=body).model_dump(mode="json", exclude_none=True)
        await self._send_packet(
            eio_sid, self.packet_class(packet.ACK, namespace=namespace, id=bad.id, data=[ack])
        )

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        namespace = namespace or "/"
        handler = self.namespace_handlers.get(namespace)
        if not (data and data[0] in getattr(handler, "inline_events", ())):
            await super()._handle_event(eio_sid, namespace, id, data)
            return
        # A handler that never waits needs no task (the library's default: one per event);
        # the connection's next frame is read once it has answered.
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if self.manager.is_connected(sid, namespace):
            await self._handle_event_internal(self, sid, eio_sid, data, namespace, id)

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: Any
    ) -> None:
        ack_requested.set(id is not None)
        handler = self.namespace_handlers.get(namespace)
        if data and data[0] in self.reserved_events and hasattr(handler, "client_event"):
            # python-socketio hands a client event named "connect" or "disconnect" to the
            # handler of the real one; from a client it is just an (unknown) event.
            ack = await handler.client_event(sid, data[0], tuple(data[1:]))
            if id is not None:
                await server._send_packet(
                    eio_sid, self.packet_class(packet.ACK, namespace=namespace, id=id, data=[ack])
                )
            return
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        await super()._handle_connect(eio_sid, namespace, data)
        namespace = namespace or "/"
        handler = self.namespace_handlers.get(namespace)
        if handler is None or not hasattr(handler, "after_connect"):
            return
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is not None and self.manager.is_connected(sid, namespace):
            await handler.after_connect(sid)

    def _engineio_server_class(self) -> type[GuardedEngine]:
        return GuardedEngine

    def check_outbound(self, sid: str, namespace: str) -> None:
        """Cut the connection under `sid` if it has stopped reading (server/engine.py)."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        if eio_sid is not None:
            self.eio.check_backlog(eio_sid)

    def expect_outbound(self, sid: str, namespace: str, packets: int) -> None:
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        if eio_sid is not None:
            self.eio.expect_burst(eio_sid, packets)
