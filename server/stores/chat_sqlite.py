"""SQLite implementation of the chat history store."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import aiosqlite

from server.stores.chat_records import MessageRecord, MessageStatus, SendRecord, ThreadRecord
from server.stores.chat_store import NotFoundError, StoreError, thread_title

SCHEMA_VERSION: Final = 1

_Db = aiosqlite.Connection
_URL_PREFIX: Final = "sqlite:///"
_RUN_STATUS: Final = {"complete": "completed", "stopped": "stopped", "failed": "failed"}

# `seq` (AUTOINCREMENT) breaks ties between rows written in the same microsecond.
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS threads (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL,
    title TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS threads_by_activity ON threads (user_id, updated_at, seq);
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    thread_id TEXT NOT NULL REFERENCES threads (id),
    status TEXT NOT NULL CHECK (status IN ('streaming', 'completed', 'stopped', 'failed')),
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_streaming ON runs (status) WHERE status = 'streaming';
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    thread_id TEXT NOT NULL REFERENCES threads (id), user_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('complete', 'streaming', 'stopped', 'failed')),
    client_msg_id TEXT, run_id TEXT REFERENCES runs (id),
    reply_to TEXT REFERENCES messages (id), created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    UNIQUE (user_id, client_msg_id));
CREATE INDEX IF NOT EXISTS messages_by_thread ON messages (thread_id, created_at, seq);
CREATE INDEX IF NOT EXISTS messages_streaming ON messages (status) WHERE status = 'streaming';
"""
_INSERT_MESSAGE: Final = (
    "INSERT INTO messages (id, thread_id, user_id, role, text, status, client_msg_id,"
    " run_id, reply_to, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_NEWEST_MESSAGES: Final = " ORDER BY created_at DESC, seq DESC LIMIT ?"


def sqlite_path_from_url(url: str) -> str:
    """Return the sqlite3 path for ``sqlite:///relative.db``, ``sqlite:////abs.db`` or
    ``sqlite:///:memory:``; raise ValueError for any other URL."""
    if not url.startswith(_URL_PREFIX):
        # Only the scheme is echoed: other URLs may carry credentials.
        scheme = url.partition(":")[0][:20]
        raise ValueError(
            f"unsupported database URL (scheme {scheme!r}); expected "
            "sqlite:///relative/path.db, sqlite:////absolute/path.db or sqlite:///:memory:"
        )
    path = url.removeprefix(_URL_PREFIX)
    if not path or "?" in path:
        raise ValueError(f"database URL {url!r} must name a file and have no query string")
    return path


class _DuplicateSend(Exception):
    """The (user_id, client_msg_id) pair was committed by a concurrent writer."""


class SqliteChatStore:
    """ChatStore backed by one SQLite database through a single aiosqlite connection."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 5000, ping_timeout: float = 2.0) -> None:
        self.path = sqlite_path_from_url(url)
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._ping_timeout = ping_timeout
        self._db: _Db | None = None
        # Reads take the lock too: on the shared connection they would otherwise
        # observe another task's half-finished transaction.
        self._lock = asyncio.Lock()
        self._last_now = datetime.min.replace(tzinfo=UTC)

    async def open(self) -> None:
        async with self._lock:
            if self._db is not None:
                return
            if self.path != ":memory:":
                await asyncio.to_thread(Path(self.path).parent.mkdir, parents=True, exist_ok=True)
            with _db_errors():
                db = await aiosqlite.connect(self.path, isolation_level=None)
            db.row_factory = sqlite3.Row
            try:
                with _db_errors():
                    await self._prepare(db)
            except BaseException:
                await db.close()
                raise
            self._db = db

    async def close(self) -> None:
        # Under the lock, so an in-flight transaction finishes before the connection goes.
        async with self._lock:
            db, self._db = self._db, None
            if db is not None:
                await db.close()

    async def ping(self) -> None:
        db = self._db
        if db is None:
            raise StoreError("chat store is not open")
        try:
            async with asyncio.timeout(self._ping_timeout):
                await _one(db, "SELECT version FROM schema_version LIMIT 1")
        except (sqlite3.Error, ValueError, TimeoutError) as exc:
            raise StoreError(f"database did not answer: {exc!r}") from exc

    async def send_user_message(
        self, *, user_id: str, thread_id: str | None, text: str, client_msg_id: str, run_id: str
    ) -> SendRecord:
        try:
            async with self._writing() as db:
                found = await _find_sent(db, user_id, client_msg_id)
                if found is not None:
                    return found
                ts = self._now()
                if thread_id is None:
                    thread_id = uuid.uuid4().hex
                    sql = "INSERT INTO threads (id, user_id, title, created_at, updated_at)"
                    params = (thread_id, user_id, thread_title(text), ts, ts)
                    await _exec(db, sql + " VALUES (?, ?, ?, ?, ?)", params)
                else:
                    await _owned_thread(db, user_id, thread_id)
                    await _touch_thread(db, thread_id, ts)
                sql = "INSERT INTO runs (id, thread_id, status, created_at, updated_at)"
                await _exec(
                    db, sql + " VALUES (?, ?, 'streaming', ?, ?)", (run_id, thread_id, ts, ts)
                )
                message_id = uuid.uuid4().hex
                row = (message_id, thread_id, user_id, "user", text, "complete", client_msg_id)
                try:
                    await _exec(db, _INSERT_MESSAGE, (*row, run_id, None, ts, ts))
                except sqlite3.IntegrityError as exc:
                    raise _DuplicateSend from exc
                thread = await _owned_thread(db, user_id, thread_id)
                message = await _message_by_id(db, message_id)
                return SendRecord(thread=thread, message=message, run_id=run_id, duplicate=False)
        except _DuplicateSend:
            # BEGIN IMMEDIATE plus the check above already serialise writers; the UNIQUE
            # constraint is the final arbiter for any writer that got past them.
            async with self._reading() as db:
                found = await _find_sent(db, user_id, client_msg_id)
            if found is None:
                raise StoreError("conflicting user message could not be read back") from None
            return found

    async def start_assistant_message(
        self, *, user_id: str, thread_id: str, run_id: str, reply_to: str, message_id: str
    ) -> MessageRecord:
        async with self._writing() as db:
            await _owned_thread(db, user_id, thread_id)
            sql = "SELECT 1 FROM runs WHERE id = ? AND thread_id = ?"
            if await _one(db, sql, (run_id, thread_id)) is None:
                raise NotFoundError(f"run {run_id!r} not found in thread {thread_id!r}")
            sql = "SELECT 1 FROM messages WHERE id = ? AND thread_id = ?"
            if await _one(db, sql, (reply_to, thread_id)) is None:
                raise NotFoundError(f"message {reply_to!r} not found in thread {thread_id!r}")
            ts = self._now()
            row = (message_id, thread_id, user_id, "assistant", "", "streaming", None)
            await _exec(db, _INSERT_MESSAGE, (*row, run_id, reply_to, ts, ts))
            return await _message_by_id(db, message_id)

    async def finish_assistant_message(
        self, *, message_id: str, text: str, status: MessageStatus
    ) -> MessageRecord:
        run_status = _RUN_STATUS.get(status)
        if run_status is None:
            raise ValueError(f"cannot finish a message with status {status!r}")
        async with self._writing() as db:
            sql = "SELECT * FROM messages WHERE id = ? AND role = 'assistant'"
            row = await _one(db, sql, (message_id,))
            if row is None:
                raise NotFoundError(f"assistant message {message_id!r} not found")
            ts = self._now()
            sql = "UPDATE messages SET text = ?, status = ?, updated_at = ? WHERE id = ?"
            await _exec(db, sql, (text, status, ts, message_id))
            sql = "UPDATE runs SET status = ?, updated_at = ? WHERE id = ?"
            await _exec(db, sql, (run_status, ts, row["run_id"]))
            await _touch_thread(db, row["thread_id"], ts)
            return await _message_by_id(db, message_id)

    async def list_threads(self, user_id: str, limit: int = 100) -> list[ThreadRecord]:
        _check_limit(limit)
        sql = "SELECT * FROM threads WHERE user_id = ? ORDER BY updated_at DESC, seq DESC LIMIT ?"
        async with self._reading() as db:
            rows = await _all(db, sql, (user_id, limit))
        return [ThreadRecord.model_validate(_fields(row)) for row in rows]

    async def get_thread(self, user_id: str, thread_id: str) -> ThreadRecord:
        async with self._reading() as db:
            return await _owned_thread(db, user_id, thread_id)

    async def list_messages(
        self, *, user_id: str, thread_id: str, limit: int = 50, before: str | None = None
    ) -> list[MessageRecord]:
        _check_limit(limit)
        async with self._reading() as db:
            await _owned_thread(db, user_id, thread_id)
            sql = "SELECT * FROM messages WHERE thread_id = ?"
            if before is None:
                rows = await _all(db, sql + _NEWEST_MESSAGES, (thread_id, limit))
            else:
                anchor_sql = "SELECT created_at, seq FROM messages WHERE id = ? AND thread_id = ?"
                anchor = await _one(db, anchor_sql, (before, thread_id))
                if anchor is None:
                    raise NotFoundError(f"message {before!r} not found in thread {thread_id!r}")
                sql += " AND (created_at < ? OR (created_at = ? AND seq < ?))"
                at, seq = anchor["created_at"], anchor["seq"]
                rows = await _all(db, sql + _NEWEST_MESSAGES, (thread_id, at, at, seq, limit))
        return [_message(row) for row in reversed(rows)]

    async def list_streaming(
        self, started_before: datetime, limit: int = 100
    ) -> list[MessageRecord]:
        _check_limit(limit)
        sql = (
            "SELECT * FROM messages WHERE role = 'assistant' AND status = 'streaming'"
            " AND created_at < ? ORDER BY created_at, seq LIMIT ?"
        )
        async with self._reading() as db:
            rows = await _all(db, sql, (_iso(started_before), limit))
        return [_message(row) for row in rows]

    async def fail_interrupted_runs(self) -> int:
        async with self._writing() as db:
            ts = self._now()
            sql = "UPDATE messages SET status = 'failed', updated_at = ? WHERE status = 'streaming'"
            count = await _exec(db, sql + " AND role = 'assistant'", (ts,))
            # Runs that died before their assistant message was started fail too.
            sql = "UPDATE runs SET status = 'failed', updated_at = ? WHERE status = 'streaming'"
            await _exec(db, sql, (ts,))
        return count

    async def _prepare(self, db: _Db) -> None:
        # busy_timeout first, so switching to WAL waits for other connections' locks.
        await _exec(db, f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        await _exec(db, "PRAGMA journal_mode = WAL")
        await _exec(db, "PRAGMA synchronous = NORMAL")
        await _exec(db, "PRAGMA foreign_keys = ON")
        async with _transaction(db):
            for statement in filter(str.strip, _SCHEMA.split(";")):
                await _exec(db, statement)
            row = await _one(db, "SELECT MAX(version) AS version FROM schema_version")
            version = None if row is None else row["version"]
            if version is None:
                sql = "INSERT INTO schema_version (version) VALUES (?)"
                await _exec(db, sql, (SCHEMA_VERSION,))
            elif version > SCHEMA_VERSION:
                raise StoreError(f"database schema version {version} is newer than supported")

    def _now(self) -> str:
        # Strictly increasing within this store, so activity order never depends on
        # clock resolution or on the wall clock stepping back.
        now = max(datetime.now(UTC), self._last_now + timedelta(microseconds=1))
        self._last_now = now
        return _iso(now)

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[_Db]:
        async with self._lock:
            if self._db is None:
                raise StoreError("chat store is not open")
            with _db_errors():
                yield self._db

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[_Db]:
        async with self._reading() as db, _transaction(db):
            yield db


@contextmanager
def _db_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"database error: {exc}") from exc


@asynccontextmanager
async def _transaction(db: _Db) -> AsyncIterator[None]:
    # IMMEDIATE takes the write lock up front, so check-then-insert sequences
    # cannot interleave with writers on other connections.
    await _exec(db, "BEGIN IMMEDIATE")
    try:
        yield
        await _exec(db, "COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):
            await _exec(db, "ROLLBACK")
        raise


async def _exec(db: _Db, sql: str, params: tuple[object, ...] = ()) -> int:
    async with db.execute(sql, params) as cursor:
        return cursor.rowcount


async def _one(db: _Db, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Row | None:
    async with db.execute(sql, params) as cursor:
        row: sqlite3.Row | None = await cursor.fetchone()
        return row


async def _all(db: _Db, sql: str, params: tuple[object, ...]) -> list[sqlite3.Row]:
    return list(await db.execute_fetchall(sql, params))


async def _owned_thread(db: _Db, user_id: str, thread_id: str) -> ThreadRecord:
    row = await _one(db, "SELECT * FROM threads WHERE id = ? AND user_id = ?", (thread_id, user_id))
    if row is None:
        raise NotFoundError(f"thread {thread_id!r} not found")
    return ThreadRecord.model_validate(_fields(row))


async def _touch_thread(db: _Db, thread_id: str, ts: str) -> None:
    sql = "UPDATE threads SET updated_at = MAX(updated_at, ?) WHERE id = ?"
    await _exec(db, sql, (ts, thread_id))


async def _message_by_id(db: _Db, message_id: str) -> MessageRecord:
    row = await _one(db, "SELECT * FROM messages WHERE id = ?", (message_id,))
    if row is None:
        raise NotFoundError(f"message {message_id!r} not found")
    return _message(row)


async def _find_sent(db: _Db, user_id: str, client_msg_id: str) -> SendRecord | None:
    sql = "SELECT * FROM messages WHERE user_id = ? AND client_msg_id = ?"
    row = await _one(db, sql, (user_id, client_msg_id))
    if row is None:
        return None
    message = _message(row)
    if message.run_id is None:
        raise StoreError(f"user message {message.id!r} has no run")
    thread = await _owned_thread(db, user_id, message.thread_id)
    return SendRecord(thread=thread, message=message, run_id=message.run_id, duplicate=True)


def _iso(moment: datetime) -> str:
    # One fixed width in UTC, so stored times compare correctly as text.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")


def _message(row: sqlite3.Row) -> MessageRecord:
    return MessageRecord.model_validate(_fields(row))


def _fields(row: sqlite3.Row) -> dict[str, Any]:
    # Timestamps stay ISO strings here; the models parse them into aware datetimes.
    data = dict(row)
    data.pop("seq", None)
    return data
