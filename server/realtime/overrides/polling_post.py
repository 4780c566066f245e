"""Long-polling POSTs, served in place of python-engineio's `AsyncSocket.handle_post_request`
(python-engineio 4.x) and its caller's POST branch in `AsyncServer.handle_request`.

Upstream reads `Content-Length` bytes with one unbounded `read`, and on an oversized body
disconnects with `close(wait=True)`, which waits for the session's queue to drain: with no
poll pending it never does, so the request hangs for good. Here:

- a body over `max_http_buffer_size` is answered 413 at once, unread, and the session closed;
- a body that does not arrive within `polling_body_timeout_s` is answered 408, and the session
  closed (a slow-body client would otherwise hold a handler for as long as it likes);
- a body that is not an Engine.IO payload is answered 400 and counted as a bad frame;
- each packet goes through the engine's guarded receive, like a websocket frame.

Requests this does not cover (no session, an upgraded one, JSONP) go to python-engineio.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web
from engineio import payload

if TYPE_CHECKING:
    from server.realtime.engine import GuardedEngine

PAYLOAD_TOO_LARGE = "payload too large"
BODY_TIMEOUT = "request body timeout"


async def serve_polling_post(engine: GuardedEngine, request: web.Request) -> Any:
    socket = engine.sockets.get(request.query.get("sid", ""))
    if (
        socket is None
        or not socket.connected
        or socket.upgraded
        or socket.closed
        or "j" in request.query
    ):
        return await engine.upstream_request(request)
    length = request.content_length
    limit = engine.max_http_buffer_size
    if length is None or length > limit:
        engine.close_now(socket.sid, PAYLOAD_TOO_LARGE, f"content_length={length} limit={limit}")
        return await _refuse(engine, request, "413 PAYLOAD TOO LARGE", f"Body over {limit} bytes")
    try:
        async with asyncio.timeout(engine.polling_body_timeout_s):
            body = await request.content.readexactly(length)
    except (TimeoutError, asyncio.IncompleteReadError) as exc:
        detail = f"timeout_s={engine.polling_body_timeout_s} content_length={length}"
        engine.close_now(socket.sid, BODY_TIMEOUT, f"{detail} {type(exc).__name__}")
        return await _refuse(engine, request, "408 REQUEST TIMEOUT", "The body did not arrive")
    try:
        packets = payload.Payload(encoded_payload=body.decode("utf-8")).packets
    except Exception as exc:  # python-engineio decodes without checks: anything can raise
        engine.bad_frame(socket.sid, "engineio_garbage", f"{type(exc).__name__}: {exc}")
        return await _refuse(engine, request, "400 BAD REQUEST", "Not an Engine.IO payload")
    for pkt in packets:
        if not await engine.receive_packet(socket, pkt):
            break
    return await engine.respond(request, engine._ok())


async def _refuse(engine: GuardedEngine, request: web.Request, status: str, message: str) -> Any:
    headers = [("Content-Type", "text/plain")]
    response = await engine.respond(
        request, {"status": status, "headers": headers, "response": message.encode()}
    )
    # What is left of the body is not for this server: the HTTP connection ends with this.
    response.force_close()
    return response
