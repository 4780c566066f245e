"""Immutable records returned by the chat history store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from schemas.parts import MessagePart

MessageRole = Literal["user", "assistant"]
MessageStatus = Literal["complete", "streaming", "stopped", "failed"]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# Naive datetimes are rejected outright; aware ones are normalised to UTC so
# records compare and serialise consistently whatever the source offset was.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ThreadRecord(_Record):
    """A conversation owned by one user."""

    id: str
    user_id: str
    title: str
    created_at: UtcDatetime
    updated_at: UtcDatetime


class MessageRecord(_Record):
    """One message in a thread, written by the user or by the assistant."""

    id: str
    thread_id: str
    user_id: str
    role: MessageRole
    # An assistant message's joined text parts; a user message's text.
    text: str
    # Assistant messages: what streamed, in order (user messages: empty).
    parts: list[MessagePart] = Field(default_factory=list)
    status: MessageStatus
    client_msg_id: str | None
    run_id: str | None
    reply_to: str | None
    # A "streaming" answer's last checkpoint holds its run's events up to this seq.
    seq: int | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class SendRecord(_Record):
    """Outcome of storing a user message; `duplicate` marks an idempotent repeat."""

    thread: ThreadRecord
    message: MessageRecord
    run_id: str
    duplicate: bool
    # The run's answer, opened "streaming" (None for a repeat, which opens nothing).
    answer: MessageRecord | None = None
    # The thread's newest messages up to the one answered, oldest first: the model's input.
    history: list[MessageRecord] = Field(default_factory=list)


class RegenerateRecord(_Record):
    """Outcome of opening a new answer to a user message; `duplicate` marks a repeat."""

    thread: ThreadRecord
    # The user message the new answer replies to.
    reply_to: MessageRecord
    run_id: str
    duplicate: bool
    # As in SendRecord: the answer opened and the messages up to `reply_to`.
    answer: MessageRecord | None = None
    history: list[MessageRecord] = Field(default_factory=list)


class ThreadPage(_Record):
    threads: list[ThreadRecord]
    # The cursor of the next page (the last thread's id); None on the last page.
    next_before: str | None


class AnswerCheckpoint(_Record):
    """An answer as it stands mid-stream: its parts after the run's event `seq`."""

    message_id: str
    parts: list[MessagePart]
    seq: int | None
