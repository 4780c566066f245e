"""Opening runs in PostgreSQL: a user message's send and a regeneration, each called inside
one transaction; safe between processes sharing the database."""

from __future__ import annotations

import uuid
from typing import Any, Final

from server.stores import chat_sql
from server.stores.chat_postgres_queries import (
    INSERT_MESSAGE,
    TOUCH_THREAD,
    check_idle,
    find_sent,
    message_by_id,
    owned_thread,
)
from server.stores.chat_records import MessageRecord, RegenerateRecord, SendRecord
from server.stores.chat_store import StoreError, thread_title

_INSERT_RUN: Final = (
    "INSERT INTO runs (id, thread_id, user_id, client_msg_id, reply_to, status, created_at,"
    " updated_at) VALUES ($1, $2, $3, $4, $5, 'streaming', now(), now())"
)

# The newest messages of a thread up to a place in it (the message a run answers), newest first.
_HISTORY: Final = (
    chat_sql.SELECT_MESSAGE
    + " WHERE thread_id = $1 AND (created_at, seq) <= ($2, $3) ORDER BY created_at DESC, seq DESC"
    + " LIMIT $4"
)


async def store_user_message(
    conn: Any,
    *,
    user_id: str,
    thread_id: str | None,
    text: str,
    client_msg_id: str,
    run_id: str,
    answer_id: str,
    history_limit: int,
) -> SendRecord:
    new_thread = thread_id is None
    thread_id = thread_id or uuid.uuid4().hex
    row = (uuid.uuid4().hex, thread_id, user_id, "user", text, "complete", client_msg_id)
    # The (user_id, client_msg_id) slot is claimed first. A writer racing for it, in any
    # process, waits here until the holder commits, then inserts nothing and reads the
    # winner back; if the holder rolls back, the waiter goes ahead.
    sql = INSERT_MESSAGE + " ON CONFLICT (user_id, client_msg_id) DO NOTHING"
    inserted = await conn.fetchrow(sql + chat_sql.RETURNING_MESSAGE, *row, run_id, None)
    if inserted is None:
        found = await find_sent(conn, user_id, client_msg_id)
        if found is None:
            raise StoreError("conflicting user message could not be read back")
        return found
    if new_thread:
        sql = "INSERT INTO threads (id, user_id, title, created_at, updated_at)"
        sql += " VALUES ($1, $2, $3, now(), now())" + chat_sql.RETURNING_THREAD
        thread = await conn.fetchrow(sql, thread_id, user_id, thread_title(text))
    else:
        # Raising rolls back the message inserted above.
        thread = await conn.fetchrow(TOUCH_THREAD, thread_id, user_id)
        if thread is None:
            raise chat_sql.thread_missing(thread_id)
        await check_idle(conn, thread_id)
    await conn.execute(_INSERT_RUN, run_id, thread_id, user_id, None, None)
    message = chat_sql.message_record(inserted)
    thread_record = chat_sql.thread_record(thread)
    answer, history = await _open_answer(
        conn, message, run_id=run_id, answer_id=answer_id, history_limit=history_limit
    )
    return SendRecord(
        thread=thread_record,
        message=message,
        run_id=run_id,
        duplicate=False,
        answer=answer,
        history=history,
    )


async def regenerate(
    conn: Any,
    *,
    user_id: str,
    message_id: str,
    client_msg_id: str,
    run_id: str,
    answer_id: str,
    history_limit: int,
) -> RegenerateRecord:
    found = await _find_regenerated(conn, user_id, client_msg_id)
    if found is not None:
        return found
    sql = "SELECT thread_id, reply_to FROM messages"
    sql += " WHERE id = $1 AND user_id = $2 AND role = 'assistant'"
    answer = await conn.fetchrow(sql, message_id, user_id)
    if answer is None or answer["reply_to"] is None:
        raise chat_sql.message_missing(message_id)
    thread_id, reply_to = answer["thread_id"], answer["reply_to"]
    # Sends (whose update of the thread takes the same lock) and regenerations of the thread
    # take turns from here on; one that committed while this one waited is seen by the
    # statements after the lock.
    sql = "SELECT 1 FROM threads WHERE id = $1 AND user_id = $2 FOR NO KEY UPDATE"
    if await conn.fetchval(sql, thread_id, user_id) is None:
        raise chat_sql.thread_missing(thread_id)
    found = await _find_regenerated(conn, user_id, client_msg_id)
    if found is not None:
        return found
    await check_idle(conn, thread_id)
    # The key racing in from another thread's regeneration: the first to commit wins.
    sql = _INSERT_RUN + " ON CONFLICT (user_id, client_msg_id) DO NOTHING RETURNING id"
    if await conn.fetchval(sql, run_id, thread_id, user_id, client_msg_id, reply_to) is None:
        found = await _find_regenerated(conn, user_id, client_msg_id)
        if found is None:
            raise StoreError("conflicting regeneration could not be read back")
        return found
    thread = chat_sql.thread_record(await conn.fetchrow(TOUCH_THREAD, thread_id, user_id))
    question = await message_by_id(conn, reply_to)
    opened, history = await _open_answer(
        conn, question, run_id=run_id, answer_id=answer_id, history_limit=history_limit
    )
    return RegenerateRecord(
        thread=thread,
        reply_to=question,
        run_id=run_id,
        duplicate=False,
        answer=opened,
        history=history,
    )


async def _open_answer(
    conn: Any, question: MessageRecord, *, run_id: str, answer_id: str, history_limit: int
) -> tuple[MessageRecord, list[MessageRecord]]:
    """The run's empty "streaming" answer to `question`, and the thread's newest messages
    up to `question`, oldest first."""
    thread_id = question.thread_id
    row = (answer_id, thread_id, question.user_id, "assistant", "", "streaming", None)
    sql = INSERT_MESSAGE + chat_sql.RETURNING_MESSAGE
    answer = chat_sql.message_record(await conn.fetchrow(sql, *row, run_id, question.id))
    sql = "SELECT created_at, seq FROM messages WHERE id = $1"
    place = await conn.fetchrow(sql, question.id)
    if place is None:
        raise StoreError(f"message {question.id!r} could not be read back")
    rows = await conn.fetch(_HISTORY, thread_id, place["created_at"], place["seq"], history_limit)
    return answer, [chat_sql.message_record(r) for r in reversed(rows)]


async def _find_regenerated(conn: Any, user_id: str, client_msg_id: str) -> RegenerateRecord | None:
    sql = "SELECT id, thread_id, reply_to FROM runs WHERE user_id = $1 AND client_msg_id = $2"
    run = await conn.fetchrow(sql, user_id, client_msg_id)
    if run is None:
        return None
    thread = await owned_thread(conn, user_id, run["thread_id"])
    question = await message_by_id(conn, run["reply_to"])
    return RegenerateRecord(thread=thread, reply_to=question, run_id=run["id"], duplicate=True)
