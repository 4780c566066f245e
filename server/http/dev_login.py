"""POST /api/auth/dev-login: a token for a development user. Registered in dev mode only."""

from __future__ import annotations

from aiohttp import web
from loguru import logger
from pydantic import ValidationError

from schemas.auth import DevLoginRequest, DevLoginResponse
from server.app_keys import DEV_TOKENS
from server.realtime.discovery import DEV_LOGIN_PATH

MAX_BODY_BYTES = 4096


async def dev_login(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _error(413, "payload_too_large", "Request body too large")
    raw = await request.read()
    if len(raw) > MAX_BODY_BYTES:
        return _error(413, "payload_too_large", "Request body too large")
    try:
        body = DevLoginRequest.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) or "(body)" for e in exc.errors())
        return _error(400, "invalid_payload", f"Invalid dev-login request: {fields}")
    token, expires_at, principal = request.app[DEV_TOKENS].issue(
        body.user_id, body.display_name, body.ttl_s
    )
    logger.bind(user=principal.id).info("dev-login user={} expires_at={}", principal.id, expires_at)
    response = DevLoginResponse(token=token, expires_at=expires_at, principal=principal)
    return web.Response(
        text=response.model_dump_json(),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def add_routes(app: web.Application) -> None:
    app.router.add_post(DEV_LOGIN_PATH, dev_login)
