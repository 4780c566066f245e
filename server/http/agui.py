"""POST /api/agui: the chat as an AG-UI agent. Takes a RunAgentInput, answers with the run as
AG-UI events over Server-Sent Events (server/agui/runs.py; docs/interop.md).

Authenticated like the socket (a Bearer JWT; dev-login tokens in development). A service
principal needs scope `chat:write`, as `chat:send` does. Refused before the stream starts:
401 without a valid token, 403 without the scope, 400 for a body that is not a RunAgentInput
we can run, 404 for an unknown thread or run, 409 while the thread answers another message.
"""

from __future__ import annotations

from ag_ui.core import RunAgentInput
from ag_ui.encoder import EventEncoder
from aiohttp import web
from loguru import logger
from pydantic import ValidationError

from schemas.ack import ErrorCode
from server.agui.runs import AguiRuns
from server.app_keys import AGUI_RUNS
from server.errors import AppError
from server.http.bearer import Refusal, bearer_principal, refused

AGUI_PATH = "/api/agui"
AGUI_SCOPE = "chat:write"

_STATUS = {
    ErrorCode.INVALID_PAYLOAD: 400,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
}


async def agui(request: web.Request) -> web.StreamResponse:
    user: str | None = None
    try:
        principal = await bearer_principal(request)
        user = principal.id
        if principal.kind == "service" and AGUI_SCOPE not in principal.scopes:
            message = f"Running the agent needs scope {AGUI_SCOPE!r}"
            raise Refusal(403, "forbidden", message)
        run_input = await _run_input(request)
        async with request.app[AGUI_RUNS].start(principal.id, run_input) as run:
            encoder = EventEncoder(accept=request.headers.get("Accept", ""))
            response = web.StreamResponse(
                headers={"Content-Type": encoder.get_content_type(), "Cache-Control": "no-cache"}
            )
            await response.prepare(request)
            try:
                async for event in run.events:
                    await response.write(encoder.encode(event).encode())
            except (ConnectionResetError, ConnectionError):
                # The client left; it resumes with the same runId.
                logger.bind(user=user).info("agui stream closed by the client")
            return response
    except Refusal as refusal:
        return refused(request, refusal, user)
    except AppError as exc:
        status = _STATUS.get(exc.code, 500)
        return refused(request, Refusal(status, exc.code.value, exc.message), user)


async def _run_input(request: web.Request) -> RunAgentInput:
    try:
        return RunAgentInput.model_validate_json(await request.read())
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) or "(body)" for e in exc.errors())
        raise Refusal(400, "invalid_payload", f"Invalid RunAgentInput: {fields}") from None
    except web.HTTPRequestEntityTooLarge:
        raise Refusal(413, "payload_too_large", "Request body too large") from None


def add_routes(app: web.Application, runs: AguiRuns) -> None:
    app[AGUI_RUNS] = runs
    app.router.add_post(AGUI_PATH, agui)
