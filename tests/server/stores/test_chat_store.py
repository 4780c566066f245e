"""The ChatStore guarantees, checked against every implementation."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from server.stores.chat_records import MessageRecord, MessageStatus, SendRecord
from server.stores.chat_store import ChatStore, NotFoundError, StoreError, thread_title
from server.stores.factory import chat_store_from_url
from tests.postgres_server import fixture_postgres_server, fixture_postgres_url  # noqa: F401

Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Backend:
    """A database a store can be opened on, plus raw SQL access to check what it wrote."""

    url: str

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[ChatStore]:
        chat = chat_store_from_url(self.url)
        await chat.open()
        try:
            yield chat
        finally:
            await chat.close()

    async def query(self, sql: str) -> Rows:
        if self.url.startswith("sqlite:///"):
            with closing(sqlite3.connect(self.url.removeprefix("sqlite:///"))) as db:
                return db.execute(sql).fetchall()
        conn = await asyncpg.connect(self.url)
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    async def counts(self) -> list[int]:
        sql = "SELECT (SELECT COUNT(*) FROM threads), (SELECT COUNT(*) FROM messages), "
        return list((await self.query(sql + "(SELECT COUNT(*) FROM runs)"))[0])


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend(f"sqlite:///{tmp_path / 'nested' / 'chat.db'}")
    # Looked up lazily, so the SQLite cases never start PostgreSQL.
    url: str = request.getfixturevalue("postgres_url")
    return Backend(url)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[ChatStore]:
    async with backend.opened() as chat:
        yield chat


async def send(
    store: ChatStore,
    text: str = "hello",
    *,
    user: str = "alice",
    thread: str | None = None,
    key: str | None = None,
    run: str | None = None,
) -> SendRecord:
    key = key or f"c-{text}"
    return await store.send_user_message(
        user_id=user, thread_id=thread, text=text, client_msg_id=key, run_id=run or f"r-{key}"
    )


async def reply(store: ChatStore, sent: SendRecord, message_id: str = "a1") -> MessageRecord:
    return await store.start_assistant_message(
        user_id=sent.thread.user_id,
        thread_id=sent.thread.id,
        run_id=sent.run_id,
        reply_to=sent.message.id,
        message_id=message_id,
    )


async def test_send_creates_thread_message_and_run(store: ChatStore, backend: Backend) -> None:
    text = "  Plan   my\ttrip \nto Lisbon"
    sent = await send(store, text, key="c1", run="r1")

    m, thread = sent.message, sent.thread
    assert (sent.duplicate, sent.run_id, thread.user_id) == (False, "r1", "alice")
    assert (m.thread_id, m.user_id, m.role, m.status) == (thread.id, "alice", "user", "complete")
    assert (m.text, m.client_msg_id, m.run_id, m.reply_to) == (text, "c1", "r1", None)
    assert thread.title == "Plan my trip"
    for stamp in (thread.created_at, thread.updated_at, m.created_at, m.updated_at):
        assert stamp.utcoffset() == timedelta(0)
    assert await store.get_thread("alice", thread.id) == thread
    assert await store.list_messages(user_id="alice", thread_id=thread.id) == [m]
    runs = await backend.query("SELECT id, thread_id, status FROM runs")
    assert runs == [("r1", thread.id, "streaming")]


async def test_send_to_existing_thread_bumps_activity(store: ChatStore) -> None:
    first = await send(store, "first")
    second = await send(store, "second", thread=first.thread.id)

    assert (second.thread.id, second.thread.title) == (first.thread.id, "first")
    assert second.thread.created_at == first.thread.created_at
    assert second.thread.updated_at > first.thread.updated_at
    messages = await store.list_messages(user_id="alice", thread_id=first.thread.id)
    assert [m.text for m in messages] == ["first", "second"]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("  Hello   world \t again ", "Hello world again"),
        ("\n\n  first\tline \nsecond line", "first line"),
        ("x" * 60, "x" * 60),
        ("x" * 61, "x" * 59 + "…"),
        ("word " * 30, ("word " * 12).strip() + "…"),
        (" \n\t ", "New chat"),
    ],
)
def test_thread_title_rules(text: str, title: str) -> None:
    assert thread_title(text) == title
    assert len(title) <= 60


async def test_repeat_send_returns_first_record(store: ChatStore, backend: Backend) -> None:
    first = await send(store, "hi", key="same", run="run-1")
    repeat = await send(store, "hi again", key="same", run="run-2")

    assert repeat.duplicate
    assert repeat.model_copy(update={"duplicate": False}) == first
    assert await backend.query("SELECT id FROM runs") == [("run-1",)]
    assert await backend.counts() == [1, 1, 1]


async def test_concurrent_identical_sends_store_one_message(
    store: ChatStore, backend: Backend
) -> None:
    sends = (send(store, "hi", key="same", run=f"run-{i}") for i in range(20))
    results = await asyncio.gather(*sends)

    assert sum(not r.duplicate for r in results) == 1
    assert len({(r.thread.id, r.message.id, r.run_id) for r in results}) == 1
    assert await backend.counts() == [1, 1, 1]


async def test_other_users_thread_is_not_found(store: ChatStore) -> None:
    thread_id = (await send(store, "mine")).thread.id

    with pytest.raises(NotFoundError):
        await send(store, "intrusion", user="mallory", thread=thread_id)
    with pytest.raises(NotFoundError):
        await store.list_messages(user_id="mallory", thread_id=thread_id)
    with pytest.raises(NotFoundError):
        await store.get_thread("mallory", thread_id)
    with pytest.raises(NotFoundError):
        await send(store, "lost", thread="no-such-thread")
    assert await store.list_threads("mallory") == []
    assert len(await store.list_messages(user_id="alice", thread_id=thread_id)) == 1
    # The refused sends left nothing behind, not even their idempotency keys.
    assert not (await send(store, "intrusion", user="mallory")).duplicate


@pytest.mark.parametrize(
    ("status", "run_status"),
    [("complete", "completed"), ("stopped", "stopped"), ("failed", "failed")],
)
async def test_assistant_message_start_and_finish(
    store: ChatStore, backend: Backend, status: MessageStatus, run_status: str
) -> None:
    sent = await send(store, "question", run="r1")
    thread_id = sent.thread.id

    a = await reply(store, sent)
    assert (a.id, a.thread_id, a.user_id, a.role) == ("a1", thread_id, "alice", "assistant")
    assert (a.text, a.status, a.run_id, a.reply_to) == ("", "streaming", "r1", sent.message.id)
    assert a.client_msg_id is None

    finished = await store.finish_assistant_message(message_id="a1", text="answer", status=status)
    changes = {"text": "answer", "status": status, "updated_at": finished.updated_at}
    assert finished == a.model_copy(update=changes)
    assert finished.updated_at > a.updated_at
    assert await backend.query("SELECT status FROM runs WHERE id = 'r1'") == [(run_status,)]
    assert (await store.get_thread("alice", thread_id)).updated_at == finished.updated_at
    history = await store.list_messages(user_id="alice", thread_id=thread_id)
    assert [m.id for m in history] == [sent.message.id, "a1"]


async def test_assistant_message_rejects_bad_references(store: ChatStore) -> None:
    sent = await send(store, "question", run="r1")
    ids = {"thread_id": sent.thread.id, "run_id": "r1", "reply_to": sent.message.id}

    for bad in ({"run_id": "nope"}, {"reply_to": "nope"}, {"thread_id": "nope"}):
        with pytest.raises(NotFoundError):
            await store.start_assistant_message(user_id="alice", message_id="a1", **ids | bad)
    with pytest.raises(NotFoundError):
        await store.start_assistant_message(user_id="mallory", message_id="a1", **ids)
    with pytest.raises(NotFoundError):  # a user message cannot be finished
        await store.finish_assistant_message(message_id=sent.message.id, text="", status="failed")
    with pytest.raises(ValueError):
        await store.finish_assistant_message(message_id="a1", text="x", status="streaming")


async def test_history_pagination_oldest_first(store: ChatStore) -> None:
    thread_id = (await send(store, "m0")).thread.id
    for i in range(1, 7):
        await send(store, f"m{i}", thread=thread_id)

    async def page(limit: int, before: str | None = None) -> list[str]:
        messages = await store.list_messages(
            user_id="alice", thread_id=thread_id, limit=limit, before=before
        )
        return [m.id for m in messages]

    everything = await store.list_messages(user_id="alice", thread_id=thread_id)
    ids = [m.id for m in everything]
    assert [m.text for m in everything] == [f"m{i}" for i in range(7)]
    assert await page(3) == ids[4:]
    assert await page(3, before=ids[4]) == ids[1:4]
    assert await page(3, before=ids[1]) == ids[:1]
    assert await page(3, before=ids[0]) == []
    with pytest.raises(NotFoundError):
        await page(3, before="unknown-message")
    with pytest.raises(ValueError):
        await page(0)
    with pytest.raises(ValueError):
        await store.list_threads("alice", limit=0)


async def test_threads_ordered_by_latest_activity(store: ChatStore) -> None:
    a = await send(store, "a")
    b = await send(store, "b")
    await send(store, "c")
    await send(store, "other user", user="bob")

    async def titles(limit: int = 100) -> list[str]:
        return [t.title for t in await store.list_threads("alice", limit=limit)]

    assert await titles() == ["c", "b", "a"]
    await send(store, "a again", thread=a.thread.id)
    assert await titles() == ["a", "c", "b"]
    await reply(store, b, "b-reply")
    assert await titles() == ["a", "c", "b"]
    await store.finish_assistant_message(message_id="b-reply", text="done", status="complete")
    assert await titles() == ["b", "a", "c"]
    assert await titles(limit=2) == ["b", "a"]
    assert [t.title for t in await store.list_threads("bob")] == ["other user"]


async def test_list_streaming_returns_older_unfinished_answers(store: ChatStore) -> None:
    answers = [await reply(store, await send(store, f"q{i}"), f"a{i}") for i in range(4)]
    await store.finish_assistant_message(message_id="a1", text="done", status="complete")

    async def streaming(before: datetime, limit: int = 100) -> list[str]:
        return [m.id for m in await store.list_streaming(before, limit)]

    assert await streaming(answers[3].created_at) == ["a0", "a2"]
    assert await streaming(answers[3].created_at + timedelta(seconds=1)) == ["a0", "a2", "a3"]
    assert await streaming(answers[3].created_at + timedelta(seconds=1), limit=1) == ["a0"]
    assert await streaming(answers[0].created_at) == []
    with pytest.raises(ValueError):
        await streaming(answers[0].created_at, limit=0)


async def test_data_survives_reopen(backend: Backend) -> None:
    async with backend.opened() as first:
        sent = await send(first, "persist me", run="r1")
        await reply(first, sent)
        answer = await first.finish_assistant_message(message_id="a1", text="ok", status="complete")
        thread = await first.get_thread("alice", sent.thread.id)

    async with backend.opened() as second:
        assert await second.list_threads("alice") == [thread]
        history = await second.list_messages(user_id="alice", thread_id=thread.id)
        assert history == [sent.message, answer]
        assert (await send(second, "persist me")).duplicate
        assert await second.fail_interrupted_runs() == 0
    assert await backend.query("SELECT version FROM schema_version") == [(1,)]


async def test_fail_interrupted_runs_after_reopen(backend: Backend) -> None:
    async with backend.opened() as crashed:
        sent = await send(crashed, "q1", run="r1")
        await reply(crashed, sent)
        await send(crashed, "q2", thread=sent.thread.id, run="r2")

    async with backend.opened() as restarted:
        assert await restarted.fail_interrupted_runs() == 1
        assert await restarted.fail_interrupted_runs() == 0
        history = await restarted.list_messages(user_id="alice", thread_id=sent.thread.id)
    assert [m.status for m in history] == ["complete", "failed", "complete"]
    assert history[1].id == "a1"
    runs = await backend.query("SELECT id, status FROM runs ORDER BY id")
    assert runs == [("r1", "failed"), ("r2", "failed")]


async def test_ping_reflects_connection_state(backend: Backend) -> None:
    chat = chat_store_from_url(backend.url)
    with pytest.raises(StoreError):
        await chat.ping()
    await chat.open()
    await chat.open()
    await chat.ping()
    await chat.close()
    await chat.close()
    with pytest.raises(StoreError):
        await chat.ping()
    with pytest.raises(StoreError):
        await chat.list_threads("alice")


async def test_checkpoint_writes_streaming_answers_only(store: ChatStore, backend: Backend) -> None:
    first, second, done = [await send(store, f"q{i}") for i in range(3)]
    a1, a2 = await reply(store, first, "a1"), await reply(store, second, "a2")
    await reply(store, done, "a3")
    ended = await store.finish_assistant_message(message_id="a3", text="end", status="stopped")
    thread = await store.get_thread("alice", first.thread.id)

    assert await store.checkpoint_assistant_messages([]) == 0
    updates = [("a1", "one"), ("a2", "two"), ("a3", "late"), ("nope", "lost")]
    assert await store.checkpoint_assistant_messages(updates) == 2
    assert await store.checkpoint_assistant_messages([("a1", "one more")]) == 1

    async def answer(sent: SendRecord) -> MessageRecord:
        messages = await store.list_messages(user_id="alice", thread_id=sent.thread.id)
        return messages[-1]

    one, two = await answer(first), await answer(second)
    assert [(m.text, m.status) for m in (one, two)] == [
        ("one more", "streaming"),
        ("two", "streaming"),
    ]
    assert one.updated_at > a1.updated_at
    assert two.updated_at > a2.updated_at
    # A finished answer is never overwritten, and checkpoints do not count as thread activity.
    assert await answer(done) == ended
    assert await store.get_thread("alice", first.thread.id) == thread
    rows = await backend.query("SELECT id, status FROM runs ORDER BY id")
    assert [status for _, status in rows] == ["streaming", "streaming", "stopped"]


async def test_one_checkpoint_is_one_transaction(store: ChatStore, backend: Backend) -> None:
    for i in range(3):
        await reply(store, await send(store, f"q{i}"), f"a{i}")

    await store.checkpoint_assistant_messages([(f"a{i}", f"text {i}") for i in range(3)])
    # Both stores stamp every row a transaction writes with one time.
    rows = await backend.query("SELECT updated_at FROM messages WHERE role = 'assistant'")
    assert len(rows) == 3
    assert len(set(rows)) == 1


async def test_interrupted_answer_keeps_its_checkpointed_text(backend: Backend) -> None:
    async with backend.opened() as crashed:
        sent = await send(crashed, "q1", run="r1")
        await reply(crashed, sent)
        await crashed.checkpoint_assistant_messages([("a1", "1 2 3")])

    async with backend.opened() as restarted:
        assert await restarted.fail_interrupted_runs() == 1
        history = await restarted.list_messages(user_id="alice", thread_id=sent.thread.id)
        # Failed now, so a checkpoint arriving late from the dead process changes nothing.
        assert await restarted.checkpoint_assistant_messages([("a1", "1 2 3 4")]) == 0
        assert (await restarted.list_messages(user_id="alice", thread_id=sent.thread.id)) == history
    assert [(m.status, m.text) for m in history] == [("complete", "q1"), ("failed", "1 2 3")]
