"""A thread's history as AG-UI messages (MESSAGES_SNAPSHOT), laid out as the live stream
lays them out (server/agui/layout.py), so a snapshot and the events after it agree."""

from __future__ import annotations

from ag_ui.core import (
    AssistantMessage,
    FunctionCall,
    Message,
    ReasoningMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)

from schemas.chat import HistoryMessage
from schemas.parts import ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from server.agui.layout import Layout
from server.agui.translate import json_text


def snapshot_messages(history: list[HistoryMessage]) -> list[Message]:
    messages: list[Message] = []
    for record in history:
        if record.role == "user":
            messages.append(UserMessage(id=record.id, content=record.text))
        else:
            messages += assistant_messages(record)
    return messages


def assistant_messages(record: HistoryMessage) -> list[Message]:
    layout = Layout(record.id)
    out: list[Message] = []
    segments: dict[str, AssistantMessage] = {}
    for part in record.parts:
        if isinstance(part, TextPart | ToolCallPart):
            segment_id = layout.place("text" if isinstance(part, TextPart) else "tool_call")
            segment = segments.get(segment_id)
            if segment is None:
                segment = segments[segment_id] = AssistantMessage(id=segment_id)
                out.append(segment)
            if isinstance(part, TextPart):
                segment.content = (segment.content or "") + part.text
            else:
                call = ToolCall(
                    id=part.call_id,
                    function=FunctionCall(name=part.name, arguments=json_text(part.args)),
                )
                segment.tool_calls = [*(segment.tool_calls or []), call]
        elif isinstance(part, ToolResultPart):
            content = json_text(part.result)
            out.append(
                ToolMessage(
                    id=layout.place("tool_result"),
                    tool_call_id=part.call_id,
                    content=content,
                    error=content if part.is_error else None,
                )
            )
        elif isinstance(part, ReasoningPart):
            out.append(ReasoningMessage(id=layout.place("reasoning"), content=part.text))
        else:
            layout.place("approval")
    return out
