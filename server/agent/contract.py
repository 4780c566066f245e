"""What the chat asks of an agent, and what it gives one to run with.

The chat service hands an agent a `RunInput`: the conversation so far, a `RunSink` that
every event of the answer goes through (it sequences the event for the user's stream and
folds it into the answer's parts), and an `ApprovalGate` a tool call waits at when it needs
the user's yes. Any agent (the bare-model tool loop, a LangGraph graph, a test double) is a
`ChatAgent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from langchain_core.messages import BaseMessage
from pydantic import JsonValue

from schemas.chat import Usage, UserStreamPayload

Decision = Literal["approved", "denied", "expired"]


class RunSink(Protocol):
    """Emits one event of the run to the user's stream and returns its seq."""

    async def __call__(self, payload: UserStreamPayload) -> int: ...


@dataclass(frozen=True, slots=True)
class ApprovalAnswer:
    decision: Decision
    # The arguments the tool runs with: the model's, or the user's edit of them.
    args: dict[str, JsonValue]

    @property
    def approved(self) -> bool:
        return self.decision == "approved"


class ApprovalGate(Protocol):
    """Asks the user to approve a tool call: sends `agent:approval_requested`, waits for
    `chat:approve` from any tab (or the timeout, which denies it as expired), sends
    `agent:approval_resolved` and returns the answer. Call it after `agent:tool_call`."""

    async def __call__(
        self, call_id: str, name: str, args: dict[str, JsonValue]
    ) -> ApprovalAnswer: ...


@dataclass(frozen=True, slots=True)
class RunInput:
    run_id: str
    user_id: str
    thread_id: str
    # Oldest first, ending with the user message being answered.
    conversation: Sequence[BaseMessage]
    sink: RunSink
    approve: ApprovalGate


@dataclass(frozen=True, slots=True)
class RunOutcome:
    usage: Usage | None = None


class RunFailure(Exception):
    """The run ends as failed with this code (agent:run_failed), not as an internal error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ChatAgent(Protocol):
    async def run(self, run: RunInput) -> RunOutcome:
        """Stream one answer through `run.sink`. Cancelling it stops the answer: what was
        buffered is sent first. Raises RunFailure for a failure the user should be told."""
        ...
