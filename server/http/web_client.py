"""Serves the built web chat client at `/`, and the AI SDK example page at `/ai-sdk`."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>netra-ws</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>netra-ws is running</h1>
<p>The web client has not been built. Run <code>make run</code> (it builds the client), or
<code>make client</code>, then reload.</p>
<p>Discovery document: <a href="/api/ws-config">/api/ws-config</a></p>
</body></html>
"""


def add_routes(app: web.Application, dist: Path) -> None:
    index = dist / "index.html"

    async def index_page(request: web.Request) -> web.StreamResponse:
        if index.is_file():
            return web.FileResponse(index, headers={"Cache-Control": "no-cache"})
        return web.Response(text=_NOT_BUILT, content_type="text/html")

    app.router.add_get("/", index_page)
    ai_sdk = dist / "ai-sdk.html"

    async def ai_sdk_page(request: web.Request) -> web.StreamResponse:
        if ai_sdk.is_file():
            return web.FileResponse(ai_sdk, headers={"Cache-Control": "no-cache"})
        return web.Response(text=_NOT_BUILT, content_type="text/html")

    app.router.add_get("/ai-sdk", ai_sdk_page)
    assets = dist / "assets"
    if assets.is_dir():
        app.router.add_static("/assets", assets, append_version=False)
