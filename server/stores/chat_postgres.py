"""PostgreSQL implementation of the chat history store, safe to share between server nodes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg

from server.stores import chat_sql
from server.stores.chat_records import MessageRecord, MessageStatus, SendRecord, ThreadRecord
from server.stores.chat_store import NotFoundError, StoreError, thread_title

POSTGRES_SCHEMES: Final = ("postgresql", "postgres")

# Any bigint unique to this schema; every node takes it before touching the schema.
_SCHEMA_LOCK_KEY: Final = int.from_bytes(b"netra-ws", "big")
_CONNECT_TIMEOUT_S: Final = 10.0
_ERRORS: Final = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

# The messages' foreign keys are deferred so a send can claim its (user_id, client_msg_id)
# slot first, before it writes the thread and run the message points to.
_SCHEMA: Final = chat_sql.chat_schema(
    seq="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    timestamp="TIMESTAMPTZ",
    deferred=" DEFERRABLE INITIALLY DEFERRED",
)
# now() is the transaction's start time on the database's clock: one clock for every
# node, and one timestamp for all rows a transaction writes.
_INSERT_MESSAGE: Final = (
    "INSERT INTO messages (id, thread_id, user_id, role, text, status, client_msg_id, run_id,"
    " reply_to, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), now())"
)
_TOUCH_THREAD: Final = (
    "UPDATE threads SET updated_at = GREATEST(updated_at, now())"
    " WHERE id = $1 AND user_id = $2 RETURNING *"
)
_NEWEST_MESSAGES: Final = " ORDER BY created_at DESC, seq DESC LIMIT $2"
_REFERENCES: Final = (
    "SELECT EXISTS (SELECT 1 FROM threads WHERE id = $1 AND user_id = $2) AS thread,"
    " EXISTS (SELECT 1 FROM runs WHERE id = $3 AND thread_id = $1) AS run,"
    " EXISTS (SELECT 1 FROM messages WHERE id = $4 AND thread_id = $1) AS reply_to"
)


def check_postgres_url(url: str) -> None:
    """Raise ValueError unless url is a ``postgresql://`` or ``postgres://`` URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in POSTGRES_SCHEMES or not rest:
        # Only the scheme is echoed: the URL may carry a password.
        expected = "expected postgresql://user:password@host:port/database"
        raise ValueError(
            f"unsupported database URL (scheme {url.split(':')[0][:20]!r}); {expected}"
        )


