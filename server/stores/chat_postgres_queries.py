"""The reads and small writes the PostgreSQL chat store's operations share; each runs on
the caller's connection, inside its transaction when it has one."""

from __future__ import annotations

from typing import Any, Final

from server.stores import chat_sql
from server.stores.chat_records import MessageRecord, SendRecord, ThreadRecord
from server.stores.chat_store import ConflictError, NotFoundError

# now() is the transaction's start time on the database's clock: one clock for every
# node, and one timestamp for all rows a transaction writes.
INSERT_MESSAGE: Final = (
    "INSERT INTO messages (id, thread_id, user_id, role, text, status, client_msg_id, run_id,"
    " reply_to, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), now())"
)
# Returns chat_sql.RETURNING_THREAD's columns. Also locks the thread's row until the
# transaction ends (see check_idle).
TOUCH_THREAD: Final = (
    "UPDATE threads SET updated_at = GREATEST(updated_at, now())"
    " WHERE id = $1 AND user_id = $2 RETURNING id, user_id, title, created_at, updated_at"
)


async def owned_thread(conn: Any, user_id: str, thread_id: str) -> ThreadRecord:
    sql = chat_sql.SELECT_THREAD + " WHERE id = $1 AND user_id = $2"
    row = await conn.fetchrow(sql, thread_id, user_id)
    if row is None:
        raise chat_sql.thread_missing(thread_id)
    return chat_sql.thread_record(row)


async def check_idle(conn: Any, thread_id: str) -> None:
    """Raise ConflictError while the thread has a run still streaming.

    Call with the thread's row locked: a writer opening a run of the same thread waits for
    the lock, and then (each statement reading what was committed before it) sees this one's.
    """
    sql = "SELECT id FROM runs WHERE thread_id = $1 AND status = 'streaming' ORDER BY seq LIMIT 1"
    run_id: str | None = await conn.fetchval(sql, thread_id)
    if run_id is not None:
        raise ConflictError(run_id)


async def message_by_id(conn: Any, message_id: str) -> MessageRecord:
    row = await conn.fetchrow(chat_sql.SELECT_MESSAGE + " WHERE id = $1", message_id)
    if row is None:
        raise NotFoundError(f"message {message_id!r} not found")
    return chat_sql.message_record(row)


async def find_sent(conn: Any, user_id: str, client_msg_id: str) -> SendRecord | None:
    sql = chat_sql.SELECT_MESSAGE + " WHERE user_id = $1 AND client_msg_id = $2"
    row = await conn.fetchrow(sql, user_id, client_msg_id)
    if row is None:
        return None
    message = chat_sql.message_record(row)
    return chat_sql.repeated_send(message, await owned_thread(conn, user_id, message.thread_id))
