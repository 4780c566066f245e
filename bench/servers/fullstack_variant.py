"""The full stack, its code unchanged, started with one launch-time change applied from
outside: the evidence for docs/performance.md's tuning list (`make bench-tuning`).

    --asyncio-loop   serve on the standard asyncio loop instead of the uvloop `serve` picks
    --uvloop         serve on uvloop (for a server that does not pick it itself)
    --orjson         an orjson-backed json module for python-socketio and python-engineio
    --no-deflate     refuse permessage-deflate in every aiohttp websocket handshake
    --inline-handlers  python-socketio's async_handlers=False: each event's handler runs on
                     its connection's reader task instead of a new Task per event
    --no-checkpoints answers are not checkpointed to the database while they stream
    --gc-thresholds A,B,C  the collector's thresholds `serve` sets, instead of its own
    --bench-tables   adds GET /bench/tables: the size of each per-connection table, and
                     GET /bench/gc: the collector's pauses since the last read (the soak)

No flag: the same as `python -m server serve`. Settings still come from WS_* variables (the
harness sets WS_WEBSOCKET_COMPRESSION=true for the deflate-accepted variant).

Usage: python -m bench.servers.fullstack_variant [flags]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from collections import Counter
from pathlib import Path
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


def bench_tables() -> None:
    """The app gains GET /bench/tables (this bench server only, never `serve`): the size of
    every table the server keeps per connection, as tests/server/realtime reads them."""
    import server.app
    from server.realtime.table_sizes import connection_table_sizes

    original = server.app.create_app

    async def tables(request: web.Request) -> web.Response:
        return web.json_response(connection_table_sizes(request.app))

    pauses: list[tuple[int, float]] = []
    started: list[float] = [0.0]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], (time.perf_counter() - started[0]) * 1000))

    gc.callbacks.append(timed)

    async def collections(request: web.Request) -> web.Response:
        taken = pauses[:]
        del pauses[:]
        out: dict[str, Any] = {}
        for generation in (0, 1, 2):
            ms = sorted(p for g, p in taken if g == generation)
            out[str(generation)] = {
                "count": len(ms),
                "total_ms": round(sum(ms), 1),
                "p50_ms": round(ms[len(ms) // 2], 2) if ms else None,
                "max_ms": round(ms[-1], 2) if ms else None,
            }
        return web.json_response(out)

    async def objects(request: web.Request) -> web.Response:
        """The most numerous kinds of object the collector tracks, and the process's memory;
        `?collect=1`: after a full collection (what is left is reachable)."""
        freed = gc.collect() if request.query.get("collect") else None
        counts = Counter(type(o).__qualname__ for o in gc.get_objects())
        status = Path("/proc/self/status").read_text().splitlines()  # noqa: ASYNC240
        memory = {
            line.split(":")[0]: int(line.split()[1])
            for line in status
            if line.startswith(("RssAnon", "RssFile", "RssShmem"))
        }
        top = dict(counts.most_common(15))
        return web.json_response({"kib": memory, "freed": freed, "objects": top})

    def create_app(*args: Any, **kwargs: Any) -> web.Application:
        app = original(*args, **kwargs)
        app.router.add_get("/bench/objects", objects)
        app.router.add_get("/bench/tables", tables)
        app.router.add_get("/bench/gc", collections)
        return app

    server.app.create_app = create_app


def main() -> None:
    parser = argparse.ArgumentParser()
    loops = parser.add_mutually_exclusive_group()
    loops.add_argument("--asyncio-loop", action="store_true")
    loops.add_argument("--uvloop", action="store_true")
    parser.add_argument("--orjson", action="store_true")
    parser.add_argument("--no-deflate", action="store_true")
    parser.add_argument("--inline-handlers", action="store_true")
    parser.add_argument("--no-checkpoints", action="store_true")
    parser.add_argument("--bench-tables", action="store_true")
    parser.add_argument("--gc-thresholds", default="")
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
    if args.bench_tables:
        bench_tables()
    if args.gc_thresholds:
        import server.gc_tuning

        a, b, c = (int(part) for part in args.gc_thresholds.split(","))
        server.gc_tuning.THRESHOLDS = (a, b, c)

    from server.cli.main import main as serve

    sys.argv = [sys.argv[0], "serve"]
    serve()


if __name__ == "__main__":
    main()
