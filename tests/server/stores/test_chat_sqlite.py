"""What only the SQLite store does: URL parsing, WAL mode, in-memory databases, FTS5."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from server.stores import chat_sqlite_queries, chat_sqlite_runs
from server.stores.chat_records import SendRecord
from server.stores.chat_sqlite import SqliteChatStore
from server.stores.chat_sqlite_threads import page_sql
from server.stores.chat_store import ConflictError
from server.stores.factory import chat_store_from_url
from server.stores.sqlite_connection import sqlite_path_from_url
from tests.server.stores.chat_backend import answered, checkpoint, finish, send


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
    assert _counts(db_path) == [1, 2, 1]


async def test_concurrent_sends_across_connections_to_one_thread_open_one_run(
    db_path: Path,
) -> None:
    one, two = SqliteChatStore(f"sqlite:///{db_path}"), SqliteChatStore(f"sqlite:///{db_path}")
    await one.open()
    await two.open()
    try:
        thread_id = (await answered(one, "start", "ok")).thread.id
        sends = [send((one, two)[i % 2], f"m{i}", thread=thread_id) for i in range(10)]
        results = await asyncio.gather(*sends, return_exceptions=True)
    finally:
        await one.close()
        await two.close()

    won = [r for r in results if isinstance(r, SendRecord)]
    refused = [r.run_id for r in results if isinstance(r, ConflictError)]
    assert len(won) == 1
    assert refused == [won[0].run_id] * 9
    assert _counts(db_path) == [1, 4, 2]


async def test_search_indexes_stay_in_step_with_their_tables(
    store: SqliteChatStore, db_path: Path
) -> None:
    kept = await answered(store, "Trip to Lisbon", "Take the tram")
    doomed = await send(store, "Weather on Mars", answer="a-mars")
    for text in ("Cold", "Cold and dusty"):
        await store.checkpoint_assistant_messages([checkpoint("a-mars", text)])
    await finish(store, "a-mars", "Cold, dusty and red")
    await store.rename_thread(user_id="alice", thread_id=kept.thread.id, title="Lisbon")
    await store.delete_thread(user_id="alice", thread_id=doomed.thread.id)

    # With rank 1, FTS5 also compares each index with its content table.
    for index in ("thread_search", "message_search"):
        _query(db_path, f"INSERT INTO {index} ({index}, rank) VALUES ('integrity-check', 1)")
    assert _query(db_path, "SELECT COUNT(*) FROM message_search WHERE text MATCH 'dusty'") == [(0,)]


def test_search_goes_through_the_fts5_indexes(store: SqliteChatStore, db_path: Path) -> None:
    sql = "EXPLAIN QUERY PLAN " + page_sql(after_cursor=True, matching=True)
    params = ("alice", "2026", 1, '"x"*', '"x"*', "alice", 51)
    with closing(sqlite3.connect(db_path)) as conn:
        plan = [row[3] for row in conn.execute(sql, params)]

    assert any(step.startswith("SCAN thread_search VIRTUAL TABLE") for step in plan)
    # The matching messages come from the index, then each is read by its key.
    assert any(step.startswith("SCAN message_search VIRTUAL TABLE") for step in plan)
    assert "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)" in plan
    assert not any(step.startswith("SCAN messages") for step in plan)
    # Threads are walked in page order, never sorted.
    assert not any("TEMP B-TREE" in step for step in plan)


async def test_unique_constraint_race_rolls_back_and_returns_winner(
    store: SqliteChatStore, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await send(store, "hi", key="same", run="run-1")
    real_find = chat_sqlite_queries.find_sent
    calls = 0

    def miss_once(*args: Any) -> SendRecord | None:
        # A writer whose existence check ran before the winner committed.
        nonlocal calls
        calls += 1
        return None if calls == 1 else real_find(*args)

    monkeypatch.setattr(chat_sqlite_runs, "find_sent", miss_once)
    repeat = await send(store, "hi", key="same", run="run-2")

    assert (calls, repeat.duplicate, repeat.message) == (2, True, first.message)
    assert _query(db_path, "SELECT id FROM runs") == [("run-1",)]
    assert _counts(db_path) == [1, 2, 1]


async def test_database_file_uses_wal(store: SqliteChatStore, db_path: Path) -> None:
    await send(store, "hello")
    assert _query(db_path, "PRAGMA journal_mode") == [("wal",)]


async def test_in_memory_database() -> None:
    chat = SqliteChatStore("sqlite:///:memory:")
    await chat.open()
    try:
        sent = await send(chat, "ephemeral")
        assert (await chat.list_threads("alice", query="ephem")).threads == [sent.thread]
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
