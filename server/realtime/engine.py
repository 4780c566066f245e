"""Engine.IO with the guards below the namespaces, where one connection carries them all.

1. A websocket frame larger than `max_http_buffer_size`: aiohttp closes with 1009 and
   python-engineio would only see a transport error; here it is named, logged once and
   passed on as the disconnect reason (`frame too large`).
2. A client that stops reading: its outbound queue (unbounded in python-engineio) is checked
   by the emitter after each emit; past `max_outbound_queue` packets the connection is cut
   (`slow consumer`) instead of growing memory.
3. Frames that are not Engine.IO packets, or packets a client never sends, are dropped and
   counted (bad_frames.py) instead of logged with a traceback each; past the limit the
   connection is closed (`too many bad frames`).
4. Long-polling POSTs are served by overrides/polling_post.py: a body over the limit is
   answered 413 at once, one that does not arrive in time 408, and the session is closed
   without waiting on a queue nobody drains.

Each websocket is served by overrides/websocket_loop.py, python-engineio's loop without its
Tasks per packet.
"""

from __future__ import annotations

import asyncio
from typing import Any

import engineio
from aiohttp import WebSocketError, WSCloseCode, WSMsgType, web
from aiohttp.web import WebSocketResponse
from engineio import exceptions, packet
from engineio.async_drivers.aiohttp import WebSocket as AiohttpWebSocket
from loguru import logger

from server.auth.connect import client_address
from server.realtime.bad_frames import TOO_MANY_BAD_FRAMES, BadFrameKind, BadFrames
from server.realtime.overrides.polling_post import serve_polling_post
from server.realtime.overrides.websocket_loop import run_websocket

FRAME_TOO_LARGE = "frame too large"
SLOW_CONSUMER = "slow consumer"


