"""Immutable records returned by the chat history store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

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
    text: str
    status: MessageStatus
    client_msg_id: str | None
    run_id: str | None
    reply_to: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class SendRecord(_Record):
    """Outcome of storing a user message; `duplicate` marks an idempotent repeat."""

    thread: ThreadRecord
    message: MessageRecord
    run_id: str
    duplicate: bool
