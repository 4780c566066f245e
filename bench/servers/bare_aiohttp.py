"""Baseline (b): aiohttp + python-socketio, tuned: uvloop, orjson as python-socketio's json,
permessage-deflate refused (`--deflate` keeps aiohttp's default, which accepts it).

Usage: python -m bench.servers.bare_aiohttp --port P [--deflate]
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import socketio
import uvloop
from aiohttp import web
from engineio.async_drivers import aiohttp as eio_aiohttp

from bench.servers.common import OrjsonJson, register_handlers


class NoDeflateWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """engineio's aiohttp websocket, with compression refused at the handshake."""

    async def __call__(self, environ: dict[str, object]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        assert isinstance(request, web.BaseRequest)
        self._sock = web.WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=False
        )
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


def build_app(deflate: bool) -> web.Application:
    sio = socketio.AsyncServer(
        async_mode="aiohttp", json=OrjsonJson, logger=False, engineio_logger=False
    )
    if not deflate:
        sio.eio._async = {**sio.eio._async, "websocket": NoDeflateWebSocket}
    register_handlers(sio)
    app = web.Application()
    sio.attach(app, socketio_path="socket.io")

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)
    return app


async def serve(port: int, deflate: bool) -> None:
    runner = web.AppRunner(build_app(deflate), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--deflate", action="store_true", help="accept permessage-deflate")
    args = parser.parse_args()
    uvloop.run(serve(args.port, args.deflate))


if __name__ == "__main__":
    main()
