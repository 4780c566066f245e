"""/chat namespace events."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field, JsonValue, field_validator

from schemas.base import ClientPayload, ServerPayload, UtcDatetime
from schemas.events import EventError, StreamPayload, StreamReady
from schemas.parts import MessagePart

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
    limit: int = Field(default=50, ge=1, le=100)
    # The `next_before` of the previous page.
    before: str | None = Field(default=None, min_length=1, max_length=64)
    # Matches titles and message text (full-text search, words in any order).
    query: str | None = Field(default=None, max_length=200)


class ChatRenameThread(ClientPayload):
    thread_id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)

    @field_validator("title")
    @classmethod
    def _not_only_spaces(cls, title: str) -> str:
        if not title.split():
            raise ValueError("a title needs more than spaces")
        return title


class ChatDeleteThread(ClientPayload):
    thread_id: str = Field(min_length=1, max_length=64)


class ChatRegenerate(ClientPayload):
    client_msg_id: UUID = Field(strict=False)
    # The assistant message to answer again; its user message gets a new answer.
    message_id: str = Field(min_length=1, max_length=64)


class ChatApprove(ClientPayload):
    run_id: str = Field(min_length=1, max_length=64)
    call_id: str = Field(min_length=1, max_length=200)
    approved: bool
    # Approve with these arguments instead of the model's.
    args: dict[str, JsonValue] | None = None


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
    # The joined text parts.
    text: str
    parts: list[MessagePart]
    run_id: str
    reply_to: str
    created_at: UtcDatetime


class HistoryMessage(ServerPayload):
    id: str
    thread_id: str
    role: Literal["user", "assistant"]
    text: str
    # Assistant messages: what streamed, in order; `text` is the joined text parts.
    parts: list[MessagePart] = Field(default_factory=list)
    status: MessageStatus
    created_at: UtcDatetime
    client_msg_id: str | None = None
    run_id: str | None = None
    reply_to: str | None = None
    # Streaming messages only: `text` and `parts` hold every event of the run up to and
    # including this seq.
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
    # Pass as `before` for the next page; null on the last page.
    next_before: str | None = None


class HistoryResult(ServerPayload):
    messages: list[HistoryMessage]
    # Older messages exist: ask again with `before` set to the first message's id.
    has_more: bool = False


class RenameThreadResult(ServerPayload):
    thread: ThreadView


class DeleteThreadResult(ServerPayload):
    deleted: Literal[True] = True


class RegenerateResult(ServerPayload):
    thread_id: str
    run_id: str
    reply_to: str
    duplicate: bool


class ApproveResult(ServerPayload):
    decision: Literal["approved", "denied", "expired"]


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


class AgentReasoning(UserStreamPayload):
    run_id: str
    text: str


class AgentApprovalRequested(UserStreamPayload):
    run_id: str
    call_id: str
    name: str
    args: dict[str, JsonValue]
    expires_at: UtcDatetime


class AgentApprovalResolved(UserStreamPayload):
    run_id: str
    call_id: str
    decision: Literal["approved", "denied", "expired"]
    # Approved with edited arguments: the ones the tool runs with.
    args: dict[str, JsonValue] | None = None


class Usage(ServerPayload):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class AgentRunCompleted(UserStreamPayload):
    run_id: str
    message: AssistantMessageView
    usage: Usage | None = None


class RunError(ServerPayload):
    code: str
    message: str


class AgentRunFailed(UserStreamPayload):
    run_id: str
    error: RunError
    # The partial answer, when any part was produced.
    message: AssistantMessageView | None = None


class AgentRunStopped(UserStreamPayload):
    run_id: str
    # The partial answer, when any part was produced.
    message: AssistantMessageView | None = None


class ChatThreadUpdated(UserStreamPayload):
    thread: ThreadView


class ChatThreadDeleted(UserStreamPayload):
    thread_id: str


# Server to client, one connection


class ChatReady(StreamReady):
    pass


class ChatErrorEvent(EventError):
    pass
