"""POST /api/publish: another service sends a user an `app:event` on a registered topic.

Authenticated like the socket (a Bearer JWT, the same verifier) and authorised by scope: a
service principal whose token grants `publish`. 401 without a valid token, 403 without the
scope, 400 for a body, topic or data the server refuses; 202 with the event's seq.
"""

from __future__ import annotations

from aiohttp import web
from loguru import logger
from pydantic import ValidationError

from schemas.publish import PublishAccepted, PublishRequest
from server.app_keys import CONTEXT, PUBLISHER
from server.auth.errors import AuthFailure
from server.realtime.publisher import UnknownTopic

PUBLISH_PATH = "/api/publish"
PUBLISH_SCOPE = "publish"


async def publish(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _refuse(request, 401, "auth_required", "A Bearer token is required", "no token")
    try:
        verified = await ctx.verifier.verify(token.strip())
    except AuthFailure as failure:
        code = "token_expired" if failure.code == "token_expired" else "unauthorized"
        return _refuse(request, 401, code, failure.message, failure.reason)
    principal = verified.principal
    if principal.kind != "service" or PUBLISH_SCOPE not in principal.scopes:
        return _refuse(
            request,
            403,
            "forbidden",
            "Publishing needs a service token with scope 'publish'",
            f"{principal.kind} principal without scope publish",
            principal.id,
        )
    try:
        body = PublishRequest.model_validate_json(await request.read())
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) or "(body)" for e in exc.errors())
        message = f"Invalid publish request: {fields}"
        return _refuse(request, 400, "invalid_payload", message, message, principal.id)
    except web.HTTPRequestEntityTooLarge:
        message = "Request body too large"
        return _refuse(request, 413, "payload_too_large", message, message, principal.id)
    try:
        seq = await request.app[PUBLISHER].publish_raw(body.topic, body.user_id, body.data)
    except UnknownTopic:
        message = f"Unknown topic {body.topic!r}"
        return _refuse(request, 400, "invalid_payload", message, message, principal.id)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) or "(data)" for e in exc.errors())
        message = f"Invalid data for topic {body.topic!r}: {fields}"
        return _refuse(request, 400, "invalid_payload", message, message, principal.id)
    logger.bind(user=body.user_id, service=principal.id, topic=body.topic).info(
        "published topic={} user={} by={} seq={}", body.topic, body.user_id, principal.id, seq
    )
    return web.Response(
        status=202, text=PublishAccepted(seq=seq).model_dump_json(), content_type="application/json"
    )


def _refuse(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    reason: str,
    user: str | None = None,
) -> web.Response:
    # One line per refusal, sampled per code: a flood of bad requests cannot fill the disk.
    sampler = request.app[CONTEXT].log_sampler
    held = sampler.admit(f"refused {PUBLISH_PATH} {code}")
    if held is not None:
        logger.bind(event="publish_refused", code=code, user=user).warning(
            "publish refused status={} code={} reason={!r} client={} user={} suppressed={}",
            status,
            code,
            reason,
            request.remote or "unknown",
            user or "-",
            held,
        )
    return _error(status, code, message)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def add_routes(app: web.Application) -> None:
    app.router.add_post(PUBLISH_PATH, publish)
