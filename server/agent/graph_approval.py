"""LangChain's HumanInTheLoopMiddleware, answered through the chat's approval gate.

The middleware pauses a graph with an interrupt: in `batched` mode (its default) one per
model turn, whose value lists `action_requests` (name and args, in the order of the turn's
tool calls, without their ids) and the `review_configs` allowing approve / edit / reject /
respond; in `per_call` mode one per call, `{"type": "tool_approval", "tool_call_id", ...}`.
Each is resumed by interrupt id: `{"decisions": [...]}` for a batch, one decision for a call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import ToolMessage
from langgraph.types import Interrupt

from server.agent.approval import refusal
from server.agent.contract import ApprovalAnswer, RunFailure
from server.agent.stream_decode import ParsedToolCall

_ALL_DECISIONS = frozenset({"approve", "edit", "reject", "respond"})
NOT_EDITABLE = "This call's arguments cannot be changed"
# What the middleware puts before the result of an edited call, for the model's eyes only.
_EDIT_NOTICE_END = "\n\nTool response:\n"


@dataclass(frozen=True, slots=True)
class Review:
    """One tool call the user is asked about."""

    call_id: str
    name: str
    args: dict[str, Any]
    allowed: frozenset[str]


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: dict[str, Any]
    # The tool result the user is shown when the call does not run.
    refused: str | None = None

    @property
    def edited(self) -> bool:
        return bool(self.decision["type"] == "edit")


def reviews_of(interrupt: Interrupt, pending: Sequence[ParsedToolCall]) -> list[Review]:
    """The calls an interrupt asks about, matched to the tool calls already announced and
    not yet answered (`pending`, oldest first). RunFailure for an interrupt of another kind."""
    value = interrupt.value
    if _is_batch(value):
        return _batch_reviews(value, pending, interrupt.id)
    if isinstance(value, Mapping) and value.get("type") == "tool_approval":
        allowed = _allowed_in_schema(getattr(interrupt, "response_schema", None))
        return [
            Review(str(value["tool_call_id"]), str(value["name"]), dict(value["args"]), allowed)
        ]
    raise RunFailure(
        "interrupt_unsupported",
        "The agent stopped to ask for input this chat cannot give: only tool approvals "
        "(LangChain's HumanInTheLoopMiddleware) are supported",
    )


def verdict(review: Review, answer: ApprovalAnswer) -> Verdict:
    if not answer.approved:
        text = refusal(answer.decision)
        return Verdict({"type": "reject", "message": text}, refused=text)
    if answer.args == review.args:
        return Verdict({"type": "approve"})
    if "edit" in review.allowed:
        action = {"name": review.name, "args": dict(answer.args)}
        return Verdict({"type": "edit", "edited_action": action})
    # Running the model's arguments would not be what the user approved.
    return Verdict({"type": "reject", "message": NOT_EDITABLE}, refused=NOT_EDITABLE)


def resume_value(interrupt: Interrupt, verdicts: Sequence[Verdict]) -> Any:
    if _is_batch(interrupt.value):
        return {"decisions": [v.decision for v in verdicts]}
    [one] = verdicts
    return one.decision


def without_edit_notice(message: ToolMessage) -> ToolMessage | str:
    """The result of an edited call without the note the middleware wrote for the model."""
    if isinstance(message.content, str):
        _, found, result = message.content.partition(_EDIT_NOTICE_END)
        if found:
            return result
    return message


def _is_batch(value: object) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("action_requests"), list)


def _batch_reviews(
    value: Mapping[str, Any], pending: Sequence[ParsedToolCall], interrupt_id: str
) -> list[Review]:
    configs = value.get("review_configs")
    taken: set[str] = set()
    reviews = []
    for position, action in enumerate(value["action_requests"]):
        name, args = str(action["name"]), dict(action["args"])
        call_id = _match(name, args, pending, taken) or f"{interrupt_id}-{position}"
        taken.add(call_id)
        allowed = _ALL_DECISIONS
        if isinstance(configs, list) and position < len(configs):
            allowed = frozenset(configs[position].get("allowed_decisions") or _ALL_DECISIONS)
        reviews.append(Review(call_id, name, args, allowed))
    return reviews


def _match(
    name: str, args: dict[str, Any], pending: Sequence[ParsedToolCall], taken: set[str]
) -> str | None:
    # The actions come in the order of the turn's calls, a subset of them: the first free
    # call of that name with those args is the one (of that name, if the args differ).
    free = [call for call in pending if call.name == name and call.call_id not in taken]
    for call in free:
        if call.args == args:
            return call.call_id
    return free[0].call_id if free else None


def _allowed_in_schema(schema: object) -> frozenset[str]:
    """The decision types a per-call interrupt's `response_schema` accepts."""
    if not isinstance(schema, Mapping):
        return _ALL_DECISIONS
    discriminator = schema.get("discriminator")
    if isinstance(discriminator, Mapping) and isinstance(discriminator.get("mapping"), Mapping):
        return frozenset(discriminator["mapping"])
    kind = schema.get("properties", {}).get("type", {}).get("const")
    return frozenset({kind}) if isinstance(kind, str) else _ALL_DECISIONS
