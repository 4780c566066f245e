"""The ChatStore guarantees, checked against every implementation."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from server.stores.chat_records import MessageStatus
from server.stores.chat_store import ChatStore, NotFoundError, StoreError, thread_title
from server.stores.factory import chat_store_from_url
from tests.postgres_server import fixture_postgres_server, fixture_postgres_url  # noqa: F401
from tests.server.stores.chat_backend import (  # noqa: F401
    Backend,
    answered,
    finish,
    fixture_backend,
    fixture_store,
)
from tests.server.stores.chat_backend import opened as opened
from tests.server.stores.chat_backend import send as send


async def test_send_creates_thread_message_run_and_answer(
    store: ChatStore, backend: Backend
) -> None:
    text = "  Plan   my\ttrip \nto Lisbon"
    sent = await send(store, text, key="c1", run="r1", answer="a1")

    m, thread = sent.message, sent.thread
    assert (sent.duplicate, sent.run_id, thread.user_id) == (False, "r1", "alice")
    assert (m.thread_id, m.user_id, m.role, m.status) == (thread.id, "alice", "user", "complete")
    assert (m.text, m.client_msg_id, m.run_id, m.reply_to) == (text, "c1", "r1", None)
    assert (m.parts, m.seq) == ([], None)
    assert thread.title == "Plan my trip"
    for stamp in (thread.created_at, thread.updated_at, m.created_at, m.updated_at):
        assert stamp.utcoffset() == timedelta(0)
    assert await store.get_thread("alice", thread.id) == thread
    # The run's answer is opened in the same transaction, with the model's input read.
    a = sent.answer
    assert a is not None
    assert (a.id, a.thread_id, a.user_id, a.role) == ("a1", thread.id, "alice", "assistant")
    assert (a.text, a.status, a.run_id, a.reply_to) == ("", "streaming", "r1", m.id)
    # PostgreSQL stamps a transaction's rows with one time; the insertion order breaks ties.
    assert a.created_at >= m.created_at
    assert sent.history == [m]
    assert await store.list_messages(user_id="alice", thread_id=thread.id) == [m, a]
    runs = await backend.query("SELECT id, thread_id, status FROM runs")
    assert runs == [("r1", thread.id, "streaming")]


async def test_send_to_existing_thread_bumps_activity(store: ChatStore) -> None:
    first = await answered(store, "first", "one")
    second = await send(store, "second", thread=first.thread.id)

    assert (second.thread.id, second.thread.title) == (first.thread.id, "first")
    assert second.thread.created_at == first.thread.created_at
    assert second.thread.updated_at > first.thread.updated_at
    messages = await store.list_messages(user_id="alice", thread_id=first.thread.id)
    assert [m.text for m in messages] == ["first", "one", "second", ""]
    # The model's input: the thread up to the new message, its answer not yet in it.
    assert second.history == messages[:-1]


async def test_a_send_reads_the_newest_messages_up_to_its_own(store: ChatStore) -> None:
    thread_id = (await answered(store, "m0", "m1")).thread.id
    for i in (2, 4):
        await answered(store, f"m{i}", f"m{i + 1}", thread=thread_id)

    sent = await send(store, "m6", thread=thread_id, history_limit=3)

    assert [m.text for m in sent.history] == ["m4", "m5", "m6"]
    with pytest.raises(ValueError):
        await send(store, "m7", history_limit=0)


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
    # A repeat opens nothing: the first send's answer is already running.
    assert (repeat.answer, repeat.history) == (None, [])
    first_as_sent = first.model_copy(update={"answer": None, "history": []})
    assert repeat.model_copy(update={"duplicate": False}) == first_as_sent
    assert await backend.query("SELECT id FROM runs") == [("run-1",)]
    assert await backend.counts() == [1, 2, 1]


async def test_concurrent_identical_sends_store_one_message(
    store: ChatStore, backend: Backend
) -> None:
    sends = (send(store, "hi", key="same", run=f"run-{i}") for i in range(20))
    results = await asyncio.gather(*sends)

    assert sum(not r.duplicate for r in results) == 1
    assert len({(r.thread.id, r.message.id, r.run_id) for r in results}) == 1
    assert await backend.counts() == [1, 2, 1]


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
    assert (await store.list_threads("mallory")).threads == []
    assert len(await store.list_messages(user_id="alice", thread_id=thread_id)) == 2
    # The refused sends left nothing behind, not even their idempotency keys.
    assert not (await send(store, "intrusion", user="mallory")).duplicate


@pytest.mark.parametrize(
    ("status", "run_status"),
    [("complete", "completed"), ("stopped", "stopped"), ("failed", "failed")],
)
async def test_assistant_message_start_and_finish(
    store: ChatStore, backend: Backend, status: MessageStatus, run_status: str
) -> None:
    sent = await send(store, "question", run="r1", answer="a1")
    thread_id = sent.thread.id

    a = sent.answer
    assert a is not None
    assert (a.id, a.thread_id, a.user_id, a.role) == ("a1", thread_id, "alice", "assistant")
    assert (a.text, a.status, a.run_id, a.reply_to) == ("", "streaming", "r1", sent.message.id)
    assert (a.client_msg_id, a.parts, a.seq) == (None, [], None)

    finished = await finish(store, "a1", "answer", status)
    changes = {
        "text": "answer",
        "parts": finished.parts,
        "status": status,
        "updated_at": finished.updated_at,
    }
    assert finished == a.model_copy(update=changes)
    assert finished.updated_at > a.updated_at
    assert await backend.query("SELECT status FROM runs WHERE id = 'r1'") == [(run_status,)]
    assert (await store.get_thread("alice", thread_id)).updated_at == finished.updated_at
    history = await store.list_messages(user_id="alice", thread_id=thread_id)
    assert [m.id for m in history] == [sent.message.id, "a1"]


async def test_finish_refuses_user_messages_and_streaming(store: ChatStore) -> None:
    sent = await send(store, "question", run="r1", answer="a1")

    with pytest.raises(NotFoundError):  # a user message cannot be finished
        await finish(store, sent.message.id, "", "failed")
    with pytest.raises(ValueError):
        await finish(store, "a1", "x", "streaming")


async def test_history_pagination_oldest_first(store: ChatStore) -> None:
    thread_id = (await answered(store, "m0", "m1")).thread.id
    for i in range(2, 8, 2):
        await answered(store, f"m{i}", f"m{i + 1}", thread=thread_id)

    async def page(limit: int, before: str | None = None) -> list[str]:
        messages = await store.list_messages(
            user_id="alice", thread_id=thread_id, limit=limit, before=before
        )
        return [m.id for m in messages]

    everything = await store.list_messages(user_id="alice", thread_id=thread_id)
    ids = [m.id for m in everything]
    assert [m.text for m in everything] == [f"m{i}" for i in range(8)]
    assert await page(3) == ids[5:]
    assert await page(3, before=ids[5]) == ids[2:5]
    assert await page(3, before=ids[2]) == ids[:2]
    assert await page(3, before=ids[0]) == []
    with pytest.raises(NotFoundError):
        await page(3, before="unknown-message")
    with pytest.raises(ValueError):
        await page(0)
    with pytest.raises(ValueError):
        await store.list_threads("alice", limit=0)


async def test_threads_ordered_by_latest_activity(store: ChatStore) -> None:
    a = await answered(store, "a", "ok")
    await send(store, "b", answer="a-b")
    await send(store, "c")
    await send(store, "other user", user="bob")

    async def titles(limit: int = 100) -> list[str]:
        return [t.title for t in (await store.list_threads("alice", limit=limit)).threads]

    assert await titles() == ["c", "b", "a"]
    await send(store, "a again", thread=a.thread.id)
    assert await titles() == ["a", "c", "b"]
    await finish(store, "a-b", "done")
    assert await titles() == ["b", "a", "c"]
    assert await titles(limit=2) == ["b", "a"]
    assert [t.title for t in (await store.list_threads("bob")).threads] == ["other user"]


async def test_list_streaming_returns_older_unfinished_answers(store: ChatStore) -> None:
    answers = [await opened(store, f"q{i}", f"a{i}") for i in range(4)]
    await finish(store, "a1", "done")

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
        sent = await send(first, "persist me", run="r1", answer="a1")
        answer = await finish(first, "a1", "ok")
        thread = await first.get_thread("alice", sent.thread.id)

    async with backend.opened() as second:
        assert (await second.list_threads("alice")).threads == [thread]
        history = await second.list_messages(user_id="alice", thread_id=thread.id)
        assert history == [sent.message, answer]
        assert (await send(second, "persist me")).duplicate
        assert await second.fail_interrupted_runs() == 0
    assert await backend.query("SELECT version FROM schema_version") == [(2,)]


async def test_fail_interrupted_runs_after_reopen(backend: Backend) -> None:
    async with backend.opened() as crashed:
        sent = await send(crashed, "q1", run="r1", answer="a1")
        await send(crashed, "q2", run="r2")

    async with backend.opened() as restarted:
        assert await restarted.fail_interrupted_runs() == 2
        assert await restarted.fail_interrupted_runs() == 0
        history = await restarted.list_messages(user_id="alice", thread_id=sent.thread.id)
        # Nothing is streaming any more, so the thread takes a new message.
        await send(restarted, "q3", thread=sent.thread.id, run="r3")
    assert [m.status for m in history] == ["complete", "failed"]
    assert history[1].id == "a1"
    runs = await backend.query("SELECT id, status FROM runs ORDER BY id")
    assert runs == [("r1", "failed"), ("r2", "failed"), ("r3", "streaming")]


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
