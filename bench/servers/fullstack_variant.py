"""The full stack, unchanged, started with launch-time tuning applied from outside: the
evidence for docs/performance.md's tuning list (`make bench-tuning`). `--uvloop` runs it on
uvloop, `--orjson` gives python-socketio/engineio an orjson-backed json module, `--no-deflate`
refuses permessage-deflate at the websocket handshake. No flag: same as `python -m server serve`.

Usage: python -m bench.servers.fullstack_variant [--uvloop] [--orjson] [--no-deflate]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import engineio.packet
import socketio.packet
from aiohttp import web_ws

from bench.servers.common import OrjsonJson


def refuse_deflate() -> None:
    """Every aiohttp websocket response defaults to compress=False: the handshake then
    declines permessage-deflate whichever engineio websocket wrapper creates it."""
    original = web_ws.WebSocketResponse.__init__

    def init(self: web_ws.WebSocketResponse, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compress", False)
        original(self, *args, **kwargs)

    web_ws.WebSocketResponse.__init__ = init  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--orjson", action="store_true")
    parser.add_argument("--no-deflate", action="store_true")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if args.orjson:
        socketio.packet.Packet.json = OrjsonJson
        engineio.packet.Packet.json = OrjsonJson
    if args.no_deflate:
        refuse_deflate()

    from server.cli import main as serve

    sys.argv = [sys.argv[0], "serve"]
    serve()


if __name__ == "__main__":
    main()
