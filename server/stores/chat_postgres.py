"""PostgreSQL implementation of the chat history store, safe to share between server nodes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg

from schemas.parts import MessagePart, joined_text
from server.stores import chat_postgres_runs, chat_postgres_threads, chat_sql
from server.stores.chat_postgres_queries import TOUCH_THREAD, owned_thread
from server.stores.chat_postgres_schema import migrate
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
from server.stores.chat_store import StoreError

POSTGRES_SCHEMES: Final = ("postgresql", "postgres")

_CONNECT_TIMEOUT_S: Final = 10.0
_ERRORS: Final = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
_NEWEST_MESSAGES: Final = " ORDER BY created_at DESC, seq DESC LIMIT $2"


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
                        await migrate(conn)
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
        async with self._writing() as conn:
            return await chat_postgres_runs.store_user_message(
                conn,
                user_id=user_id,
                thread_id=thread_id,
                text=text,
                client_msg_id=client_msg_id,
                run_id=run_id,
                answer_id=answer_id,
                history_limit=history_limit,
            )

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
        async with self._writing() as conn:
            return await chat_postgres_runs.regenerate(
                conn,
                user_id=user_id,
                message_id=message_id,
                client_msg_id=client_msg_id,
                run_id=run_id,
                answer_id=answer_id,
                history_limit=history_limit,
            )

    async def finish_assistant_message(
        self, *, message_id: str, parts: Sequence[MessagePart], status: MessageStatus
    ) -> MessageRecord:
        run_ended = chat_sql.run_status(status)
        stored, text = chat_sql.parts_json(parts), joined_text(list(parts))
        sql = "UPDATE messages SET text = $2, parts = $3::jsonb, status = $4,"
        sql += " checkpoint_seq = NULL, updated_at = now() WHERE id = $1 AND role = 'assistant'"
        async with self._writing() as conn:
            row = await conn.fetchrow(
                sql + chat_sql.RETURNING_MESSAGE, message_id, text, stored, status
            )
            if row is None:
                raise chat_sql.message_missing(message_id)
            sql = "UPDATE runs SET status = $2, updated_at = now() WHERE id = $1"
            await conn.execute(sql, row["run_id"], run_ended)
            await conn.execute(TOUCH_THREAD, row["thread_id"], row["user_id"])
            return chat_sql.message_record(row)

    async def checkpoint_assistant_messages(self, updates: Sequence[AnswerCheckpoint]) -> int:
        if not updates:
            return 0
        # One statement for the whole batch. A finish that commits first makes the row
        # fail the status check when this update re-reads it, so the finish stands.
        sql = "UPDATE messages AS m SET text = u.text, parts = u.parts::jsonb,"
        sql += " checkpoint_seq = u.seq, updated_at = now()"
        sql += " FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])"
        sql += " AS u (id, text, parts, seq)"
        sql += " WHERE m.id = u.id AND m.role = 'assistant' AND m.status = 'streaming'"
        ids = [u.message_id for u in updates]
        texts = [joined_text(u.parts) for u in updates]
        parts = [chat_sql.parts_json(u.parts) for u in updates]
        seqs = [u.seq for u in updates]
        async with self._writing() as conn:
            status: str = await conn.execute(sql, ids, texts, parts, seqs)
        return int(status.rsplit(" ", 1)[-1])

    async def list_threads(
        self, user_id: str, *, limit: int = 50, before: str | None = None, query: str | None = None
    ) -> ThreadPage:
        chat_sql.check_limit(limit)
        words = search_words(query)
        async with self._snapshot() as conn:
            return await chat_postgres_threads.list_threads(conn, user_id, limit, before, words)

    async def rename_thread(self, *, user_id: str, thread_id: str, title: str) -> ThreadRecord:
        title = chat_sql.clean_title(title)
        async with self._writing() as conn:
            return await chat_postgres_threads.rename(conn, user_id, thread_id, title)

    async def delete_thread(self, *, user_id: str, thread_id: str) -> None:
        async with self._writing() as conn:
            await chat_postgres_threads.delete(conn, user_id, thread_id)

    async def streaming_runs(self, *, user_id: str, thread_id: str) -> list[str]:
        async with self._snapshot() as conn:
            return await chat_postgres_threads.streaming_runs(conn, user_id, thread_id)

    async def get_thread(self, user_id: str, thread_id: str) -> ThreadRecord:
        async with self._reading() as conn:
            return await owned_thread(conn, user_id, thread_id)

    async def list_messages(
        self, *, user_id: str, thread_id: str, limit: int = 50, before: str | None = None
    ) -> list[MessageRecord]:
        chat_sql.check_limit(limit)
        async with self._snapshot() as conn:
            await owned_thread(conn, user_id, thread_id)
            sql = chat_sql.SELECT_MESSAGE + " WHERE thread_id = $1"
            if before is None:
                rows = await conn.fetch(sql + _NEWEST_MESSAGES, thread_id, limit)
            else:
                anchor_sql = "SELECT created_at, seq FROM messages WHERE id = $1 AND thread_id = $2"
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
        sql = chat_sql.SELECT_MESSAGE + " WHERE role = 'assistant' AND status = 'streaming'"
        sql += " AND created_at < $1 ORDER BY created_at, seq LIMIT $2"
        async with self._reading() as conn:
            rows = await conn.fetch(sql, started_before.astimezone(UTC), limit)
        return [chat_sql.message_record(row) for row in rows]

    async def fail_interrupted_runs(self) -> int:
        """Mark every assistant message and run still "streaming" as "failed", each
        message keeping the parts it was last checkpointed with.

        The database is shared, so this cannot tell a run abandoned by a dead node from
        one another node is streaming right now: with several nodes, call it only when
        no run can be live anywhere (for example, all nodes were stopped). Cross-node
        recovery belongs to the run-ownership mechanism, not to this method.
        """
        async with self._writing() as conn:
            sql = "UPDATE messages SET status = 'failed', checkpoint_seq = NULL,"
            sql += " updated_at = now() WHERE status = $1 AND role = 'assistant'"
            status: str = await conn.execute(sql, "streaming")
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
