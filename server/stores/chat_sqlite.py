"""SQLite implementation of the chat history store."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, TypeVar

from server.stores import chat_sql
from server.stores.chat_records import MessageRecord, MessageStatus, SendRecord, ThreadRecord
from server.stores.chat_store import NotFoundError, StoreError, thread_title
from server.stores.sqlite_connection import (
    Db,
    DbThread,
    connect,
    execute,
    fetch_all,
    fetch_one,
    sqlite_path_from_url,
    transaction,
)

_SCHEMA: Final = chat_sql.chat_schema(seq="INTEGER PRIMARY KEY AUTOINCREMENT", timestamp="TEXT")
_INSERT_MESSAGE: Final = (
    "INSERT INTO messages (id, thread_id, user_id, role, text, status, client_msg_id,"
    " run_id, reply_to, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_NEWEST_MESSAGES: Final = " ORDER BY created_at DESC, seq DESC LIMIT ?"
_T = TypeVar("_T")


class _DuplicateSend(Exception):
    """The (user_id, client_msg_id) pair was committed by a concurrent writer."""


class SqliteChatStore:
    """ChatStore backed by one SQLite database through one connection on its own thread.

    Each public operation is one synchronous function (its transaction included)
    run on that thread in a single hop; see DbThread for why.
    """

    def __init__(self, url: str, *, busy_timeout_ms: int = 5000, ping_timeout: float = 2.0) -> None:
        self.path = sqlite_path_from_url(url)
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._ping_timeout = ping_timeout
        self._thread: DbThread | None = None
        # Guards only open and close; the database thread serialises the operations.
        self._lock = asyncio.Lock()
        # Read and written on the database thread only.
        self._last_now = datetime.min.replace(tzinfo=UTC)

    async def open(self) -> None:
        async with self._lock:
            if self._thread is not None:
                return
            if self.path != ":memory:":
                await asyncio.to_thread(Path(self.path).parent.mkdir, parents=True, exist_ok=True)
            self._thread = await DbThread.open(self._connect)

    async def close(self) -> None:
        async with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                await thread.close()

    async def ping(self) -> None:
        sql = "SELECT version FROM schema_version LIMIT 1"
        try:
            async with asyncio.timeout(self._ping_timeout):
                await self._run(lambda db: fetch_one(db, sql))
        except TimeoutError as exc:
            raise StoreError(f"database did not answer: {exc!r}") from exc

    async def send_user_message(
        self, *, user_id: str, thread_id: str | None, text: str, client_msg_id: str, run_id: str
    ) -> SendRecord:
        def send(db: Db) -> SendRecord:
            try:
                with transaction(db):
                    return self._send(db, user_id, thread_id, text, client_msg_id, run_id)
            except _DuplicateSend:
                # BEGIN IMMEDIATE plus the check in _send already serialise writers; the
                # UNIQUE constraint is the final arbiter for any writer that got past them.
                found = _find_sent(db, user_id, client_msg_id)
                if found is None:
                    raise StoreError("conflicting user message could not be read back") from None
                return found

        return await self._run(send)

    async def start_assistant_message(
        self, *, user_id: str, thread_id: str, run_id: str, reply_to: str, message_id: str
    ) -> MessageRecord:
        def start(db: Db) -> MessageRecord:
            _owned_thread(db, user_id, thread_id)
            sql = "SELECT 1 FROM runs WHERE id = ? AND thread_id = ?"
            if fetch_one(db, sql, (run_id, thread_id)) is None:
                raise chat_sql.missing_in_thread("run", run_id, thread_id)
            sql = "SELECT 1 FROM messages WHERE id = ? AND thread_id = ?"
            if fetch_one(db, sql, (reply_to, thread_id)) is None:
                raise chat_sql.missing_in_thread("message", reply_to, thread_id)
            ts = self._now()
            row = (message_id, thread_id, user_id, "assistant", "", "streaming", None)
            execute(db, _INSERT_MESSAGE, (*row, run_id, reply_to, ts, ts))
            return _message_by_id(db, message_id)

        return await self._run(_in_transaction(start))

    async def finish_assistant_message(
        self, *, message_id: str, text: str, status: MessageStatus
    ) -> MessageRecord:
        run_ended = chat_sql.run_status(status)

        def finish(db: Db) -> MessageRecord:
            sql = "SELECT * FROM messages WHERE id = ? AND role = 'assistant'"
            row = fetch_one(db, sql, (message_id,))
            if row is None:
                raise NotFoundError(f"assistant message {message_id!r} not found")
            ts = self._now()
            sql = "UPDATE messages SET text = ?, status = ?, updated_at = ? WHERE id = ?"
            execute(db, sql, (text, status, ts, message_id))
            sql = "UPDATE runs SET status = ?, updated_at = ? WHERE id = ?"
            execute(db, sql, (run_ended, ts, row["run_id"]))
            _touch_thread(db, row["thread_id"], ts)
            return _message_by_id(db, message_id)

        return await self._run(_in_transaction(finish))

    async def checkpoint_assistant_messages(self, updates: Sequence[tuple[str, str]]) -> int:
        if not updates:
            return 0

        def checkpoint(db: Db) -> int:
            ts = self._now()
            sql = "UPDATE messages SET text = ?, updated_at = ?"
            sql += " WHERE id = ? AND role = 'assistant' AND status = 'streaming'"
            params = [(text, ts, message_id) for message_id, text in updates]
            return db.executemany(sql, params).rowcount

        return await self._run(_in_transaction(checkpoint))

    async def list_threads(self, user_id: str, limit: int = 100) -> list[ThreadRecord]:
        chat_sql.check_limit(limit)
        sql = "SELECT * FROM threads WHERE user_id = ? ORDER BY updated_at DESC, seq DESC LIMIT ?"
        rows = await self._run(lambda db: fetch_all(db, sql, (user_id, limit)))
        return [chat_sql.thread_record(row) for row in rows]

    async def get_thread(self, user_id: str, thread_id: str) -> ThreadRecord:
        return await self._run(lambda db: _owned_thread(db, user_id, thread_id))

    async def list_messages(
        self, *, user_id: str, thread_id: str, limit: int = 50, before: str | None = None
    ) -> list[MessageRecord]:
        chat_sql.check_limit(limit)

        def newest(db: Db) -> list[sqlite3.Row]:
            _owned_thread(db, user_id, thread_id)
            sql = "SELECT * FROM messages WHERE thread_id = ?"
            if before is None:
                return fetch_all(db, sql + _NEWEST_MESSAGES, (thread_id, limit))
            anchor_sql = "SELECT created_at, seq FROM messages WHERE id = ? AND thread_id = ?"
            anchor = fetch_one(db, anchor_sql, (before, thread_id))
            if anchor is None:
                raise chat_sql.missing_in_thread("message", before, thread_id)
            sql += " AND (created_at < ? OR (created_at = ? AND seq < ?))"
            at, seq = anchor["created_at"], anchor["seq"]
            return fetch_all(db, sql + _NEWEST_MESSAGES, (thread_id, at, at, seq, limit))

        rows = await self._run(newest)
        return [chat_sql.message_record(row) for row in reversed(rows)]

    async def list_streaming(
        self, started_before: datetime, limit: int = 100
    ) -> list[MessageRecord]:
        chat_sql.check_limit(limit)
        sql = (
            "SELECT * FROM messages WHERE role = 'assistant' AND status = 'streaming'"
            " AND created_at < ? ORDER BY created_at, seq LIMIT ?"
        )
        params = (_iso(started_before), limit)
        rows = await self._run(lambda db: fetch_all(db, sql, params))
        return [chat_sql.message_record(row) for row in rows]

    async def fail_interrupted_runs(self) -> int:
        def fail(db: Db) -> int:
            ts = self._now()
            sql = "UPDATE messages SET status = 'failed', updated_at = ? WHERE status = 'streaming'"
            count = execute(db, sql + " AND role = 'assistant'", (ts,))
            # Runs that died before their assistant message was started fail too.
            sql = "UPDATE runs SET status = 'failed', updated_at = ? WHERE status = 'streaming'"
            execute(db, sql, (ts,))
            return count

        return await self._run(_in_transaction(fail))

    def _send(
        self,
        db: Db,
        user_id: str,
        thread_id: str | None,
        text: str,
        client_msg_id: str,
        run_id: str,
    ) -> SendRecord:
        found = _find_sent(db, user_id, client_msg_id)
        if found is not None:
            return found
        ts = self._now()
        if thread_id is None:
            thread_id = uuid.uuid4().hex
            sql = "INSERT INTO threads (id, user_id, title, created_at, updated_at)"
            params = (thread_id, user_id, thread_title(text), ts, ts)
            execute(db, sql + " VALUES (?, ?, ?, ?, ?)", params)
        else:
            _owned_thread(db, user_id, thread_id)
            _touch_thread(db, thread_id, ts)
        sql = "INSERT INTO runs (id, thread_id, status, created_at, updated_at)"
        execute(db, sql + " VALUES (?, ?, 'streaming', ?, ?)", (run_id, thread_id, ts, ts))
        message_id = uuid.uuid4().hex
        row = (message_id, thread_id, user_id, "user", text, "complete", client_msg_id)
        try:
            execute(db, _INSERT_MESSAGE, (*row, run_id, None, ts, ts))
        except sqlite3.IntegrityError as exc:
            raise _DuplicateSend from exc
        thread = _owned_thread(db, user_id, thread_id)
        message = _message_by_id(db, message_id)
        return SendRecord(thread=thread, message=message, run_id=run_id, duplicate=False)

    async def _run(self, operation: Callable[[Db], _T]) -> _T:
        thread = self._thread
        if thread is None:
            raise StoreError(chat_sql.NOT_OPEN)
        return await thread.run(operation)

    def _connect(self) -> Db:
        db = connect(self.path, busy_timeout_ms=self._busy_timeout_ms)
        try:
            with transaction(db):
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    execute(db, statement)
                row = fetch_one(db, "SELECT MAX(version) AS version FROM schema_version")
                version = None if row is None else row["version"]
                chat_sql.check_schema_version(version)
                if version is None:
                    sql = "INSERT INTO schema_version (version) VALUES (?)"
                    execute(db, sql, (chat_sql.SCHEMA_VERSION,))
        except BaseException:
            db.close()
            raise
        return db

    def _now(self) -> str:
        # Strictly increasing within this store, so activity order never depends on
        # clock resolution or on the wall clock stepping back.
        now = max(datetime.now(UTC), self._last_now + timedelta(microseconds=1))
        self._last_now = now
        return _iso(now)


def _in_transaction(operation: Callable[[Db], _T]) -> Callable[[Db], _T]:
    def run(db: Db) -> _T:
        with transaction(db):
            return operation(db)

    return run


def _owned_thread(db: Db, user_id: str, thread_id: str) -> ThreadRecord:
    sql = "SELECT * FROM threads WHERE id = ? AND user_id = ?"
    row = fetch_one(db, sql, (thread_id, user_id))
    if row is None:
        raise chat_sql.thread_missing(thread_id)
    return chat_sql.thread_record(row)


def _touch_thread(db: Db, thread_id: str, ts: str) -> None:
    sql = "UPDATE threads SET updated_at = MAX(updated_at, ?) WHERE id = ?"
    execute(db, sql, (ts, thread_id))


def _message_by_id(db: Db, message_id: str) -> MessageRecord:
    row = fetch_one(db, "SELECT * FROM messages WHERE id = ?", (message_id,))
    if row is None:
        raise NotFoundError(f"message {message_id!r} not found")
    return chat_sql.message_record(row)


def _find_sent(db: Db, user_id: str, client_msg_id: str) -> SendRecord | None:
    sql = "SELECT * FROM messages WHERE user_id = ? AND client_msg_id = ?"
    row = fetch_one(db, sql, (user_id, client_msg_id))
    if row is None:
        return None
    message = chat_sql.message_record(row)
    return chat_sql.repeated_send(message, _owned_thread(db, user_id, message.thread_id))


def _iso(moment: datetime) -> str:
    # One fixed width in UTC, so stored times compare correctly as text.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
