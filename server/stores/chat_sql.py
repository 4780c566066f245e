"""What the SQL chat stores share: the schema's shape, row → record mapping, argument checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from schemas.parts import PARTS_ADAPTER, MessagePart
from server.stores.chat_records import (
    MessageRecord,
    MessageStatus,
    SendRecord,
    ThreadPage,
    ThreadRecord,
)
from server.stores.chat_store import NotFoundError, StoreError

# 1: threads, runs, messages. 2: message parts and checkpoint seq, regenerate keys on runs,
# full-text search over titles and message texts.
SCHEMA_VERSION: Final = 2
NOT_OPEN: Final = "chat store is not open"

# The columns records are read from, never `*`: the tables also hold ordering keys and, in
# PostgreSQL, search vectors. thread_record and message_record take rows of these.
SELECT_THREAD: Final = "SELECT id, user_id, title, created_at, updated_at FROM threads"
SELECT_MESSAGE: Final = (
    "SELECT id, thread_id, user_id, role, text, parts, status, client_msg_id, run_id, reply_to,"
    " checkpoint_seq, created_at, updated_at FROM messages"
)
RETURNING_THREAD: Final = " RETURNING id, user_id, title, created_at, updated_at"
RETURNING_MESSAGE: Final = (
    " RETURNING id, thread_id, user_id, role, text, parts, status, client_msg_id, run_id,"
    " reply_to, checkpoint_seq, created_at, updated_at"
)

_RUN_STATUS: Final = {"complete": "completed", "stopped": "stopped", "failed": "failed"}


def chat_schema(*, seq: str, timestamp: str, deferred: str = "") -> str:
    """The version 1 tables and indexes in one SQL dialect; each store migrates them on.

    `seq`, the key column, breaks ties between rows stamped with the same time; `deferred`
    follows the messages' thread and run foreign keys.
    """
    return f"""
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS threads (
    seq {seq}, id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, title TEXT NOT NULL,
    created_at {timestamp} NOT NULL, updated_at {timestamp} NOT NULL);
CREATE INDEX IF NOT EXISTS threads_by_activity ON threads (user_id, updated_at, seq);
CREATE TABLE IF NOT EXISTS runs (
    seq {seq}, id TEXT NOT NULL UNIQUE, thread_id TEXT NOT NULL REFERENCES threads (id),
    status TEXT NOT NULL CHECK (status IN ('streaming', 'completed', 'stopped', 'failed')),
    created_at {timestamp} NOT NULL, updated_at {timestamp} NOT NULL);
CREATE INDEX IF NOT EXISTS runs_streaming ON runs (status) WHERE status = 'streaming';
CREATE TABLE IF NOT EXISTS messages (
    seq {seq}, id TEXT NOT NULL UNIQUE,
    thread_id TEXT NOT NULL REFERENCES threads (id){deferred}, user_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('complete', 'streaming', 'stopped', 'failed')),
    client_msg_id TEXT, run_id TEXT REFERENCES runs (id){deferred},
    reply_to TEXT REFERENCES messages (id),
    created_at {timestamp} NOT NULL, updated_at {timestamp} NOT NULL,
    UNIQUE (user_id, client_msg_id));
CREATE INDEX IF NOT EXISTS messages_by_thread ON messages (thread_id, created_at, seq);
CREATE INDEX IF NOT EXISTS messages_streaming ON messages (status) WHERE status = 'streaming';
"""


def check_schema_version(version: int | None) -> None:
    """Refuse a database written by a newer release; None means no version is stored yet."""
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(f"database schema version {version} is newer than supported")


def run_status(status: MessageStatus) -> str:
    """The status a run ends with when its assistant message ends with `status`."""
    ended = _RUN_STATUS.get(status)
    if ended is None:
        raise ValueError(f"cannot finish a message with status {status!r}")
    return ended


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")


def clean_title(title: str) -> str:
    """A title as stored: one line, whitespace collapsed; ValueError when blank."""
    cleaned = " ".join(title.split())
    if not cleaned:
        raise ValueError("a thread title must not be blank")
    return cleaned


def parts_json(parts: Sequence[MessagePart]) -> str:
    """Parts as stored: a JSON array."""
    return PARTS_ADAPTER.dump_json(list(parts)).decode()


def thread_missing(thread_id: str) -> NotFoundError:
    return NotFoundError(f"thread {thread_id!r} not found")


def message_missing(message_id: str) -> NotFoundError:
    return NotFoundError(f"assistant message {message_id!r} not found")


def missing_in_thread(kind: str, item_id: str, thread_id: str) -> NotFoundError:
    return NotFoundError(f"{kind} {item_id!r} not found in thread {thread_id!r}")


def thread_record(row: Any) -> ThreadRecord:
    """A row of SELECT_THREAD (sqlite3.Row or asyncpg.Record) as a record."""
    return ThreadRecord.model_validate(dict(row))


def message_record(row: Any) -> MessageRecord:
    """A row of SELECT_MESSAGE (sqlite3.Row or asyncpg.Record) as a record."""
    # SQLite's timestamps are ISO strings here; the models parse them into aware datetimes.
    fields = dict(row)
    fields["parts"] = PARTS_ADAPTER.validate_json(fields["parts"])
    fields["seq"] = fields.pop("checkpoint_seq")
    return MessageRecord.model_validate(fields)


def thread_page(rows: Sequence[Any], limit: int) -> ThreadPage:
    """A page from up to limit + 1 rows: the extra row only says another page follows."""
    threads = [thread_record(row) for row in rows[:limit]]
    next_before = threads[-1].id if len(rows) > limit else None
    return ThreadPage(threads=threads, next_before=next_before)


def repeated_send(message: MessageRecord, thread: ThreadRecord) -> SendRecord:
    """The answer to a send whose (user_id, client_msg_id) is already stored as `message`."""
    if message.run_id is None:
        raise StoreError(f"user message {message.id!r} has no run")
    return SendRecord(thread=thread, message=message, run_id=message.run_id, duplicate=True)
