"""Opening runs in SQLite: a user message's send and a regeneration, each one transaction
run on the database thread."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable

from server.stores import chat_sql
from server.stores.chat_records import MessageRecord, RegenerateRecord, SendRecord
from server.stores.chat_sqlite_queries import (
    INSERT_MESSAGE,
    check_idle,
    find_sent,
    message_by_id,
    owned_thread,
    touch_thread,
)
from server.stores.chat_store import StoreError, thread_title
from server.stores.sqlite_connection import Db, execute, fetch_all, fetch_one, transaction

# Returns the store's next timestamp; called on the database thread.
Clock = Callable[[], str]

_INSERT_RUN = (
    "INSERT INTO runs (id, thread_id, user_id, client_msg_id, reply_to, status, created_at,"
    " updated_at) VALUES (?, ?, ?, ?, ?, 'streaming', ?, ?)"
)


# The newest messages of a thread up to a place in it (the message a run answers), newest first.
_HISTORY = (
    chat_sql.SELECT_MESSAGE
    + " WHERE thread_id = ? AND (created_at, seq) <= (?, ?) ORDER BY created_at DESC, seq DESC"
    + " LIMIT ?"
)


class _DuplicateSend(Exception):
    """The (user_id, client_msg_id) pair was committed by a concurrent writer."""


def store_user_message(
    db: Db,
    now: Clock,
    *,
    user_id: str,
    thread_id: str | None,
    text: str,
    client_msg_id: str,
    run_id: str,
    answer_id: str,
    history_limit: int,
) -> SendRecord:
    try:
        with transaction(db):
            sent = _send(db, now, user_id, thread_id, text, client_msg_id, run_id)
            if sent.duplicate:
                return sent
            answer, history = _open_answer(
                db,
                now,
                sent.message,
                run_id=run_id,
                answer_id=answer_id,
                history_limit=history_limit,
            )
            return sent.model_copy(update={"answer": answer, "history": history})
    except _DuplicateSend:
        # BEGIN IMMEDIATE plus the check in _send already serialise writers; the UNIQUE
        # constraint is the final arbiter for any writer that got past them.
        found = find_sent(db, user_id, client_msg_id)
        if found is None:
            raise StoreError("conflicting user message could not be read back") from None
        return found


def _send(
    db: Db,
    now: Clock,
    user_id: str,
    thread_id: str | None,
    text: str,
    client_msg_id: str,
    run_id: str,
) -> SendRecord:
    found = find_sent(db, user_id, client_msg_id)
    if found is not None:
        return found
    ts = now()
    if thread_id is None:
        thread_id = uuid.uuid4().hex
        sql = "INSERT INTO threads (id, user_id, title, created_at, updated_at)"
        params = (thread_id, user_id, thread_title(text), ts, ts)
        execute(db, sql + " VALUES (?, ?, ?, ?, ?)", params)
    else:
        owned_thread(db, user_id, thread_id)
        check_idle(db, thread_id)
        touch_thread(db, thread_id, ts)
    execute(db, _INSERT_RUN, (run_id, thread_id, user_id, None, None, ts, ts))
    message_id = uuid.uuid4().hex
    row = (message_id, thread_id, user_id, "user", text, "complete", client_msg_id)
    try:
        execute(db, INSERT_MESSAGE, (*row, run_id, None, ts, ts))
    except sqlite3.IntegrityError as exc:
        raise _DuplicateSend from exc
    thread = owned_thread(db, user_id, thread_id)
    message = message_by_id(db, message_id)
    return SendRecord(thread=thread, message=message, run_id=run_id, duplicate=False)


def regenerate(
    db: Db,
    now: Clock,
    *,
    user_id: str,
    message_id: str,
    client_msg_id: str,
    run_id: str,
    answer_id: str,
    history_limit: int,
) -> RegenerateRecord:
    with transaction(db):
        found = _find_regenerated(db, user_id, client_msg_id)
        if found is not None:
            return found
        sql = "SELECT thread_id, reply_to FROM messages"
        sql += " WHERE id = ? AND user_id = ? AND role = 'assistant'"
        answer = fetch_one(db, sql, (message_id, user_id))
        if answer is None or answer["reply_to"] is None:
            raise chat_sql.message_missing(message_id)
        thread_id, reply_to = answer["thread_id"], answer["reply_to"]
        owned_thread(db, user_id, thread_id)
        check_idle(db, thread_id)
        ts = now()
        execute(db, _INSERT_RUN, (run_id, thread_id, user_id, client_msg_id, reply_to, ts, ts))
        touch_thread(db, thread_id, ts)
        thread = owned_thread(db, user_id, thread_id)
        question = message_by_id(db, reply_to)
        opened, history = _open_answer(
            db, now, question, run_id=run_id, answer_id=answer_id, history_limit=history_limit
        )
        return RegenerateRecord(
            thread=thread,
            reply_to=question,
            run_id=run_id,
            duplicate=False,
            answer=opened,
            history=history,
        )


def _open_answer(
    db: Db, now: Clock, question: MessageRecord, *, run_id: str, answer_id: str, history_limit: int
) -> tuple[MessageRecord, list[MessageRecord]]:
    """The run's empty "streaming" answer to `question`, and the thread's newest messages
    up to `question`, oldest first."""
    thread_id = question.thread_id
    row = (answer_id, thread_id, question.user_id, "assistant", "", "streaming", None)
    ts = now()
    execute(db, INSERT_MESSAGE, (*row, run_id, question.id, ts, ts))
    place = fetch_one(db, "SELECT created_at, seq FROM messages WHERE id = ?", (question.id,))
    if place is None:
        raise StoreError(f"message {question.id!r} could not be read back")
    params = (thread_id, place["created_at"], place["seq"], history_limit)
    rows = fetch_all(db, _HISTORY, params)
    history = [chat_sql.message_record(r) for r in reversed(rows)]
    return message_by_id(db, answer_id), history


def _find_regenerated(db: Db, user_id: str, client_msg_id: str) -> RegenerateRecord | None:
    sql = "SELECT id, thread_id, reply_to FROM runs WHERE user_id = ? AND client_msg_id = ?"
    run = fetch_one(db, sql, (user_id, client_msg_id))
    if run is None:
        return None
    thread = owned_thread(db, user_id, run["thread_id"])
    question = message_by_id(db, run["reply_to"])
    return RegenerateRecord(thread=thread, reply_to=question, run_id=run["id"], duplicate=True)
