"""Opening a database written by an earlier release: migrated in place, nothing lost."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from schemas.parts import TextPart
from server.stores.chat_store import ConflictError, StoreError
from server.stores.factory import chat_store_from_url
from tests.postgres_server import fixture_postgres_server, fixture_postgres_url  # noqa: F401
from tests.server.stores.chat_backend import Backend, fixture_backend, send  # noqa: F401

# The schema as version 1 created it, verbatim.
V1_SQLITE = """
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
    reply_to TEXT REFERENCES messages (id),
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    UNIQUE (user_id, client_msg_id));
CREATE INDEX IF NOT EXISTS messages_by_thread ON messages (thread_id, created_at, seq);
CREATE INDEX IF NOT EXISTS messages_streaming ON messages (status) WHERE status = 'streaming'
"""

V1_POSTGRES = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS threads (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL, title TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL);
CREATE INDEX IF NOT EXISTS threads_by_activity ON threads (user_id, updated_at, seq);
CREATE TABLE IF NOT EXISTS runs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id TEXT NOT NULL UNIQUE,
    thread_id TEXT NOT NULL REFERENCES threads (id),
    status TEXT NOT NULL CHECK (status IN ('streaming', 'completed', 'stopped', 'failed')),
    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL);
CREATE INDEX IF NOT EXISTS runs_streaming ON runs (status) WHERE status = 'streaming';
CREATE TABLE IF NOT EXISTS messages (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id TEXT NOT NULL UNIQUE,
    thread_id TEXT NOT NULL REFERENCES threads (id) DEFERRABLE INITIALLY DEFERRED,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('complete', 'streaming', 'stopped', 'failed')),
    client_msg_id TEXT, run_id TEXT REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
    reply_to TEXT REFERENCES messages (id),
    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, client_msg_id));
CREATE INDEX IF NOT EXISTS messages_by_thread ON messages (thread_id, created_at, seq);
CREATE INDEX IF NOT EXISTS messages_streaming ON messages (status) WHERE status = 'streaming'
"""


def _at(minute: int) -> str:
    # The stored form in both databases (SQLite keeps it as text).
    return f"'2026-01-01T10:{minute:02d}:00.000000+00:00'"


def _rows() -> str:
    threads = [
        ("t1", "alice", "Trip to Lisbon", 0, 3),
        ("t2", "alice", "Weather on Mars", 4, 6),
        ("t3", "bob", "Groceries", 1, 2),
    ]
    runs = [("r1", "t1", "completed", 0), ("r2", "t2", "streaming", 4), ("r3", "t3", "failed", 1)]
    # (id, thread, user, role, text, status, client_msg_id, run, reply_to, minute)
    messages = [
        ("m1", "t1", "alice", "user", "Trip to Lisbon", "complete", "c1", "r1", None, 0),
        ("a1", "t1", "alice", "assistant", "Lisbon is sunny", "complete", None, "r1", "m1", 1),
        ("m2", "t2", "alice", "user", "Weather on Mars", "complete", "c2", "r2", None, 4),
        ("a2", "t2", "alice", "assistant", "Cold and dus", "streaming", None, "r2", "m2", 5),
        ("m3", "t3", "bob", "user", "Groceries", "complete", "c3", "r3", None, 1),
        ("a3", "t3", "bob", "assistant", "", "failed", None, "r3", "m3", 2),
    ]

    def value(v: object) -> str:
        return "NULL" if v is None else f"'{v}'"

    sql = ["INSERT INTO schema_version (version) VALUES (1)"]
    sql += [
        "INSERT INTO threads (id, user_id, title, created_at, updated_at)"
        f" VALUES ('{i}', '{u}', '{title}', {_at(c)}, {_at(up)})"
        for i, u, title, c, up in threads
    ]
    sql += [
        "INSERT INTO runs (id, thread_id, status, created_at, updated_at)"
        f" VALUES ('{i}', '{t}', '{s}', {_at(c)}, {_at(c)})"
        for i, t, s, c in runs
    ]
    sql += [
        "INSERT INTO messages (id, thread_id, user_id, role, text, status, client_msg_id, run_id,"
        f" reply_to, created_at, updated_at) VALUES ({', '.join(value(v) for v in row[:9])},"
        f" {_at(row[9])}, {_at(row[9])})"
        for row in messages
    ]
    return ";\n".join(sql)


