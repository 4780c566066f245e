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
6. What the protocol does not have is refused on arrival, counted as a bad frame
   (server/realtime/bad_frames.py) and never logged with a traceback: a connect to a namespace not
   registered (there is no default namespace `/`), binary events and acks (the protocol
   is JSON only: their attachments are never buffered), binary frames, acks and connect
   errors from a client, events without a name or on a namespace not joined. Where the
   packet carries an ack id on a registered namespace, it gets a typed error ack.
5. Events a namespace lists in `inline_events` (handlers that never wait) run on the
   connection's reader, without the task python-socketio starts for every event.

Packets are server/realtime/packets.py's: encoded once, with orjson, and decoded to what
python-engineio's json would.

Its Engine.IO server is server/realtime/engine.py's, whose outbound-queue guard the emitter reaches
through `check_outbound` and `expect_outbound`.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any, Protocol

import socketio
from socketio import packet

from schemas.ack import AckError, ErrorBody, ErrorCode
from schemas.auth import ConnectRefusal, RefusalCode
from server.auth.connect import log_refusal
from server.auth.errors import AuthFailure
from server.realtime.bad_frames import BadFrameKind
from server.realtime.engine import GuardedEngine
from server.realtime.packets import BinaryPacketRefused, ServerPacket, UndecodablePacket

ack_requested: ContextVar[bool] = ContextVar("ack_requested", default=False)


class AfterConnect(Protocol):
    async def after_connect(self, sid: str) -> None: ...


class NetraServer(socketio.AsyncServer):  # type: ignore[misc]
    eio: GuardedEngine

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.packet_class = ServerPacket
        self._event_tasks: set[asyncio.Task[None]] = set()

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        """python-socketio's dispatch of one Socket.IO packet, refusing what the protocol
        does not have: binary packets and their attachments (never buffered), acks and
        connect errors from a client, unknown packet types."""
        if not isinstance(data, str):
            # Only ever an attachment, and no binary packet is ever waited on.
            self.eio.bad_frame(eio_sid, "attachment", f"{len(data)} bytes")
            return
        try:
            pkt = self.packet_class(encoded_packet=data)
        except UndecodablePacket as bad:
            kind: BadFrameKind = "binary" if isinstance(bad, BinaryPacketRefused) else "undecodable"
            answered = await self._answer_undecodable(eio_sid, bad)
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

    async def _answer_undecodable(self, eio_sid: str, bad: UndecodablePacket) -> bool:
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
            await self._refuse_connect(eio_sid, namespace, failure.code, failure.message)
            return True
        if bad.packet_type not in (packet.EVENT, packet.BINARY_EVENT):
            return False
        if isinstance(bad, BinaryPacketRefused):
            message = "Binary attachments are not supported; send JSON"
        else:
            message = f"Payload is not valid JSON ({bad})"
        return await self._ack_error(eio_sid, namespace, bad.id, ErrorCode.INVALID_PAYLOAD, message)

    async def _ack_error(
        self, eio_sid: str, namespace: str, id: Any, code: ErrorCode, message: str
    ) -> bool:
        """A typed error ack, if asked for, on a namespace this connection has joined."""
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if id is None or sid is None or not self.manager.is_connected(sid, namespace):
            return False
        await self._send_ack(eio_sid, namespace, id, code, message)
        return True

    async def _send_ack(
        self, eio_sid: str, namespace: str, id: int, code: ErrorCode, message: str
    ) -> None:
        ack = AckError(error=ErrorBody(code=code, message=message)).model_dump(
            mode="json", exclude_none=True
        )
        await self._send_packet(
            eio_sid, self.packet_class(packet.ACK, namespace=namespace, id=id, data=[ack])
        )

    async def _refuse_connect(
        self, eio_sid: str, namespace: str, code: RefusalCode, message: str
    ) -> None:
        refusal = ConnectRefusal(code=code, message=message)
        reply = {"message": message, "data": refusal.model_dump()}
        await self._send_packet(
            eio_sid, self.packet_class(packet.CONNECT_ERROR, data=reply, namespace=namespace)
        )

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            answered = id is not None and namespace in self.namespace_handlers
            if answered:
                message = f"Not connected to {namespace}: connect with a token first"
                await self._send_ack(eio_sid, namespace, id, ErrorCode.UNAUTHORIZED, message)
            detail = f"event on {namespace[:100]}"
            self.eio.bad_frame(eio_sid, "not_connected", detail, answered=answered)
            return
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            answered = await self._ack_error(
                eio_sid,
                namespace,
                id,
                ErrorCode.INVALID_PAYLOAD,
                "An event is a list whose first item is the event's name",
            )
            detail = f"event data {str(data)[:60]}"
            self.eio.bad_frame(eio_sid, "no_event_name", detail, answered=answered)
            return
        handler = self.namespace_handlers.get(namespace)
        if data[0] in getattr(handler, "inline_events", ()) or not self.async_handlers:
            # A handler that never waits needs no task (the library's default: one per
            # event); the connection's next frame is read once it has answered.
            await self._handle_event_internal(self, sid, eio_sid, data, namespace, id)
            return
        task = self.start_background_task(
            self._handle_event_internal, self, sid, eio_sid, data, namespace, id
        )
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)

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
        namespace = namespace or "/"
        if namespace not in self.namespace_handlers and namespace not in self.handlers:
            # No default namespace: `/` (or any other) is refused, logged, and counted.
            await self._refuse_connect(eio_sid, namespace, "not_found", "Invalid namespace")
            detail = f"connect to {namespace[:100]}"
            self.eio.bad_frame(eio_sid, "unknown_namespace", detail, answered=True)
            return
        await super()._handle_connect(eio_sid, namespace, data)
        handler = self.namespace_handlers.get(namespace)
        if handler is None or not hasattr(handler, "after_connect"):
            return
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is not None and self.manager.is_connected(sid, namespace):
            await handler.after_connect(sid)

    def _engineio_server_class(self) -> type[GuardedEngine]:
        return GuardedEngine

    def check_outbound(self, sid: str, namespace: str) -> None:
        """Cut the connection under `sid` if it has stopped reading (server/realtime/engine.py)."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        if eio_sid is not None:
            self.eio.check_backlog(eio_sid)

    def expect_outbound(self, sid: str, namespace: str, packets: int) -> None:
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        if eio_sid is not None:
            self.eio.expect_burst(eio_sid, packets)
