"""The parts an assistant message is made of: what the user watched stream, in order.

The same list is sent in `agent:run_completed`, the stopped and failed outcomes and
`chat:history`, is what the stores keep, and is what the next turn's model input is built
from (contract: "Messages are made of parts").
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, JsonValue, TypeAdapter

from schemas.base import ServerPayload

ApprovalDecision = Literal["pending", "approved", "denied", "expired"]


class TextPart(ServerPayload):
    type: Literal["text"] = "text"
    text: str


class ReasoningPart(ServerPayload):
    type: Literal["reasoning"] = "reasoning"
    text: str


class ToolCallPart(ServerPayload):
    type: Literal["tool_call"] = "tool_call"
    call_id: str
    name: str
    args: dict[str, JsonValue]


class ToolResultPart(ServerPayload):
    type: Literal["tool_result"] = "tool_result"
    call_id: str
    name: str
    result: JsonValue
    is_error: bool


class ApprovalPart(ServerPayload):
    type: Literal["approval"] = "approval"
    call_id: str
    name: str
    args: dict[str, JsonValue]
    decision: ApprovalDecision


MessagePart = Annotated[
    TextPart | ReasoningPart | ToolCallPart | ToolResultPart | ApprovalPart,
    Field(discriminator="type"),
]

# Parts as stored (a JSON array) read back into models.
PARTS_ADAPTER: TypeAdapter[list[MessagePart]] = TypeAdapter(list[MessagePart])


def joined_text(parts: list[MessagePart]) -> str:
    """The message's `text`: its text parts joined."""
    return "".join(part.text for part in parts if isinstance(part, TextPart))
