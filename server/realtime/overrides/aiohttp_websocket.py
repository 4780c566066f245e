"""Replaces python-engineio's aiohttp websocket driver, `engineio.async_drivers.aiohttp.WebSocket`
(`__call__`, `send`, `wait`), in the server's `_async` driver table, on this server only (the
table is module-wide upstream).

- `__call__`: permessage-deflate is declined unless asked for (it costs about 95 KB per
  connection and CPU on every frame, docs/performance.md); the connection's transport is
  handed to the engine (`websocket_opened`), which aborts it when its writer is stuck; the
  socket is served by websocket_loop.py instead of `AsyncSocket._websocket_handler`.
- `send` becomes `write_frame`, without its per-frame coroutine-function check,
  `write_frames`, several at once, and `write_now`, one without waiting (websocket_batch.py).
- `wait`: a frame over `max_http_buffer_size`, which aiohttp closes with 1009 and upstream
  sees only as a transport error, is named (`frame_too_large`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import engineio
from aiohttp import WebSocketError, WSCloseCode, WSMsgType
from aiohttp.web import WebSocketResponse
from engineio.async_drivers.aiohttp import WebSocket

from server.realtime.overrides.upstream import Upstream
from server.realtime.overrides.websocket_batch import send_texts, write_text_now
from server.realtime.overrides.websocket_loop import run_websocket

UPSTREAM = (
    Upstream(
        "engineio.async_drivers.aiohttp",
        "WebSocket",
        sha256="96fbcb0d1f45694a9c34aaf9f487241ca55e9087e96782f044940397921ef4dc",
    ),
    Upstream(
        "engineio.async_drivers.aiohttp",
        "_async",
        sha256="1571b7b72ab7fd521d757a0eff632946e2bcdd62a9a5e922507dd64affa8a088",
        part="keys",
    ),
    # Builds the driver with (socket._websocket_handler, server) and awaits it with the environ.
    Upstream(
        "engineio.async_socket",
        "AsyncSocket._upgrade_websocket",
        sha256="820b83efe96adb98ee63eef1096dd403c6690bf80aa00c49f3985afd30a4bf95",
    ),
)


class AiohttpWebSocketDriver(engineio.AsyncServer):  # type: ignore[misc]
    websocket_compression: bool
    _async: dict[str, Any]  # python-engineio's driver table for the async mode

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._async = {**self._async, "websocket": GuardedWebSocket}

    def websocket_opened(
        self, eio_sid: str, transport: asyncio.Transport, environ: dict[str, Any]
    ) -> None:
        """A websocket is about to be served on `transport`."""

    def websocket_closed(self, eio_sid: str) -> None:
        """The websocket of `eio_sid` has ended."""

    def writer_idle(self, eio_sid: str, ws: GuardedWebSocket) -> None:
        """The websocket writer of `eio_sid` waits on an empty queue."""

    def writer_busy(self, eio_sid: str) -> None:
        """It has stopped waiting."""

    async def frame_too_large(self, socket: Any, environ: dict[str, Any]) -> None:
        """The client sent a frame over `max_http_buffer_size`; aiohttp closes with 1009."""


class GuardedWebSocket(WebSocket):  # type: ignore[misc]
    server: AiohttpWebSocketDriver

    async def __call__(self, environ: dict[str, Any]) -> Any:
        socket = self.handler.__self__  # the AsyncSocket whose handler this would run
        request = environ["aiohttp.request"]
        if request.transport is not None:
            self.server.websocket_opened(socket.sid, request.transport, environ)
        try:
            self._sock = WebSocketResponse(
                max_msg_size=self.server.max_http_buffer_size,
                compress=self.server.websocket_compression,
            )
            await self._sock.prepare(request)
            self.environ = environ
            await run_websocket(socket, self)
            return self._sock
        finally:
            self.server.websocket_closed(socket.sid)

    async def write_frame(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            await self._sock.send_bytes(message)
        else:
            await self._sock.send_str(message)

    def write_now(self, message: str | bytes) -> bool:
        """One frame written without waiting, or False with nothing written."""
        return isinstance(message, str) and write_text_now(self._sock, message)

    async def write_frames(self, messages: list[str | bytes]) -> None:
        texts = [message for message in messages if isinstance(message, str)]
        if len(texts) == len(messages):
            await send_texts(self._sock, texts)
        else:
            for message in messages:
                await self.write_frame(message)

    async def wait(self) -> Any:
        msg = await self._sock.receive()
        if (
            msg.type is WSMsgType.ERROR
            and isinstance(msg.data, WebSocketError)
            and msg.data.code == WSCloseCode.MESSAGE_TOO_BIG
        ):
            await self.server.frame_too_large(self.handler.__self__, self.environ)
        if not isinstance(msg.data, bytes | str):
            raise OSError()
        return msg.data
