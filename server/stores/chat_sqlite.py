"""SQLite implementation of the chat history store."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, TypeVar

from schemas.parts import MessagePart, joined_text
from server.stores import chat_sql, chat_sqlite_runs, chat_sqlite_threads
from server.stores.chat_records import (
    AnswerCheckpoint,
    MessageRecord,
    MessageStatus,
    RegenerateRecord,
    SendRecord,
    ThreadPage,
    ThreadRecord,
)
from server.stores.chat_search import search_words
from server.stores.chat_sqlite_queries import (
    iso,
    message_by_id,
    owned_thread,
    touch_thread,
)
from server.stores.chat_sqlite_schema import migrate
from server.stores.chat_store import StoreError
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

_NEWEST_MESSAGES: Final = " ORDER BY created_at DESC, seq DESC LIMIT ?"
_T = TypeVar("_T")


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
        self,
        *,
        user_id: str,
        thread_id: str | None,
        text: str,
        client_msg_id: str,
        run_id: str,
        answer_id: str,
        history_limit: int,
    ) -> SendRecord:
        chat_sql.check_limit(history_limit)

        def send(db: Db) -> SendRecord:
            return chat_sqlite_runs.store_user_message(
                db,
                self._now,
                user_id=user_id,
                thread_id=thread_id,
                text=text,
                client_msg_id=client_msg_id,
                run_id=run_id,
                answer_id=answer_id,
                history_limit=history_limit,
            )

        return await self._run(send)

    async def regenerate(
        self,
        *,
        user_id: str,
        message_id: str,
        client_msg_id: str,
        run_id: str,
        answer_id: str,
        history_limit: int,
    ) -> RegenerateRecord:
        chat_sql.check_limit(history_limit)

        def regenerate(db: Db) -> RegenerateRecord:
            return chat_sqlite_runs.regenerate(
                db,
                self._now,
                user_id=user_id,
                message_id=message_id,
                client_msg_id=client_msg_id,
                run_id=run_id,
                answer_id=answer_id,
                history_limit=history_limit,
            )

        return await self._run(regenerate)

    async def finish_assistant_message(
        self, *, message_id: str, parts: Sequence[MessagePart], status: MessageStatus
    ) -> MessageRecord:
        run_ended = chat_sql.run_status(status)
        stored, text = chat_sql.parts_json(parts), joined_text(list(parts))

        def finish(db: Db) -> MessageRecord:
            sql = "SELECT run_id, thread_id FROM messages WHERE id = ? AND role = 'assistant'"
            row = fetch_one(db, sql, (message_id,))
            if row is None:
                raise chat_sql.message_missing(message_id)
            ts = self._now()
            sql = "UPDATE messages SET text = ?, parts = ?, status = ?, checkpoint_seq = NULL,"
            sql += " updated_at = ? WHERE id = ?"
            execute(db, sql, (text, stored, status, ts, message_id))
            sql = "UPDATE runs SET status = ?, updated_at = ? WHERE id = ?"
            execute(db, sql, (run_ended, ts, row["run_id"]))
            touch_thread(db, row["thread_id"], ts)
            return message_by_id(db, message_id)

        return await self._run(_in_transaction(finish))

    async def checkpoint_assistant_messages(self, updates: Sequence[AnswerCheckpoint]) -> int:
        if not updates:
            return 0
        changes = [
            (joined_text(u.parts), chat_sql.parts_json(u.parts), u.seq, u.message_id)
            for u in updates
        ]

        def checkpoint(db: Db) -> int:
            ts = self._now()
            sql = "UPDATE messages SET text = ?, parts = ?, checkpoint_seq = ?, updated_at = ?"
            sql += " WHERE id = ? AND role = 'assistant' AND status = 'streaming'"
            params = [
                (text, parts, seq, ts, message_id) for text, parts, seq, message_id in changes
            ]
            return db.executemany(sql, params).rowcount

        return await self._run(_in_transaction(checkpoint))

    async def list_threads(
        self, user_id: str, *, limit: int = 50, before: str | None = None, query: str | None = None
    ) -> ThreadPage:
        chat_sql.check_limit(limit)
        words = search_words(query)
        return await self._run(
            lambda db: chat_sqlite_threads.list_threads(db, user_id, limit, before, words)
        )

    async def rename_thread(self, *, user_id: str, thread_id: str, title: str) -> ThreadRecord:
        title = chat_sql.clean_title(title)
        rename = chat_sqlite_threads.rename
        return await self._run(_in_transaction(lambda db: rename(db, user_id, thread_id, title)))

    async def delete_thread(self, *, user_id: str, thread_id: str) -> None:
        delete = chat_sqlite_threads.delete
        await self._run(_in_transaction(lambda db: delete(db, user_id, thread_id)))

    async def streaming_runs(self, *, user_id: str, thread_id: str) -> list[str]:
        runs = chat_sqlite_threads.streaming_runs
        return await self._run(lambda db: runs(db, user_id, thread_id))

    async def get_thread(self, user_id: str, thread_id: str) -> ThreadRecord:
        return await self._run(lambda db: owned_thread(db, user_id, thread_id))

    async def list_messages(
        self, *, user_id: str, thread_id: str, limit: int = 50, before: str | None = None
    ) -> list[MessageRecord]:
        chat_sql.check_limit(limit)

        def newest(db: Db) -> list[sqlite3.Row]:
            owned_thread(db, user_id, thread_id)
            sql = chat_sql.SELECT_MESSAGE + " WHERE thread_id = ?"
            if before is None:
                return fetch_all(db, sql + _NEWEST_MESSAGES, (thread_id, limit))
            anchor_sql = "SELECT created_at, seq FROM messages WHERE id = ? AND thread_id = ?"
            anchor = fetch_one(db, anchor_sql, (before, thread_id))
            if anchor is None:
                raise chat_sql.missing_in_thread("message", before, thread_id)
            sql += " AND (created_at, seq) < (?, ?)"
            params = (thread_id, anchor["created_at"], anchor["seq"], limit)
            return fetch_all(db, sql + _NEWEST_MESSAGES, params)

        rows = await self._run(newest)
        return [chat_sql.message_record(row) for row in reversed(rows)]

    async def list_streaming(
        self, started_before: datetime, limit: int = 100
    ) -> list[MessageRecord]:
        chat_sql.check_limit(limit)
        sql = chat_sql.SELECT_MESSAGE + " WHERE role = 'assistant' AND status = 'streaming'"
        sql += " AND created_at < ? ORDER BY created_at, seq LIMIT ?"
        params = (iso(started_before), limit)
        rows = await self._run(lambda db: fetch_all(db, sql, params))
        return [chat_sql.message_record(row) for row in rows]

    async def fail_interrupted_runs(self) -> int:
        def fail(db: Db) -> int:
            ts = self._now()
            # Each keeps the parts it was last checkpointed with.
            sql = "UPDATE messages SET status = 'failed', checkpoint_seq = NULL, updated_at = ?"
            count = execute(db, sql + " WHERE status = 'streaming' AND role = 'assistant'", (ts,))
            # Runs that died before their assistant message was started fail too.
            sql = "UPDATE runs SET status = 'failed', updated_at = ? WHERE status = 'streaming'"
            execute(db, sql, (ts,))
            return count

        return await self._run(_in_transaction(fail))

    async def _run(self, operation: Callable[[Db], _T]) -> _T:
        thread = self._thread
        if thread is None:
            raise StoreError(chat_sql.NOT_OPEN)
        return await thread.run(operation)

    def _connect(self) -> Db:
        db = connect(self.path, busy_timeout_ms=self._busy_timeout_ms)
        try:
            with transaction(db):
                migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    def _now(self) -> str:
        # Strictly increasing within this store, so activity order never depends on
        # clock resolution or on the wall clock stepping back.
        now = max(datetime.now(UTC), self._last_now + timedelta(microseconds=1))
        self._last_now = now
        return iso(now)


def _in_transaction(operation: Callable[[Db], _T]) -> Callable[[Db], _T]:
    def run(db: Db) -> _T:
        with transaction(db):
            return operation(db)

    return run
