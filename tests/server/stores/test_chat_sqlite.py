"""What only the SQLite store does: URL parsing, WAL mode, in-memory databases."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from server.stores import chat_sqlite
from server.stores.chat_records import SendRecord
from server.stores.chat_sqlite import SqliteChatStore
from server.stores.factory import chat_store_from_url
from server.stores.sqlite_connection import sqlite_path_from_url
from tests.server.stores.test_chat_store import send


def _query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def _counts(path: Path) -> list[int]:
    tables = ("threads", "messages", "runs")
    return [_query(path, f"SELECT COUNT(*) FROM {table}")[0][0] for table in tables]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "chat.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqliteChatStore]:
    chat = SqliteChatStore(f"sqlite:///{db_path}")
    await chat.open()
    try:
        yield chat
    finally:
        await chat.close()


async def test_concurrent_sends_across_connections_store_one_message(db_path: Path) -> None:
    one, two = SqliteChatStore(f"sqlite:///{db_path}"), SqliteChatStore(f"sqlite:///{db_path}")
    await one.open()
    await two.open()
    try:
        sends = (send((one, two)[i % 2], "hi", key="same", run=f"run-{i}") for i in range(20))
        results = await asyncio.gather(*sends)
    finally:
        await one.close()
        await two.close()

    assert sum(not r.duplicate for r in results) == 1
    assert len({r.message.id for r in results}) == 1
    assert _counts(db_path) == [1, 1, 1]


async def test_unique_constraint_race_rolls_back_and_returns_winner(
    store: SqliteChatStore, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await send(store, "hi", key="same", run="run-1")
    real_find = chat_sqlite._find_sent
    calls = 0

    def miss_once(*args: Any) -> SendRecord | None:
        # A writer whose existence check ran before the winner committed.
        nonlocal calls
        calls += 1
        return None if calls == 1 else real_find(*args)

    monkeypatch.setattr(chat_sqlite, "_find_sent", miss_once)
    repeat = await send(store, "hi", key="same", run="run-2")

    assert (calls, repeat.duplicate, repeat.message) == (2, True, first.message)
    assert _query(db_path, "SELECT id FROM runs") == [("run-1",)]
    assert _counts(db_path) == [1, 1, 1]


async def test_database_file_uses_wal(store: SqliteChatStore, db_path: Path) -> None:
    await send(store, "hello")
    assert _query(db_path, "PRAGMA journal_mode") == [("wal",)]


async def test_in_memory_database() -> None:
    chat = SqliteChatStore("sqlite:///:memory:")
    await chat.open()
    try:
        sent = await send(chat, "ephemeral")
        assert await chat.list_threads("alice") == [sent.thread]
    finally:
        await chat.close()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/chat.db", "data/chat.db"),
        ("sqlite:////var/lib/netra/chat.db", "/var/lib/netra/chat.db"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_path_from_url(url: str, path: str) -> None:
    assert sqlite_path_from_url(url) == path
    chat = chat_store_from_url(url)
    assert isinstance(chat, SqliteChatStore)
    assert chat.path == path


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://admin:hunter2@db/chat",
        "sqlite://x.db",
        "sqlite:///",
        "sqlite:///x.db?a=b",
        "x",
    ],
)
def test_bad_url_raises_value_error(url: str) -> None:
    with pytest.raises(ValueError, match="database URL") as caught:
        SqliteChatStore(url)
    assert "hunter2" not in str(caught.value)