class PostgresChatStore:
    """ChatStore backed by PostgreSQL through an asyncpg connection pool.

    Every guarantee holds across processes as well: several server nodes may share one
    database, and the database alone arbitrates between them.
    """

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 10, ping_timeout: float = 2.0
    ) -> None:
        check_postgres_url(url)
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ValueError(f"bad pool size: min_size={min_size}, max_size={max_size}")
        self._url = url
        self._pool_args = dict(min_size=min_size, max_size=max_size, timeout=_CONNECT_TIMEOUT_S)
        self._ping_timeout = ping_timeout
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        async with self._lock:
            if self._pool is not None:
                return
            with _db_errors():
                pool = await asyncpg.create_pool(self._url, **self._pool_args)
            try:
                with _db_errors():
                    async with pool.acquire() as conn:
                        await _migrate(conn)
            except BaseException:
                await pool.close()
                raise
            self._pool = pool

    async def close(self) -> None:
        async with self._lock:
            pool, self._pool = self._pool, None
            if pool is not None:
                # Waits for every borrowed connection to be returned, then disconnects.
                await pool.close()

    async def ping(self) -> None:
        pool = self._pool
        if pool is None:
            raise StoreError(chat_sql.NOT_OPEN)
        try:
            async with asyncio.timeout(self._ping_timeout):
                await pool.fetchval("SELECT 1")
        except _ERRORS as exc:
            raise StoreError(f"database did not answer: {exc!r}") from exc

    async def send_user_message(
        self, *, user_id: str, thread_id: str | None, text: str, client_msg_id: str, run_id: str
    ) -> SendRecord:
        async with self._writing() as conn:
            new_thread = thread_id is None
            thread_id = thread_id or uuid.uuid4().hex
            row = (uuid.uuid4().hex, thread_id, user_id, "user", text, "complete", client_msg_id)
            # The (user_id, client_msg_id) slot is claimed first. A writer racing for it,
            # in any process, waits here until the holder commits, then inserts nothing
            # and reads the winner back; if the holder rolls back, the waiter goes ahead.
            sql = _INSERT_MESSAGE + " ON CONFLICT (user_id, client_msg_id) DO NOTHING RETURNING *"
            inserted = await conn.fetchrow(sql, *row, run_id, None)
            if inserted is None:
                found = await _find_sent(conn, user_id, client_msg_id)
                if found is None:
                    raise StoreError("conflicting user message could not be read back")
                return found
            if new_thread:
                sql = "INSERT INTO threads (id, user_id, title, created_at, updated_at)"
                sql += " VALUES ($1, $2, $3, now(), now()) RETURNING *"
                thread = await conn.fetchrow(sql, thread_id, user_id, thread_title(text))
            else:
                # Raising rolls back the message inserted above.
                thread = await conn.fetchrow(_TOUCH_THREAD, thread_id, user_id)
                if thread is None:
                    raise chat_sql.thread_missing(thread_id)
            sql = "INSERT INTO runs (id, thread_id, status, created_at, updated_at)"
            sql += " VALUES ($1, $2, 'streaming', now(), now())"
            await conn.execute(sql, run_id, thread_id)
            message = chat_sql.message_record(inserted)
            thread_record = chat_sql.thread_record(thread)
            return SendRecord(thread=thread_record, message=message, run_id=run_id, duplicate=False)

    async def start_assistant_message(
        self, *, user_id: str, thread_id: str, run_id: str, reply_to: str, message_id: str
    ) -> MessageRecord:
        async with self._writing() as conn:
            found = await conn.fetchrow(_REFERENCES, thread_id, user_id, run_id, reply_to)
            if not found["thread"]:
                raise chat_sql.thread_missing(thread_id)
            if not found["run"]:
                raise chat_sql.missing_in_thread("run", run_id, thread_id)
            if not found["reply_to"]:
                raise chat_sql.missing_in_thread("message", reply_to, thread_id)
            row = (message_id, thread_id, user_id, "assistant", "", "streaming", None)
            inserted = await conn.fetchrow(_INSERT_MESSAGE + " RETURNING *", *row, run_id, reply_to)
            return chat_sql.message_record(inserted)

    async def finish_assistant_message(
        self, *, message_id: str, text: str, status: MessageStatus
    ) -> MessageRecord:
        run_ended = chat_sql.run_status(status)
        async with self._writing() as conn:
            sql = "UPDATE messages SET text = $2, status = $3, updated_at = now()"
            sql += " WHERE id = $1 AND role = 'assistant' RETURNING *"
            row = await conn.fetchrow(sql, message_id, text, status)
            if row is None:
                raise NotFoundError(f"assistant message {message_id!r} not found")
            sql = "UPDATE runs SET status = $2, updated_at = now() WHERE id = $1"
            await conn.execute(sql, row["run_id"], run_ended)
            await conn.execute(_TOUCH_THREAD, row["thread_id"], row["user_id"])
            return chat_sql.message_record(row)

    async def checkpoint_assistant_messages(self, updates: Sequence[tuple[str, str]]) -> int:
        if not updates:
            return 0
        # One statement for the whole batch. A finish that commits first makes the row
        # fail the status check when this update re-reads it, so the finish stands.
        sql = "UPDATE messages AS m SET text = u.text, updated_at = now()"
        sql += " FROM unnest($1::text[], $2::text[]) AS u (id, text)"
        sql += " WHERE m.id = u.id AND m.role = 'assistant' AND m.status = 'streaming'"
        ids = [message_id for message_id, _ in updates]
        texts = [text for _, text in updates]
        async with self._writing() as conn:
            status: str = await conn.execute(sql, ids, texts)
        return int(status.rsplit(" ", 1)[-1])

    async def list_threads(self, user_id: str, limit: int = 100) -> list[ThreadRecord]:
        chat_sql.check_limit(limit)
        sql = "SELECT * FROM threads WHERE user_id = $1 ORDER BY updated_at DESC, seq DESC LIMIT $2"
        async with self._reading() as conn:
            rows = await conn.fetch(sql, user_id, limit)
        return [chat_sql.thread_record(row) for row in rows]

    async def get_thread(self, user_id: str, thread_id: str) -> ThreadRecord:
        async with self._reading() as conn:
            return await _owned_thread(conn, user_id, thread_id)

    async def list_messages(
        self, *, user_id: str, thread_id: str, limit: int = 50, before: str | None = None
    ) -> list[MessageRecord]:
        chat_sql.check_limit(limit)
        async with self._snapshot() as conn:
            await _owned_thread(conn, user_id, thread_id)
            sql = "SELECT * FROM messages WHERE thread_id = $1"
            if before is None:
                rows = await conn.fetch(sql + _NEWEST_MESSAGES, thread_id, limit)
            else:
                anchor_sql = "SELECT * FROM messages WHERE id = $1 AND thread_id = $2"
                anchor = await conn.fetchrow(anchor_sql, before, thread_id)
                if anchor is None:
                    raise chat_sql.missing_in_thread("message", before, thread_id)
                sql += " AND (created_at, seq) < ($3, $4)" + _NEWEST_MESSAGES
                at, seq = anchor["created_at"], anchor["seq"]
                rows = await conn.fetch(sql, thread_id, limit, at, seq)
        return [chat_sql.message_record(row) for row in reversed(rows)]

    async def list_streaming(
        self, started_before: datetime, limit: int = 100
    ) -> list[MessageRecord]:
        chat_sql.check_limit(limit)
        sql = "SELECT * FROM messages WHERE role = 'assistant' AND status = 'streaming'"
        sql += " AND created_at < $1 ORDER BY created_at, seq LIMIT $2"
        async with self._reading() as conn:
            rows = await conn.fetch(sql, started_before.astimezone(UTC), limit)
        return [chat_sql.message_record(row) for row in rows]

    async def fail_interrupted_runs(self) -> int:
        """Mark every assistant message and run still "streaming" as "failed", each
        message keeping the text it was last checkpointed with.

        The database is shared, so this cannot tell a run abandoned by a dead node from
        one another node is streaming right now: with several nodes, call it only when
        no run can be live anywhere (for example, all nodes were stopped). Cross-node
        recovery belongs to the run-ownership mechanism, not to this method.
        """
        async with self._writing() as conn:
            sql = "UPDATE messages SET status = 'failed', updated_at = now() WHERE status = $1"
            status: str = await conn.execute(sql + " AND role = 'assistant'", "streaming")
            # Runs that died before their assistant message was started fail too.
            sql = "UPDATE runs SET status = 'failed', updated_at = now() WHERE status = 'streaming'"
            await conn.execute(sql)
        return int(status.rsplit(" ", 1)[-1])

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[Any]:
        pool = self._pool
        if pool is None:
            raise StoreError(chat_sql.NOT_OPEN)
        with _db_errors():
            async with pool.acquire() as conn:
                yield conn

    @asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[Any]:
        # One consistent view for reads that take several statements.
        txn = {"isolation": "repeatable_read", "readonly": True}
        async with self._reading() as conn, conn.transaction(**txn):
            yield conn

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[Any]:
        async with self._reading() as conn, conn.transaction():
            yield conn


