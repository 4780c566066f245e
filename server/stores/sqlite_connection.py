"""The SQLite plumbing under the chat store: its URL, errors, transactions and queries."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Final

import aiosqlite

from server.stores.chat_store import StoreError

Db = aiosqlite.Connection
_URL_PREFIX: Final = "sqlite:///"


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


@contextmanager
def db_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"database error: {exc}") from exc


@asynccontextmanager
async def transaction(db: Db) -> AsyncIterator[None]:
    # IMMEDIATE takes the write lock up front, so check-then-insert sequences
    # cannot interleave with writers on other connections.
    await execute(db, "BEGIN IMMEDIATE")
    try:
        yield
        await execute(db, "COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):
            await execute(db, "ROLLBACK")
        raise


async def execute(db: Db, sql: str, params: tuple[object, ...] = ()) -> int:
    async with db.execute(sql, params) as cursor:
        return cursor.rowcount


async def fetch_one(db: Db, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Row | None:
    async with db.execute(sql, params) as cursor:
        row: sqlite3.Row | None = await cursor.fetchone()
        return row


async def fetch_all(db: Db, sql: str, params: tuple[object, ...]) -> list[sqlite3.Row]:
    return list(await db.execute_fetchall(sql, params))
