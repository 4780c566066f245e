"""/agui namespace events: AG-UI on the socket (docs/interop.md, "On the socket").

`agui:run` is a `RunAgentInput`, as `POST /api/agui` takes it (camelCase, AG-UI's own model);
`agui:event` is one AG-UI event, exactly as `ag_ui.core` serialises it.
"""

from __future__ import annotations

from ag_ui.core import RunAgentInput
from pydantic import ConfigDict

from schemas.base import ServerPayload
from schemas.events import EventError

# Client to server


class AguiRun(RunAgentInput):
    """AG-UI's RunAgentInput: `threadId`, `runId`, `messages`, and `resume` to answer
    interrupts. `tools`, `context`, `state` and `forwardedProps` are accepted and not used."""


# Ack data


class AguiRunResult(ServerPayload):
    """Our thread and run the request started or named; its events follow as `agui:event`."""

    thread_id: str
    run_id: str


# Server to client


class AguiEvent(ServerPayload):
    """One AG-UI event (`type` and its camelCase fields, as `ag_ui.core` dumps it)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str


class AguiErrorEvent(EventError):
    pass