async def _create_version_1(backend: Backend) -> None:
    await backend.script((V1_SQLITE if backend.is_sqlite else V1_POSTGRES) + ";\n" + _rows())


async def test_a_version_1_database_is_migrated_with_everything_in_it(backend: Backend) -> None:
    await _create_version_1(backend)

    async with backend.opened() as store:
        assert await backend.query("SELECT version FROM schema_version") == [(2,)]
        assert [t.id for t in (await store.list_threads("alice")).threads] == ["t2", "t1"]
        assert [t.title for t in (await store.list_threads("bob")).threads] == ["Groceries"]

        lisbon = await store.list_messages(user_id="alice", thread_id="t1")
        assert [(m.id, m.text, m.parts, m.seq) for m in lisbon] == [
            ("m1", "Trip to Lisbon", [], None),
            ("a1", "Lisbon is sunny", [TextPart(text="Lisbon is sunny")], None),
        ]
        mars = await store.list_messages(user_id="alice", thread_id="t2")
        assert (mars[1].status, mars[1].parts) == ("streaming", [TextPart(text="Cold and dus")])
        [failed] = [m for m in await store.list_messages(user_id="bob", thread_id="t3")][1:]
        assert (failed.text, failed.parts) == ("", [])

        # The rows already there are searchable.
        for query, found in (("sunn", ["t1"]), ("lisbon", ["t1"])):
            assert [t.id for t in (await store.list_threads("alice", query=query)).threads] == found
        # An answer still streaming is found once it has ended.
        assert (await store.list_threads("alice", query="dus col")).threads == []
        assert [t.id for t in (await store.list_threads("bob", query="groc")).threads] == ["t3"]

        # Their keys, runs and answers carry on as if written by this release.
        assert (await send(store, "Trip to Lisbon", key="c1")).message.id == "m1"
        with pytest.raises(ConflictError) as caught:
            await send(store, "more", thread="t2")
        assert caught.value.run_id == "r2"
        again = await store.regenerate(
            user_id="alice",
            message_id="a1",
            client_msg_id="g1",
            run_id="r4",
            answer_id="a4",
            history_limit=50,
        )
        assert again.reply_to == lisbon[0]
        assert again.history == [lisbon[0]]
        assert again.answer is not None
        lisbon.append(again.answer)
        assert await backend.query("SELECT user_id FROM runs WHERE id = 'r1'") == [("alice",)]
        # Ended, the answer is found.
        await store.finish_assistant_message(
            message_id="a2", parts=[TextPart(text="Cold and dusty")], status="complete"
        )
        dusty = await store.list_threads("alice", query="dus col")
        assert [t.id for t in dusty.threads] == ["t2"]

    async with backend.opened() as reopened:
        assert await reopened.list_messages(user_id="alice", thread_id="t1") == lisbon
    assert await backend.query("SELECT version FROM schema_version") == [(2,)]


async def test_a_failed_migration_leaves_version_1_untouched(backend: Backend) -> None:
    await _create_version_1(backend)
    # Something in the way of the migration's last statements.
    in_the_way = "thread_search" if backend.is_sqlite else "runs_by_thread"
    await backend.script(f"CREATE TABLE {in_the_way} (x INTEGER)")

    store = chat_store_from_url(backend.url)
    with pytest.raises(StoreError):
        await store.open()

    assert await backend.query("SELECT version FROM schema_version") == [(1,)]
    with pytest.raises((sqlite3.OperationalError, asyncpg.UndefinedColumnError)):
        await backend.query("SELECT parts FROM messages")
    assert await backend.counts() == [3, 6, 3]


async def test_a_newer_database_is_refused(backend: Backend) -> None:
    async with backend.opened():
        pass
    await backend.query("UPDATE schema_version SET version = 99")

    store = chat_store_from_url(backend.url)
    with pytest.raises(StoreError, match="newer"):
        await store.open()
    with pytest.raises(StoreError):
        await store.ping()
