"""The HTTP API's authentication: a Bearer JWT checked by the socket's verifier, and one
refusal shape, `{"error": {"code", "message"}}`, each refusal logged on one sampled line."""

from __future__ import annotations

from aiohttp import web
from loguru import logger

from schemas.principal import Principal
from server.app_keys import CONTEXT
from server.auth.errors import AuthFailure


class Refusal(Exception):
    """An HTTP request refused before it was acted on."""

    def __init__(self, status: int, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.reason = reason or message


async def bearer_principal(request: web.Request) -> Principal:
    """Who the request's Bearer token names; Refusal 401 without a valid one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refusal(401, "auth_required", "A Bearer token is required", "no token")
    try:
        verified = await request.app[CONTEXT].verifier.verify(token.strip())
    except AuthFailure as failure:
        code = "token_expired" if failure.code == "token_expired" else "unauthorized"
        raise Refusal(401, code, failure.message, failure.reason) from None
    return verified.principal


def refused(
    request: web.Request,
    refusal: Refusal,
    user: str | None = None,
    *,
    label: str | None = None,
    event: str = "http_refused",
) -> web.Response:
    """The refusal's response, after one line per refusal, sampled per path and code: a
    flood of bad requests cannot fill the disk. The line starts `<label> refused` (`label`:
    the path unless given) and is bound as `event`."""
    sampler = request.app[CONTEXT].log_sampler
    held = sampler.admit(f"refused {request.path} {refusal.code}")
    if held is not None:
        logger.bind(event=event, code=refusal.code, user=user).warning(
            "{} refused status={} code={} reason={!r} client={} user={} suppressed={}",
            label or request.path,
            refusal.status,
            refusal.code,
            refusal.reason,
            request.remote or "unknown",
            user or "-",
            held,
        )
    return error_response(refusal.status, refusal.code, refusal.message)


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
