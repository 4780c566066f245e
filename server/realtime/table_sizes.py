"""The size of every table the server keeps per connection: what must return to its baseline
once clients leave (the leak checks of the tests and the bench's soak read it)."""

from __future__ import annotations

from aiohttp import web

from server.app_keys import CONTEXT, SIO


def connection_table_sizes(app: web.Application) -> dict[str, int]:
    """Read on the app's loop."""
    sio, ctx = app[SIO], app[CONTEXT]
    eio = sio.eio
    rooms = sio.manager.rooms
    sids, connections, users = ctx.rate_limiter.tracked()
    return {
        "eio.sockets": len(eio.sockets),
        "eio._environs": len(eio._environs),
        "eio._websockets": len(eio._websockets),
        "eio._idle_writers": len(eio._idle_writers),
        "eio._allowance": len(eio._allowance),
        "eio._cutting": len(eio._cutting),
        "eio.bad_frames": len(eio.bad_frames),
        "eio.posts_in_flight": eio.posts_in_flight,
        "sio.environ": len(sio.environ),
        "sio._binary_packet": len(sio._binary_packet),
        "manager.rooms": sum(len(room) for ns in rooms.values() for room in ns.values()),
        "manager.pending_connect": sum(len(s) for s in sio.manager.pending_connect.values()),
        "connections": len(ctx.connections),
        "rate_limiter.sids": sids,
        "rate_limiter.connections": connections,
        "rate_limiter.users": users,
        "connection_cap": sum(len(s) for s in ctx.connection_cap._open.values()),
        "token_watch.states": len(ctx.token_watch._states),
        "token_watch.timers": len(ctx.token_watch._timers),
        "emitter._attached": sum(len(a) for a in ctx.emitter._attached.values()),
    }