class GuardedEngine(engineio.AsyncServer):  # type: ignore[misc]
    _async: dict[str, Any]  # python-engineio's driver table for the async mode

    def __init__(
        self,
        *args: Any,
        max_outbound_queue: int = 0,
        websocket_compression: bool = False,
        bad_frames: BadFrames | None = None,
        polling_body_timeout_s: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_outbound_queue = max_outbound_queue
        self.websocket_compression = websocket_compression
        self.bad_frames = BadFrames(limit=20) if bad_frames is None else bad_frames
        self.polling_body_timeout_s = polling_body_timeout_s
        # Long-polling POSTs being served now: a test (and /metrics) can see none is stuck.
        self.posts_in_flight = 0
        # The driver table is module-wide in python-engineio: replace it on this server only.
        self._async = {**self._async, "websocket": _GuardedWebSocket}
        self._websockets: dict[str, tuple[asyncio.Transport, dict[str, Any]]] = {}
        self._environs: dict[str, dict[str, Any]] = {}  # for the log lines of closes
        self._allowance: dict[str, int] = {}
        self._cutting: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def backlog(self, eio_sid: str) -> int:
        socket = self.sockets.get(eio_sid)
        return 0 if socket is None else int(socket.queue.qsize())

    def expect_burst(self, eio_sid: str, packets: int) -> None:
        """`packets` are being queued at once on purpose (a resume's replay): they do not
        count against the bound until the queue has drained below it once."""
        self._allowance[eio_sid] = self._allowance.get(eio_sid, 0) + packets

    def check_backlog(self, eio_sid: str) -> None:
        if not self.max_outbound_queue or eio_sid in self._cutting:
            return
        waiting = self.backlog(eio_sid)
        if waiting <= self.max_outbound_queue:
            self._allowance.pop(eio_sid, None)
        elif waiting > self.max_outbound_queue + self._allowance.get(eio_sid, 0):
            self._close_soon(eio_sid, SLOW_CONSUMER, f"waiting={waiting}")

    def bad_frame(
        self, eio_sid: str, kind: BadFrameKind, detail: str, *, answered: bool = False
    ) -> None:
        """Count a frame the protocol does not have; close the connection past the limit."""
        over = self.bad_frames.note(eio_sid, kind, detail, self._environ(eio_sid), answered)
        if over and eio_sid not in self._cutting:
            self._close_soon(eio_sid, TOO_MANY_BAD_FRAMES, f"limit={self.bad_frames.limit}")

    async def receive_frame(self, socket: Any, frame: str | bytes) -> bool:
        """One Engine.IO frame from the client; False once the socket is closed."""
        try:
            pkt = packet.Packet(encoded_packet=frame)
        except Exception as exc:  # any garbage: python-engineio decodes without checks
            self.bad_frame(socket.sid, "engineio_garbage", f"{type(exc).__name__}: {exc}")
            return True
        return await self.receive_packet(socket, pkt)

    async def receive_packet(self, socket: Any, pkt: packet.Packet) -> bool:
        """One Engine.IO packet from the client; False once the socket is closed."""
        if pkt.packet_type == packet.UPGRADE:
            # Only ever part of the upgrade handshake (overrides/websocket_loop.py reads it).
            self.bad_frame(socket.sid, "engineio_unexpected", "upgrade outside a handshake")
            return True
        try:
            await socket.receive(pkt)
        except exceptions.UnknownPacketError:
            self.bad_frame(socket.sid, "engineio_unexpected", f"packet type {pkt.packet_type}")
        except exceptions.SocketIsClosedError:
            return False
        return True

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        request: web.Request = args[0]
        if request.method != "POST":
            return await super().handle_request(*args, **kwargs)
        self.posts_in_flight += 1
        try:
            return await serve_polling_post(self, request)
        finally:
            self.posts_in_flight -= 1

    async def upstream_request(self, request: web.Request) -> Any:
        """python-engineio's own handling, for requests the guards leave to it."""
        return await super().handle_request(request)

    async def respond(self, request: web.Request, response: dict[str, Any]) -> Any:
        """An HTTP response as python-engineio builds it, CORS headers included."""
        environ = self._async["translate_request"](request)
        return await self._make_response(response, environ)

    def close_now(self, eio_sid: str, reason: str, detail: str) -> None:
        """Close a connection over a limit: logged once, its pending reads answered."""
        if eio_sid not in self._cutting:
            self._close_soon(eio_sid, reason, detail)

    def _close_soon(self, eio_sid: str, reason: str, detail: str) -> None:
        self._cutting.add(eio_sid)
        task = asyncio.create_task(self._cut(eio_sid, reason, detail))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cut(self, eio_sid: str, reason: str, detail: str) -> None:
        transport, environ = self._websockets.get(eio_sid, (None, self._environ(eio_sid)))
        self._log_close(eio_sid, reason, environ, detail)
        socket = self.sockets.get(eio_sid)
        if socket is not None:
            await socket.close(wait=False, abort=True, reason=reason)
            # Ends the websocket's writer (which then closes the websocket) or a pending poll.
            socket.queue.put_nowait(None)
        if transport is None:
            self.sockets.pop(eio_sid, None)  # polling: nothing else would remove it
        elif reason == SLOW_CONSUMER:
            # The writer is blocked on a full socket buffer: only an abort frees it.
            transport.abort()

    def _log_close(self, eio_sid: str, reason: str, environ: dict[str, Any], detail: str) -> None:
        held = self.bad_frames.sampler.admit(f"closed {reason}")
        if held is None:
            return  # a flood of such closes: the next line written counts them
        client = client_address(environ) if environ else "unknown"
        logger.bind(
            event="connection_closed", eio_sid=eio_sid, client=client, reason=reason
        ).warning(
            "connection closed reason={!r} eio_sid={} client={} origin={} {} suppressed={}",
            reason,
            eio_sid,
            client,
            (environ.get("HTTP_ORIGIN") or "-")[:200],
            detail,
            held,
        )

    def _log_error_once(self, message: str, message_key: str) -> None:
        """python-engineio's report of a bad request (an unknown session, a bad transport):
        ERROR once, then INFO. It is a client's mistake, which anyone can make at will:
        a sampled WARNING line instead."""
        held = self.bad_frames.sampler.admit(f"bad_request {message_key}")
        if held is not None:
            logger.bind(event="bad_request", kind=message_key).warning(
                "bad request kind={} detail={!r} suppressed={}", message_key, message[:200], held
            )

    def _environ(self, eio_sid: str) -> dict[str, Any]:
        return self._environs.get(eio_sid, {})

    async def _frame_too_large(self, socket: Any, environ: dict[str, Any]) -> None:
        limit = f"limit_bytes={self.max_http_buffer_size}"
        self._log_close(socket.sid, FRAME_TOO_LARGE, environ, limit)
        await socket.close(wait=False, abort=True, reason=FRAME_TOO_LARGE)

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message" and not kwargs.get("run_async"):
            # Every packet comes here: call python-socketio's (coroutine) handler as
            # python-engineio would, without the closure and check it builds per call.
            handler = self.handlers.get("message")
            if handler is not None:
                try:
                    return await handler(*args)
                except asyncio.CancelledError:
                    return None
                except Exception:
                    self.logger.exception("message async handler error")
                    return None
        if event == "connect":
            self._environs[args[0]] = args[1]
        elif event == "disconnect":
            self._environs.pop(args[0], None)
            self._allowance.pop(args[0], None)
            self._cutting.discard(args[0])
            self.bad_frames.forget(args[0])
            socket = self.sockets.get(args[0])
            if socket is not None and not socket.upgraded:
                # A long-polling client that closes still has a poll pending: answer it now,
                # or it hangs until the next ping (python-socketio's client waits for it).
                socket.queue.put_nowait(None)
        return await super()._trigger_event(event, *args, **kwargs)


class _GuardedWebSocket(AiohttpWebSocket):  # type: ignore[misc]
    """python-engineio's aiohttp websocket, which also names an oversize frame and lets the
    server abort a connection whose writer is stuck."""

    server: GuardedEngine

    async def __call__(self, environ: dict[str, Any]) -> Any:
        eio_sid: str = self.handler.__self__.sid
        request = environ["aiohttp.request"]
        if request.transport is not None:
            self.server._websockets[eio_sid] = (request.transport, environ)
        try:
            # As python-engineio's, but permessage-deflate is declined unless asked for: it
            # costs about 95 KB per connection and CPU on every frame (docs/performance.md).
            self._sock = WebSocketResponse(
                max_msg_size=self.server.max_http_buffer_size,
                compress=self.server.websocket_compression,
            )
            await self._sock.prepare(request)
            self.environ = environ
            await run_websocket(self.handler.__self__, self)
            return self._sock
        finally:
            self.server._websockets.pop(eio_sid, None)

    async def write_frame(self, message: str | bytes) -> None:
        """python-engineio's `send`, without its per-frame coroutine-function check."""
        if isinstance(message, bytes):
            await self._sock.send_bytes(message)
        else:
            await self._sock.send_str(message)

    async def wait(self) -> Any:
        msg = await self._sock.receive()
        if (
            msg.type is WSMsgType.ERROR
            and isinstance(msg.data, WebSocketError)
            and msg.data.code == WSCloseCode.MESSAGE_TOO_BIG
        ):
            await self.server._frame_too_large(self.handler.__self__, self.environ)
        if not isinstance(msg.data, bytes | str):
            raise OSError()
        return msg.data
