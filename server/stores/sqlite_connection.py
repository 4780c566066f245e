"""The SQLite plumbing under the chat store: its URL, errors, thread, transactions and queries."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import Final, TypeVar

from server.stores.chat_store import StoreError

Db = sqlite3.Connection
_URL_PREFIX: Final = "sqlite:///"
_T = TypeVar("_T")


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


class DbThread:
    """One plain sqlite3 connection, created and used only on its own worker thread.

    Callers hand over a whole operation, transaction included, as one synchronous
    function: under load every hop to the thread waits behind the other tasks'
    hops, so one hop per operation keeps the wait to one queue slot. The single
    worker also serialises operations, as the connection is shared.
    """

    def __init__(self, executor: ThreadPoolExecutor, db: Db) -> None:
        self._executor = executor
        self._db = db

    @classmethod
    async def open(cls, connect: Callable[[], Db]) -> DbThread:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        try:
            with db_errors():
                db = await asyncio.get_running_loop().run_in_executor(executor, connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, db)

    async def run(self, operation: Callable[[Db], _T]) -> _T:
        try:
            done = self._executor.submit(operation, self._db)
        except RuntimeError as exc:  # the executor was shut down
            raise StoreError("database connection is closed") from exc
        with db_errors():
            return await asyncio.wrap_future(done)

    async def close(self) -> None:
        # Queued after every operation already handed over, so those finish first;
        # shielded, so a cancelled close still closes the connection on its thread.
        done = self._executor.submit(self._db.close)
        self._executor.shutdown(wait=False)
        await asyncio.shield(asyncio.wrap_future(done))


def connect(path: str, *, busy_timeout_ms: int) -> Db:
    """Open `path` in autocommit mode (transactions are explicit) with the pragmas set."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.row_factory = sqlite3.Row
        # busy_timeout first, so switching to WAL waits for other connections' locks.
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        db.close()
        raise
    return db


@contextmanager
def transaction(db: Db) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so check-then-insert sequences
    # cannot interleave with writers on other connections.
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise


def execute(db: Db, sql: str, params: tuple[object, ...] = ()) -> int:
    return db.execute(sql, params).rowcount


def fetch_one(db: Db, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(sql, params).fetchone()
    return row


def fetch_all(db: Db, sql: str, params: tuple[object, ...]) -> list[sqlite3.Row]:
    return db.execute(sql, params).fetchall()
