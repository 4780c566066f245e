"""Engine.IO with two guards below the namespaces, where one connection carries them all.

1. A websocket frame larger than `max_http_buffer_size`: aiohttp closes with 1009 and
   python-engineio would only see a transport error; here it is named, logged once and
   passed on as the disconnect reason (`frame too large`).
2. A client that stops reading: its outbound queue (unbounded in python-engineio) is checked
   by the emitter after each emit; past `max_outbound_queue` packets the connection is cut
   (`slow consumer`) instead of growing memory.

Each websocket is served by server/ws_loop.py, python-engineio's loop without its Tasks per
packet.
"""

from __future__ import annotations

import asyncio
from typing import Any

import engineio
from aiohttp import WebSocketError, WSCloseCode, WSMsgType
from aiohttp.web import WebSocketResponse
from engineio.async_drivers.aiohttp import WebSocket as AiohttpWebSocket
from loguru import logger

from server.auth.connect import client_address
from server.ws_loop import run_websocket

FRAME_TOO_LARGE = "frame too large"
SLOW_CONSUMER = "slow consumer"


class GuardedEngine(engineio.AsyncServer):  # type: ignore[misc]
    _async: dict[str, Any]  # python-engineio's driver table for the async mode

    def __init__(
        self,
        *args: Any,
        max_outbound_queue: int = 0,
        websocket_compression: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_outbound_queue = max_outbound_queue
        self.websocket_compression = websocket_compression
        # The driver table is module-wide in python-engineio: replace it on this server only.
        self._async = {**self._async, "websocket": _GuardedWebSocket}
        self._websockets: dict[str, tuple[asyncio.Transport, dict[str, Any]]] = {}
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
            self._cutting.add(eio_sid)
            task = asyncio.create_task(self._cut(eio_sid, waiting))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _cut(self, eio_sid: str, waiting: int) -> None:
        transport, environ = self._websockets.get(eio_sid, (None, {}))
        _log_close(eio_sid, SLOW_CONSUMER, environ, f"waiting={waiting}")
        socket = self.sockets.get(eio_sid)
        if socket is not None:
            await socket.close(wait=False, abort=True, reason=SLOW_CONSUMER)
        if transport is not None:
            # The writer is blocked on a full socket buffer: only an abort frees it.
            transport.abort()
        else:
            self.sockets.pop(eio_sid, None)  # polling: nothing else would remove it

    async def _frame_too_large(self, socket: Any, environ: dict[str, Any]) -> None:
        _log_close(socket.sid, FRAME_TOO_LARGE, environ, f"limit_bytes={self.max_http_buffer_size}")
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
        if event == "disconnect":
            self._allowance.pop(args[0], None)
            self._cutting.discard(args[0])
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


def _log_close(eio_sid: str, reason: str, environ: dict[str, Any], detail: str) -> None:
    client = client_address(environ) if environ else "unknown"
    logger.bind(event="connection_closed", eio_sid=eio_sid, client=client, reason=reason).warning(
        "connection closed reason={!r} eio_sid={} client={} origin={} {}",
        reason,
        eio_sid,
        client,
        (environ.get("HTTP_ORIGIN") or "-")[:200],
        detail,
    )
