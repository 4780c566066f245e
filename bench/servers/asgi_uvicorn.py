"""Baseline (c): python-socketio's ASGIApp on uvicorn, both with their defaults (stdlib json;
uvicorn picks its loop, HTTP and websocket implementations itself, compression on).

Usage: python -m bench.servers.asgi_uvicorn --port P
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import socketio
import uvicorn

from bench.servers.common import register_handlers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def healthz(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    found = scope["path"] == "/healthz"
    await send(
        {
            "type": "http.response.start",
            "status": 200 if found else 404,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"status":"ok"}' if found else b""})


def build_app() -> socketio.ASGIApp:
    sio = socketio.AsyncServer(async_mode="asgi")
    register_handlers(sio)
    return socketio.ASGIApp(sio, other_asgi_app=healthz)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(build_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
