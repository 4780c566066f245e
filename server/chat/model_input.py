"""What the model is given for the next answer: the thread's turns rebuilt from their parts.

Each earlier answer becomes what the model itself produced: `AIMessage`s carrying their
`tool_calls`, a `ToolMessage` per result, then the answer's text, so a follow-up question can
refer to what a tool returned. The newest turns that fit `budget_chars` go in; the oldest are
dropped first, whole turns at a time, and the message being answered always goes.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.messages.tool import ToolCall, tool_call

from schemas.parts import MessagePart, TextPart, ToolCallPart, ToolResultPart
from server.stores.chat_records import MessageRecord

# What a tool call left without a result (the answer was stopped or failed) is answered with:
# providers refuse a tool call with no result after it.
NO_RESULT = "Error: no result (the answer ended before the tool returned)"


def model_input(records: Sequence[MessageRecord], budget_chars: int) -> list[BaseMessage]:
    """The model input for answering the last user message of `records` (oldest first)."""
    answers: dict[str, MessageRecord] = {}
    for record in records:
        # Regenerated answers share `reply_to`; the newest finished one is the one that counts.
        if record.role == "assistant" and record.reply_to and record.status != "streaming":
            answers[record.reply_to] = record
    users = [record for record in records if record.role == "user"]
    turns: list[list[BaseMessage]] = []
    for record in users:
        turn: list[BaseMessage] = [HumanMessage(record.text)]
        answer = answers.get(record.id)
        # The message being answered goes without an answer, even when regenerated.
        if answer is not None and record is not users[-1]:
            turn += answer_messages(answer.parts)
        turns.append(turn)
    kept: list[list[BaseMessage]] = []
    used = 0
    for turn in reversed(turns):
        size = sum(_size(message) for message in turn)
        if kept and used + size > budget_chars:
            break
        kept.append(turn)
        used += size
    return [message for turn in reversed(kept) for message in turn]


def answer_messages(parts: Sequence[MessagePart]) -> list[BaseMessage]:
    """An answer's parts as the messages the model produced and the tools returned."""
    messages: list[BaseMessage] = []
    text: list[str] = []
    calls: list[ToolCallPart] = []
    results: dict[str, ToolResultPart] = {}

    def flush() -> None:
        if text or calls:
            tool_calls: list[ToolCall] = [
                tool_call(name=call.name, args=dict(call.args), id=call.call_id) for call in calls
            ]
            messages.append(AIMessage(content="".join(text), tool_calls=tool_calls))
        for call in calls:
            messages.append(_tool_message(call, results.get(call.call_id)))
        text.clear()
        calls.clear()
        results.clear()

    for part in parts:
        if isinstance(part, ToolCallPart):
            if results:
                flush()
            calls.append(part)
        elif isinstance(part, ToolResultPart):
            results[part.call_id] = part
        elif isinstance(part, TextPart):
            if calls:
                flush()
            text.append(part.text)
        # Reasoning and approvals are not model input: the result says what was decided.
    flush()
    return messages


def _tool_message(call: ToolCallPart, result: ToolResultPart | None) -> ToolMessage:
    if result is None:
        return ToolMessage(NO_RESULT, tool_call_id=call.call_id, name=call.name, status="error")
    value = result.result
    content = value if isinstance(value, str) else orjson.dumps(value).decode()
    if result.is_error:
        content = f"Error: {content}"
    return ToolMessage(
        content,
        tool_call_id=call.call_id,
        name=call.name,
        status="error" if result.is_error else "success",
    )


def _size(message: BaseMessage) -> int:
    size = len(message.text)
    if isinstance(message, AIMessage):
        size += sum(len(orjson.dumps(call["args"])) for call in message.tool_calls)
    return size
