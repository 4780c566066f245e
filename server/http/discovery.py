"""The discovery document and the event schema."""

from __future__ import annotations

from aiohttp import web

from schemas.json_schema import build_event_schema
from server.app_keys import CONTEXT, WS_CONFIG

_NO_CACHE = {"Cache-Control": "no-store"}


async def ws_config(request: web.Request) -> web.Response:
    body = request.app[WS_CONFIG].model_dump_json()
    return web.Response(text=body, content_type="application/json", headers=_NO_CACHE)


async def ws_schema(request: web.Request) -> web.Response:
    return web.json_response(build_event_schema(request.app[CONTEXT].registry))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/ws-config", ws_config)
    app.router.add_get("/api/ws-schema", ws_schema)