@contextmanager
def _db_errors() -> Iterator[None]:
    try:
        yield
    except _ERRORS as exc:
        raise StoreError(f"database error: {exc!r}") from exc


async def _migrate(conn: Any) -> None:
    # The transaction-scoped advisory lock serialises nodes starting together: concurrent
    # CREATE ... IF NOT EXISTS statements can otherwise fail on the catalog's unique keys.
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK_KEY)
        await conn.execute(_SCHEMA)
        version = await conn.fetchval("SELECT MAX(version) FROM schema_version")
        chat_sql.check_schema_version(version)
        if version is None:
            sql = "INSERT INTO schema_version (version) VALUES ($1)"
            await conn.execute(sql, chat_sql.SCHEMA_VERSION)


async def _owned_thread(conn: Any, user_id: str, thread_id: str) -> ThreadRecord:
    sql = "SELECT * FROM threads WHERE id = $1 AND user_id = $2"
    row = await conn.fetchrow(sql, thread_id, user_id)
    if row is None:
        raise chat_sql.thread_missing(thread_id)
    return chat_sql.thread_record(row)


async def _find_sent(conn: Any, user_id: str, client_msg_id: str) -> SendRecord | None:
    sql = "SELECT * FROM messages WHERE user_id = $1 AND client_msg_id = $2"
    row = await conn.fetchrow(sql, user_id, client_msg_id)
    if row is None:
        return None
    message = chat_sql.message_record(row)
    return chat_sql.repeated_send(message, await _owned_thread(conn, user_id, message.thread_id))
