"""The full stack, its code unchanged, started with one launch-time change applied from
outside: the evidence for docs/performance.md's tuning list (`make bench-tuning`).

    --asyncio-loop   serve on the standard asyncio loop instead of the uvloop `serve` picks
    --uvloop         serve on uvloop (for a server that does not pick it itself)
    --orjson         an orjson-backed json module for python-socketio and python-engineio
    --no-deflate     refuse permessage-deflate in every aiohttp websocket handshake
    --inline-handlers  python-socketio's async_handlers=False: each event's handler runs on
                     its connection's reader task instead of a new Task per event
    --no-checkpoints answers are not checkpointed to the database while they stream

No flag: the same as `python -m server serve`. Settings still come from WS_* variables (the
harness sets WS_WEBSOCKET_COMPRESSION=true for the deflate-accepted variant).

Usage: python -m bench.servers.fullstack_variant [flags]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

import engineio.packet
import socketio
import socketio.packet
from aiohttp import web, web_ws

from bench.servers.common import OrjsonJson


def refuse_deflate() -> None:
    """Every aiohttp websocket response defaults to compress=False: the handshake then
    declines permessage-deflate whichever engineio websocket wrapper creates it."""
    original = web_ws.WebSocketResponse.__init__

    def init(self: web_ws.WebSocketResponse, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compress", False)
        original(self, *args, **kwargs)

    web_ws.WebSocketResponse.__init__ = init  # type: ignore[method-assign,assignment]


def inline_handlers() -> None:
    """Every python-socketio AsyncServer defaults to async_handlers=False."""
    original = socketio.AsyncServer.__init__

    def init(self: socketio.AsyncServer, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("async_handlers", False)
        original(self, *args, **kwargs)

    socketio.AsyncServer.__init__ = init


def force_loop(factory: Any) -> None:
    """Whatever loop `serve` asks for, aiohttp's run_app gets one from `factory`."""
    original = web.run_app

    def run_app(*args: Any, **kwargs: Any) -> None:
        kwargs["loop"] = factory()
        original(*args, **kwargs)

    web.run_app = run_app


def main() -> None:
    parser = argparse.ArgumentParser()
    loops = parser.add_mutually_exclusive_group()
    loops.add_argument("--asyncio-loop", action="store_true")
    loops.add_argument("--uvloop", action="store_true")
    parser.add_argument("--orjson", action="store_true")
    parser.add_argument("--no-deflate", action="store_true")
    parser.add_argument("--inline-handlers", action="store_true")
    parser.add_argument("--no-checkpoints", action="store_true")
    args = parser.parse_args()
    if args.asyncio_loop:
        force_loop(asyncio.new_event_loop)
    if args.uvloop:
        import uvloop

        force_loop(uvloop.new_event_loop)
    if args.orjson:
        socketio.packet.Packet.json = OrjsonJson
        engineio.packet.Packet.json = OrjsonJson
    if args.no_deflate:
        refuse_deflate()
    if args.inline_handlers:
        inline_handlers()
    if args.no_checkpoints:
        os.environ["WS_CHECKPOINT_INTERVAL_MS"] = "0"

    from server.cli.main import main as serve

    sys.argv = [sys.argv[0], "serve"]
    serve()


if __name__ == "__main__":
    main()
