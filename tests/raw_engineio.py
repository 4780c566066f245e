"""Engine.IO v4 spoken by hand over an aiohttp websocket or long-polling: what no Socket.IO
client would send, but anything on the network can."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson


class RawSocket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, eio_sid: str) -> None:
        self.ws = ws
        self.eio_sid = eio_sid

    async def send(self, packet: str) -> None:
        """A Socket.IO packet, in an Engine.IO MESSAGE."""
        await self.ws.send_str(f"4{packet}")

    async def send_frame(self, frame: str | bytes) -> None:
        """A websocket frame as it is, text or binary."""
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_str(frame)

    async def receive(self, prefix: str, within_s: float = 5.0) -> Any:
        """The JSON of the next Socket.IO packet starting with `prefix`, answering pings."""
        while True:
            frame = await self.ws.receive_str(timeout=within_s)
            if frame == "2":
                await self.ws.send_str("3")
                continue
            if frame.startswith(f"4{prefix}"):
                return orjson.loads(frame[1 + len(prefix) :])

    async def closed_within(self, within_s: float) -> bool:
        """True once the server closes the websocket (frames before that are skipped)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while loop.time() < deadline:
            try:
                msg = await self.ws.receive(timeout=deadline - loop.time())
            except TimeoutError:
                return False
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return True
            if msg.type is aiohttp.WSMsgType.ERROR:
                return True
        return False


def socket_url(server_url: str, transport: str = "websocket") -> str:
    base = server_url.replace("http", "ws") if transport == "websocket" else server_url
    return f"{base}/socket.io/?EIO=4&transport={transport}"


@asynccontextmanager
async def raw_socket(
    server_url: str, http: aiohttp.ClientSession | None = None
) -> AsyncIterator[RawSocket]:
    """A websocket that has received the Engine.IO OPEN packet, nothing more."""
    own = http is None
    session = http or aiohttp.ClientSession()
    try:
        async with session.ws_connect(socket_url(server_url)) as ws:
            opening = await ws.receive_str(timeout=5)
            assert opening.startswith("0"), opening  # Engine.IO OPEN
            yield RawSocket(ws, orjson.loads(opening[1:])["sid"])
    finally:
        if own:
            await session.close()


async def polling_handshake(http: aiohttp.ClientSession, server_url: str) -> str:
    """A long-polling Engine.IO session's sid."""
    async with http.get(socket_url(server_url, "polling")) as response:
        assert response.status == 200, await response.text()
        body = await response.text()
    assert body.startswith("0"), body
    sid: str = orjson.loads(body[1:])["sid"]
    return sid


def connect_packet(namespace: str, token: str | None) -> str:
    auth = {} if token is None else {"token": token}
    return f"0{namespace},{orjson.dumps(auth).decode()}"
