"""Frames written as a batch are the frames aiohttp writes one by one, reach a real client as
separate messages in order, and still wait for a client that stops reading."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp._websocket.writer import WebSocketWriter

from server.realtime.overrides.websocket_batch import batch_writer, frame_header, send_texts

Handler = Callable[[web.WebSocketResponse], Awaitable[None]]


class _Recording:
    """What a transport is given, for aiohttp's own writer."""

    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return False


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65535, 65536, 70000])
async def test_a_batched_frame_is_byte_for_byte_aiohttps(length: int) -> None:
    transport = _Recording()
    writer = WebSocketWriter(None, transport, use_mask=False)  # type: ignore[arg-type]
    message = "x" * length
    await writer.send_frame(message.encode(), WSMsgType.TEXT)
    assert frame_header(length) + message.encode() == transport.written


@asynccontextmanager
async def _serving(handler: Handler, *, compress: bool = False) -> AsyncIterator[str]:
    async def endpoint(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=compress, timeout=0.5)  # a close waits no longer
        await ws.prepare(request)
        await handler(ws)
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/ws", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/ws"
    finally:
        await runner.cleanup()


async def _received(url: str, *, compress: bool) -> list[str]:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, compress=15 if compress else 0) as ws,
    ):
        return [msg.data async for msg in ws if msg.type is WSMsgType.TEXT]


@pytest.mark.parametrize("compress", [False, True])
async def test_a_client_gets_each_message_of_a_batch_in_order(compress: bool) -> None:
    messages = [f"4{n}" * (n % 50) + "é" for n in range(600)] + ["4" * 70000]
    taken: list[bool] = []

    async def handler(ws: web.WebSocketResponse) -> None:
        taken.append(batch_writer(ws) is not None)
        await send_texts(ws, messages[:300])
        await send_texts(ws, messages[300:])

    async with _serving(handler, compress=compress) as url:
        assert await _received(url, compress=compress) == messages
    # The installed aiohttp takes the batch path whenever frames are not compressed.
    assert taken == [not compress]


async def test_a_client_that_stops_reading_holds_the_writer_back() -> None:
    batches_written = 0
    buffered: list[int] = []
    blocked = asyncio.Event()

    async def handler(ws: web.WebSocketResponse) -> None:
        nonlocal batches_written
        batch = ["4" + "y" * 1000] * 256
        transport: Any = ws._writer.transport  # type: ignore[union-attr]
        for _ in range(400):  # 100 MB if nothing held it back
            sending = asyncio.ensure_future(send_texts(ws, batch))
            done, _ = await asyncio.wait([sending], timeout=0.5)
            if not done:
                blocked.set()
                buffered.append(transport.get_write_buffer_size())
                sending.cancel()
                return
            batches_written += 1

    async def handshake_then_never_read(url: str) -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(url)
            transport: Any = ws._response.connection.transport  # type: ignore[union-attr]
            transport.pause_reading()  # the connection stays open; nothing reads its frames
            await asyncio.wait_for(blocked.wait(), 30)
            transport.abort()

    async with _serving(handler) as url:
        await handshake_then_never_read(url)
    assert blocked.is_set()
    assert 0 < batches_written < 400
    assert buffered
    assert buffered[0] < 16 * 1024 * 1024
