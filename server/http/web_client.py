"""Serves the built web chat client at `/`."""

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
    assets = dist / "assets"
    if assets.is_dir():
        app.router.add_static("/assets", assets, append_version=False)
