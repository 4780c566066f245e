"""What the chat service gives an agent, as test doubles: a sink that keeps every event and a
gate that answers approvals from a script."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import JsonValue

from schemas.chat import AgentDelta, AgentReasoning, UserStreamPayload
from server.agent.contract import ApprovalAnswer, ChatAgent, Decision, RunInput, RunOutcome

T = TypeVar("T")


class ListSink:
    def __init__(self) -> None:
        self.events: list[UserStreamPayload] = []

    async def __call__(self, payload: UserStreamPayload) -> int:
        self.events.append(payload)
        return len(self.events)

    def of(self, kind: type[T]) -> list[T]:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.of(AgentDelta))

    @property
    def reasoning(self) -> str:
        return "".join(e.text for e in self.of(AgentReasoning))

    def kinds(self) -> list[str]:
        """The event kinds in order, runs of deltas (or reasoning) counted once."""
        kinds: list[str] = []
        for event in self.events:
            kind = type(event).__name__
            if not kinds or kinds[-1] != kind or kind not in ("AgentDelta", "AgentReasoning"):
                kinds.append(kind)
        return kinds

    def wire(self) -> list[dict[str, Any]]:
        """What a client receives: JSON encoded once by the transport, decoded once."""
        return [orjson.loads(orjson.dumps(e.model_dump(mode="json"))) for e in self.events]


class ScriptedGate:
    """Answers each approval in turn: a decision, or edited args (approved with them)."""

    def __init__(self, *answers: Decision | dict[str, JsonValue]) -> None:
        self._answers = list(answers)
        self.asked: list[tuple[str, str, dict[str, JsonValue]]] = []

    async def __call__(self, call_id: str, name: str, args: dict[str, JsonValue]) -> ApprovalAnswer:
        self.asked.append((call_id, name, dict(args)))
        answer = self._answers.pop(0)
        if isinstance(answer, dict):
            return ApprovalAnswer("approved", answer)
        return ApprovalAnswer(answer, args)


def run_input(
    conversation: Sequence[BaseMessage] | str,
    sink: ListSink,
    gate: ScriptedGate | None = None,
    thread_id: str = "thread-1",
) -> RunInput:
    messages = [HumanMessage(conversation)] if isinstance(conversation, str) else conversation
    return RunInput(
        run_id="run-1",
        user_id="user-1",
        thread_id=thread_id,
        conversation=messages,
        sink=sink,
        approve=gate or ScriptedGate(),
    )


async def answer(
    agent: ChatAgent, conversation: Sequence[BaseMessage] | str, gate: ScriptedGate | None = None
) -> tuple[ListSink, RunOutcome]:
    sink = ListSink()
    outcome = await agent.run(run_input(conversation, sink, gate))
    return sink, outcome
