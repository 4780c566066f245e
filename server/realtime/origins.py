"""One origin allowlist for the socket handshake and for CORS on `/api/*`.

Browsers always send `Origin` on a WebSocket handshake and on cross-origin requests, and a
page cannot forge it; clients that send none (servers, CLIs) are not browsers and pass.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping, MutableMapping
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from loguru import logger

from server.realtime.discovery import SOCKETIO_PATH
from server.realtime.sampled_log import SampledLog

API_PREFIX = "/api/"
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE_S = 600
_LOGGED_ORIGIN_CHARS = 200


class OriginPolicy:
    """The listed origins (`*` for any), or, when none are listed, the server's own origin.

    A listed set replaces same-origin rather than adding to it: same-origin is judged from
    the `Host` header, which a DNS-rebinding page controls.
    """

    def __init__(self, allowed: Iterable[str]) -> None:
        self._allowed = frozenset(origin.strip().rstrip("/") for origin in allowed)

    def allows(self, origin: str | None, headers: Mapping[str, str], scheme: str) -> bool:
        if not origin:
            return False
        if self._allowed:
            return "*" in self._allowed or origin in self._allowed
        return origin in _own_origins(headers, scheme)

    def allows_request(self, request: web.Request, origin: str | None) -> bool:
        return self.allows(origin, request.headers, request.scheme)

    def engineio_check(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """python-socketio's `cors_allowed_origins` callable: the same decision."""
        request: web.Request = environ["aiohttp.request"]
        return self.allows_request(request, origin)


def _own_origins(headers: Mapping[str, str], scheme: str) -> set[str]:
    # The rule python-engineio applies for same-origin, forwarded headers included.
    host = headers.get("Host")
    if not host:
        return set()
    own = {f"{scheme}://{host}"}
    forwarded_proto = headers.get("X-Forwarded-Proto")
    forwarded_host = headers.get("X-Forwarded-Host")
    if forwarded_proto or forwarded_host:
        proto = (forwarded_proto or scheme).split(",")[0].strip()
        own.add(f"{proto}://{(forwarded_host or host).split(',')[0].strip()}")
    return own


def origin_middlewares(policy: OriginPolicy, sampler: SampledLog) -> list[Middleware]:
    # Plain functions handing back the handler's awaitable, not coroutines awaiting it: a
    # websocket's handler runs for the connection's whole life, and a coroutine middleware
    # keeps its frame alive for as long (docs/performance.md, "Held connections").
    @web.middleware
    def socket_origin(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
        # Refused here, before Engine.IO, so it is refused and logged once, namespace or not.
        origin = request.headers.get("Origin")
        if (
            origin is not None
            and request.path.rstrip("/") == SOCKETIO_PATH
            and not policy.allows_request(request, origin)
        ):
            _log_refused_origin(request, origin, sampler)
            return _respond(
                web.json_response(
                    {"error": {"code": "forbidden", "message": "Origin not allowed"}}, status=403
                )
            )
        return handler(request)

    @web.middleware
    def api_cors(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
        origin = request.headers.get("Origin")
        if origin is None or not request.path.startswith(API_PREFIX):
            return handler(request)
        return cors(request, handler, origin)

    async def cors(request: web.Request, handler: Handler, origin: str) -> web.StreamResponse:
        allowed = policy.allows_request(request, origin)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not allowed:
                return web.Response(status=403)
            preflight = web.Response(status=204)
            preflight.headers["Access-Control-Allow-Methods"] = CORS_METHODS
            preflight.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
            preflight.headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE_S)
            _allow(preflight.headers, origin)
            return preflight
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if allowed:
                _allow(exc.headers, origin)
            raise
        if allowed:
            _allow(response.headers, origin)
        return response

    return [socket_origin, api_cors]


async def _respond(response: web.StreamResponse) -> web.StreamResponse:
    return response


def _allow(headers: MutableMapping[str, str], origin: str) -> None:
    headers["Access-Control-Allow-Origin"] = origin
    vary = headers.get("Vary")
    if not vary:
        headers["Vary"] = "Origin"
    elif "origin" not in vary.lower():
        headers["Vary"] = f"{vary}, Origin"


def _log_refused_origin(request: web.Request, origin: str, sampler: SampledLog) -> None:
    held = sampler.admit("refused origin")
    if held is None:
        return  # a flood: the next line written says how many were held back
    client = request.remote or "unknown"
    shown = origin[:_LOGGED_ORIGIN_CHARS]
    logger.bind(event="connect_refused", code="forbidden", client=client, origin=shown).warning(
        "connect refused code=forbidden reason='origin not allowed' client={} origin={} "
        "suppressed={}",
        client,
        shown,
        held,
    )
