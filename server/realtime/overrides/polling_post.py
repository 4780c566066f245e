"""Replaces the POST branch of python-engineio's `engineio.async_server.AsyncServer.handle_request`
and `engineio.async_socket.AsyncSocket.handle_post_request`: long-polling POSTs.

Upstream reads `Content-Length` bytes with one unbounded `read`, and on an oversized body
disconnects with `close(wait=True)`, which waits for the session's queue to drain: with no
poll pending it never does, so the request hangs for good. Here:

- a body over `max_http_buffer_size` is answered 413 at once, unread, and the session closed;
- a body that does not arrive within `polling_body_timeout_s` is answered 408, and the session
  closed (a slow-body client would otherwise hold a handler for as long as it likes);
- a body that is not an Engine.IO payload is answered 400 and counted as a bad frame;
- each packet goes through the engine's guarded receive, like a websocket frame.

Requests this does not cover (not a POST, no session, an upgraded one, JSONP) go to
python-engineio.
"""

from __future__ import annotations

import asyncio
from typing import Any

import engineio
from aiohttp import web
from engineio import packet, payload

from server.realtime.bad_frames import BadFrameKind
from server.realtime.overrides.upstream import Upstream

UPSTREAM = (
    Upstream(
        "engineio.async_server",
        "AsyncServer.handle_request",
        sha256="1a8c878e35166cfe868d2cef40cdeb33af620541363a705c4dd2eea76c0f27af",
    ),
    Upstream(
        "engineio.async_socket",
        "AsyncSocket.handle_post_request",
        sha256="82dca119a261a95904b8714cc255ab79aaaef0acd4a0ef98d8ef7a116c370ef2",
    ),
    # Called to answer as python-engineio would, CORS headers included.
    Upstream(
        "engineio.async_server",
        "AsyncServer._make_response",
        sha256="7f42ce244e0295f447545d0c324292264ab0b0248091cb2bd9aeb388e2189ef9",
        part="signature",
    ),
    Upstream(
        "engineio.base_server",
        "BaseServer._ok",
        sha256="71ed3f3570cf9c298bea3057a50c64d1089967d86eca811a58ed1c81ea47e386",
        part="signature",
    ),
    Upstream(
        "engineio.async_drivers.aiohttp",
        "translate_request",
        sha256="3203eb790c5f55157d7c04aadf45614205c8b248edf60069ffa3256f3546a722",
        part="signature",
    ),
)

PAYLOAD_TOO_LARGE = "payload too large"
BODY_TIMEOUT = "request body timeout"


class PollingPost(engineio.AsyncServer):  # type: ignore[misc]
    polling_body_timeout_s: float
    posts_in_flight: int  # being served now: a test (and /metrics) can see none is stuck

    def close_now(self, eio_sid: str, reason: str, detail: str) -> None:
        raise NotImplementedError

    def bad_frame(
        self, eio_sid: str, kind: BadFrameKind, detail: str, *, answered: bool = False
    ) -> None:
        raise NotImplementedError

    async def receive_packet(self, socket: Any, pkt: packet.Packet) -> bool:
        raise NotImplementedError

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        request: web.Request = args[0]
        if request.method != "POST":
            return await super().handle_request(*args, **kwargs)
        self.posts_in_flight += 1
        try:
            return await self._serve_post(request)
        finally:
            self.posts_in_flight -= 1

    async def _serve_post(self, request: web.Request) -> Any:
        socket = self.sockets.get(request.query.get("sid", ""))
        if socket is not None and socket.closed:
            # Closed by the client (a CLOSE packet) or a limit: upstream would raise on it.
            self.sockets.pop(socket.sid, None)
            return await self._refuse(request, "400 BAD REQUEST", "The session is closed")
        if socket is None or not socket.connected or socket.upgraded or "j" in request.query:
            return await super().handle_request(request)
        length = request.content_length
        limit = self.max_http_buffer_size
        if length is None or length > limit:
            self.close_now(socket.sid, PAYLOAD_TOO_LARGE, f"content_length={length} limit={limit}")
            return await self._refuse(request, "413 PAYLOAD TOO LARGE", f"Body over {limit} bytes")
        try:
            async with asyncio.timeout(self.polling_body_timeout_s):
                body = await request.content.readexactly(length) if length else b""
        except (TimeoutError, asyncio.IncompleteReadError) as exc:
            detail = f"timeout_s={self.polling_body_timeout_s} content_length={length}"
            self.close_now(socket.sid, BODY_TIMEOUT, f"{detail} {type(exc).__name__}")
            return await self._refuse(request, "408 REQUEST TIMEOUT", "The body did not arrive")
        if not body:
            self.bad_frame(socket.sid, "engineio_garbage", "empty body")
            return await self._refuse(request, "400 BAD REQUEST", "Not an Engine.IO payload")
        try:
            packets = payload.Payload(encoded_payload=body.decode("utf-8")).packets
        except Exception as exc:  # python-engineio decodes without checks: anything can raise
            self.bad_frame(socket.sid, "engineio_garbage", f"{type(exc).__name__}: {exc}")
            return await self._refuse(request, "400 BAD REQUEST", "Not an Engine.IO payload")
        for pkt in packets:
            if not await self.receive_packet(socket, pkt):
                break
        return await self._respond(request, self._ok())

    async def _respond(self, request: web.Request, response: dict[str, Any]) -> Any:
        environ = self._async["translate_request"](request)
        return await self._make_response(response, environ)

    async def _refuse(self, request: web.Request, status: str, message: str) -> Any:
        headers = [("Content-Type", "text/plain")]
        response = await self._respond(
            request, {"status": status, "headers": headers, "response": message.encode()}
        )
        # What is left of the body is not for this server: the HTTP connection ends with this.
        response.force_close()
        return response
