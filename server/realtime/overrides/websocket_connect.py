"""Replaces the websocket-connect path of python-engineio's
`engineio.async_server.AsyncServer.handle_request`: a GET that opens a new connection on the
websocket transport, which upstream serves through `handle_request`, `_handle_connect`,
`AsyncSocket.handle_get_request` and `AsyncSocket._upgrade_websocket`, each awaiting the
next for as long as the websocket is open. Every held connection kept those coroutine frames
and what they refer to (upstream's parsed query among them) for its whole life
(docs/performance.md, "Held connections").

Here the same checks are made, in upstream's order and with its answers, by a function that
has returned before the socket is opened (engine_handle_connect.py's `open_socket`), and the
websocket is served from this one frame. Every other request (polling, an upgrade, anything
upstream refuses) goes to upstream as before.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from aiohttp import web

from server.realtime.overrides.engine_handle_connect import EngineHandleConnect
from server.realtime.overrides.upstream import Upstream

UPSTREAM = (
    Upstream(
        "engineio.async_server",
        "AsyncServer.handle_request",
        sha256="1a8c878e35166cfe868d2cef40cdeb33af620541363a705c4dd2eea76c0f27af",
    ),
    # The websocket branch it takes for such a request, done here in place.
    Upstream(
        "engineio.async_socket",
        "AsyncSocket.handle_get_request",
        sha256="05eaae9f0a60d9be3f4c0227a639930b2f8f31445fc23ed81c2184e74bdff64d",
    ),
    Upstream(
        "engineio.async_socket",
        "AsyncSocket._upgrade_websocket",
        sha256="820b83efe96adb98ee63eef1096dd403c6690bf80aa00c49f3985afd30a4bf95",
    ),
    # Its origin check, made here as upstream makes it.
    Upstream(
        "engineio.base_server",
        "BaseServer._cors_allowed_origins",
        sha256="d0cad0c66d5333cb9f89d0e86a29a80af3654b3cd4a1ca4e7e89fc850f55d85d",
    ),
)


class WebSocketConnect(EngineHandleConnect):
    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) != 1 or not _opens_websocket(args[0], self.transports):
            return await super().handle_request(*args, **kwargs)
        environ = self._async["translate_request"](args[0])
        refusal = self._origin_refusal(environ)
        if refusal is not None:
            return await self._make_response(refusal, environ)
        socket, refused = await self.open_socket(environ, "websocket")
        if socket is None:
            return await self._make_response(refused, environ)
        ws = self._async["websocket"](socket._websocket_handler, self)
        ret = await ws(environ)
        if socket.closed and socket.sid in self.sockets:
            # websocket connection ended, so we are done
            del self.sockets[socket.sid]
        return ret

    def _origin_refusal(self, environ: dict[str, Any]) -> Any:
        if self.cors_allowed_origins != []:
            # Validate the origin header if present
            origin = environ.get("HTTP_ORIGIN")
            if origin:
                allowed_origins = self._cors_allowed_origins(environ)
                if allowed_origins is not None and origin not in allowed_origins:
                    self._log_error_once(origin + " is not an accepted origin.", "bad-origin")
                    return self._bad_request(origin + " is not an accepted origin.")
        return None


def _opens_websocket(request: web.Request, transports: list[str]) -> bool:
    """Whether upstream would open a new connection on the websocket transport: a GET without
    a session, on Engine.IO 4, not JSONP, asking for the websocket transport both in its query
    and in its Upgrade header, with `Connection: upgrade`."""
    if request.method != "GET":
        return False
    query = urllib.parse.parse_qs(request.query_string)
    if "sid" in query or "j" in query or query.get("EIO") != ["4"]:
        return False
    transport = query.get("transport", ["polling"])[0]
    upgrade = ",".join(request.headers.getall("Upgrade", ())).lower()
    connection = ",".join(request.headers.getall("Connection", ())).lower()
    return (
        transport == upgrade == "websocket"
        and transport in transports
        and "upgrade" in [token.strip() for token in connection.split(",")]
    )
