"""POST /api/publish: another service sends a user an `app:event` on a registered topic.

Authenticated like the socket (a Bearer JWT, the same verifier: server/http/bearer.py) and
authorised by scope: a service principal whose token grants `publish`. 401 without a valid
token, 403 without the scope, 400 for a body, topic or data the server refuses; 202 with the
event's seq.
"""

from __future__ import annotations

from aiohttp import web
from loguru import logger
from pydantic import ValidationError

from schemas.publish import PublishAccepted, PublishRequest
from server.app_keys import PUBLISHER
from server.http.bearer import Refusal, bearer_principal, refused
from server.realtime.publisher import UnknownTopic

PUBLISH_PATH = "/api/publish"
PUBLISH_SCOPE = "publish"


async def publish(request: web.Request) -> web.Response:
    user: str | None = None
    try:
        principal = await bearer_principal(request)
        user = principal.id
        if principal.kind != "service" or PUBLISH_SCOPE not in principal.scopes:
            raise Refusal(
                403,
                "forbidden",
                "Publishing needs a service token with scope 'publish'",
                f"{principal.kind} principal without scope publish",
            )
        body = await _body(request)
        try:
            seq = await request.app[PUBLISHER].publish_raw(body.topic, body.user_id, body.data)
        except UnknownTopic:
            raise _invalid(f"Unknown topic {body.topic!r}") from None
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) or "(data)" for e in exc.errors())
            raise _invalid(f"Invalid data for topic {body.topic!r}: {fields}") from None
    except Refusal as refusal:
        return refused(request, refusal, user, label="publish", event="publish_refused")
    logger.bind(user=body.user_id, service=principal.id, topic=body.topic).info(
        "published topic={} user={} by={} seq={}", body.topic, body.user_id, principal.id, seq
    )
    return web.Response(
        status=202, text=PublishAccepted(seq=seq).model_dump_json(), content_type="application/json"
    )


async def _body(request: web.Request) -> PublishRequest:
    try:
        return PublishRequest.model_validate_json(await request.read())
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) or "(body)" for e in exc.errors())
        raise _invalid(f"Invalid publish request: {fields}") from None
    except web.HTTPRequestEntityTooLarge:
        raise Refusal(413, "payload_too_large", "Request body too large") from None


def _invalid(message: str) -> Refusal:
    return Refusal(400, "invalid_payload", message)


def add_routes(app: web.Application) -> None:
    app.router.add_post(PUBLISH_PATH, publish)
