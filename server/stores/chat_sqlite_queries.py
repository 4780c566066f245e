"""The reads and small writes the SQLite chat store's operations share; each runs on the
database thread, inside the caller's transaction when it has one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from server.stores import chat_sql
from server.stores.chat_records import MessageRecord, SendRecord, ThreadRecord
from server.stores.chat_store import ConflictError, NotFoundError
from server.stores.sqlite_connection import Db, execute, fetch_one

INSERT_MESSAGE: Final = (
    "INSERT INTO messages (id, thread_id, user_id, role, text, status, client_msg_id,"
    " run_id, reply_to, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def owned_thread(db: Db, user_id: str, thread_id: str) -> ThreadRecord:
    sql = chat_sql.SELECT_THREAD + " WHERE id = ? AND user_id = ?"
    row = fetch_one(db, sql, (thread_id, user_id))
    if row is None:
        raise chat_sql.thread_missing(thread_id)
    return chat_sql.thread_record(row)


def touch_thread(db: Db, thread_id: str, ts: str) -> None:
    sql = "UPDATE threads SET updated_at = MAX(updated_at, ?) WHERE id = ?"
    execute(db, sql, (ts, thread_id))


def check_idle(db: Db, thread_id: str) -> None:
    """Raise ConflictError while the thread has a run still streaming."""
    sql = "SELECT id FROM runs WHERE thread_id = ? AND status = 'streaming' ORDER BY seq LIMIT 1"
    row = fetch_one(db, sql, (thread_id,))
    if row is not None:
        raise ConflictError(row["id"])


def message_by_id(db: Db, message_id: str) -> MessageRecord:
    row = fetch_one(db, chat_sql.SELECT_MESSAGE + " WHERE id = ?", (message_id,))
    if row is None:
        raise NotFoundError(f"message {message_id!r} not found")
    return chat_sql.message_record(row)


def find_sent(db: Db, user_id: str, client_msg_id: str) -> SendRecord | None:
    sql = chat_sql.SELECT_MESSAGE + " WHERE user_id = ? AND client_msg_id = ?"
    row = fetch_one(db, sql, (user_id, client_msg_id))
    if row is None:
        return None
    message = chat_sql.message_record(row)
    return chat_sql.repeated_send(message, owned_thread(db, user_id, message.thread_id))


def iso(moment: datetime) -> str:
    # One fixed width in UTC, so stored times compare correctly as text.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
