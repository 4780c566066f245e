"""/chat namespace events."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field, JsonValue

from schemas.base import ClientPayload, ServerPayload, UtcDatetime
from schemas.events import EventError, StreamPayload, StreamReady

MessageStatus = Literal["complete", "streaming", "stopped", "failed"]
Recovery = Literal["fresh", "recovered", "reset"]

# Client to server


class ChatSend(ClientPayload):
    # UUIDs arrive as JSON strings, so this one field is validated in lax mode.
    client_msg_id: UUID = Field(strict=False)
    thread_id: str | None = Field(default=None, min_length=1, max_length=64)
    # The upper bound is WS_MAX_MESSAGE_CHARS, checked by the handler (payload_too_large).
    text: str = Field(min_length=1)
    source: Literal["typed", "example"] = "typed"


class ChatStop(ClientPayload):
    run_id: str = Field(min_length=1, max_length=64)


class ChatThreads(ClientPayload):
    pass


class ChatHistory(ClientPayload):
    thread_id: str = Field(min_length=1, max_length=64)
    limit: int = Field(default=50, ge=1, le=500)
    before: str | None = Field(default=None, min_length=1, max_length=64)


class ChatExamples(ClientPayload):
    pass


# Shared views


class UserMessageView(ServerPayload):
    id: str
    thread_id: str
    role: Literal["user"] = "user"
    text: str
    client_msg_id: str
    created_at: UtcDatetime


class AssistantMessageView(ServerPayload):
    id: str
    thread_id: str
    role: Literal["assistant"] = "assistant"
    text: str
    created_at: UtcDatetime


class HistoryMessage(ServerPayload):
    id: str
    thread_id: str
    role: Literal["user", "assistant"]
    text: str
    status: MessageStatus
    created_at: UtcDatetime
    client_msg_id: str | None = None
    run_id: str | None = None
    reply_to: str | None = None
    # Streaming messages only: `text` holds every delta up to and including this seq.
    seq: int | None = None


class ThreadView(ServerPayload):
    id: str
    title: str
    created_at: UtcDatetime
    updated_at: UtcDatetime


class Example(ServerPayload):
    id: str
    title: str
    prompt: str


# Ack data


class SendResult(ServerPayload):
    thread_id: str
    message_id: str
    run_id: str
    duplicate: bool


class StopResult(ServerPayload):
    stopped: bool


class ThreadsResult(ServerPayload):
    threads: list[ThreadView]


class HistoryResult(ServerPayload):
    messages: list[HistoryMessage]


class ExamplesResult(ServerPayload):
    examples: list[Example]


# Server to client, the user's stream: the emitter adds `seq` and `ts` to each.


class UserStreamPayload(StreamPayload):
    """An event every connection of the user receives on /chat, sequenced and kept for replay."""


class ChatMessageEvent(UserStreamPayload):
    message: UserMessageView


class AgentRunStarted(UserStreamPayload):
    run_id: str
    thread_id: str
    reply_to: str
    message_id: str


class AgentDelta(UserStreamPayload):
    run_id: str
    text: str


class AgentToolCall(UserStreamPayload):
    run_id: str
    call_id: str
    name: str
    args: dict[str, JsonValue]


class AgentToolResult(UserStreamPayload):
    run_id: str
    call_id: str
    name: str
    result: JsonValue
    is_error: bool


class AgentRunCompleted(UserStreamPayload):
    run_id: str
    message: AssistantMessageView


class RunError(ServerPayload):
    code: str
    message: str


class AgentRunFailed(UserStreamPayload):
    run_id: str
    error: RunError


class AgentRunStopped(UserStreamPayload):
    run_id: str


# Server to client, one connection


class ChatReady(StreamReady):
    pass


class ChatErrorEvent(EventError):
    pass
