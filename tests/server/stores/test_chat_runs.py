"""One answer at a time per thread, and regenerating an answer."""

from __future__ import annotations

import asyncio

import pytest

from server.stores.chat_records import RegenerateRecord
from server.stores.chat_store import ChatStore, ConflictError, NotFoundError
from tests.postgres_server import fixture_postgres_server, fixture_postgres_url  # noqa: F401
from tests.server.stores.chat_backend import (  # noqa: F401
    Backend,
    answered,
    finish,
    fixture_backend,
    fixture_store,
    send,
)


async def regenerate(
    store: ChatStore,
    message_id: str,
    key: str,
    run: str | None = None,
    user: str = "alice",
    answer: str | None = None,
) -> RegenerateRecord:
    return await store.regenerate(
        user_id=user,
        message_id=message_id,
        client_msg_id=key,
        run_id=run or f"r-{key}",
        answer_id=answer or f"a-{key}",
        history_limit=50,
    )


async def test_a_thread_with_a_streaming_run_refuses_new_messages(
    store: ChatStore, backend: Backend
) -> None:
    sent = await send(store, "first", key="k1", run="r1", answer="a1")

    with pytest.raises(ConflictError) as caught:
        await send(store, "second", thread=sent.thread.id, key="k2")
    assert caught.value.run_id == "r1"
    # The send that started the run is still answered as a duplicate.
    assert (await send(store, "first", key="k1", run="r9")).duplicate
    assert await backend.counts() == [1, 2, 1]
    assert await store.streaming_runs(user_id="alice", thread_id=sent.thread.id) == ["r1"]

    await finish(store, "a1", "done")
    second = await send(store, "second", thread=sent.thread.id, key="k2", run="r2")
    assert (second.duplicate, second.thread.id) == (False, sent.thread.id)
    assert await store.streaming_runs(user_id="alice", thread_id=sent.thread.id) == ["r2"]


async def test_concurrent_sends_to_one_thread_open_one_run(
    store: ChatStore, backend: Backend
) -> None:
    thread_id = (await answered(store, "start", "ok")).thread.id
    sends = [send(store, f"m{i}", thread=thread_id, run=f"run-{i}") for i in range(10)]
    results = await asyncio.gather(*sends, return_exceptions=True)

    won = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, ConflictError)]
    assert (len(won), len(refused)) == (1, 9)
    assert {r.run_id for r in refused} == {won[0].run_id}
    assert await store.streaming_runs(user_id="alice", thread_id=thread_id) == [won[0].run_id]
    assert await backend.counts() == [1, 4, 2]


async def test_regenerations_answer_the_same_user_message(
    store: ChatStore, backend: Backend
) -> None:
    sent = await answered(store, "question", "first answer", key="q")
    thread = await store.get_thread("alice", sent.thread.id)

    again = await regenerate(store, "a-q", "g1", "r-g1", answer="a2")
    assert (again.duplicate, again.run_id, again.reply_to) == (False, "r-g1", sent.message)
    # The model's input ends at the message answered again: the first answer is not in it.
    assert again.history == [sent.message]
    assert again.thread.updated_at > thread.updated_at
    assert again.thread.model_copy(update={"updated_at": thread.updated_at}) == thread
    assert await store.streaming_runs(user_id="alice", thread_id=thread.id) == ["r-g1"]

    second = again.answer
    assert second is not None
    assert (second.id, second.status, second.run_id) == ("a2", "streaming", "r-g1")
    await finish(store, "a2", "second answer")
    third = await regenerate(store, "a2", "g2", "r-g2")
    assert third.reply_to == sent.message

    history = await store.list_messages(user_id="alice", thread_id=thread.id)
    assert [m.text for m in history] == ["question", "first answer", "second answer", ""]
    assert third.answer == history[-1]
    assert {m.reply_to for m in history[1:]} == {sent.message.id} == {second.reply_to}
    runs = await backend.query("SELECT id, status FROM runs ORDER BY seq")
    assert runs == [("r-q", "completed"), ("r-g1", "completed"), ("r-g2", "streaming")]


async def test_regenerate_is_idempotent(store: ChatStore, backend: Backend) -> None:
    sent = await answered(store, "question", "answer", key="q")
    first = await regenerate(store, "a-q", "g1", "run-1")

    repeat = await regenerate(store, "a-q", "g1", "run-2", answer="other")
    assert repeat.duplicate
    # A repeat opens nothing: no answer, no history.
    assert (repeat.answer, repeat.history) == (None, [])
    assert (repeat.thread, repeat.reply_to, repeat.run_id) == (
        first.thread,
        first.reply_to,
        first.run_id,
    )
    # Repeated while its own run streams: still the duplicate, not a conflict.
    assert (await regenerate(store, "a-q", "g1", "run-3")).run_id == "run-1"
    assert await backend.counts() == [1, 3, 2]

    # A regeneration's key and a send's key are apart, even when equal.
    with pytest.raises(ConflictError):
        await regenerate(store, "a-q", "q", "run-4")
    assert (await send(store, "other", key="g1", answer="a-other")).duplicate is False
    assert sent.message.client_msg_id == "q"


async def test_concurrent_identical_regenerations_open_one_run(
    store: ChatStore, backend: Backend
) -> None:
    await answered(store, "question", "answer", key="q")

    results = await asyncio.gather(*(regenerate(store, "a-q", "g", f"run-{i}") for i in range(10)))

    assert sum(not r.duplicate for r in results) == 1
    assert len({r.run_id for r in results}) == 1
    assert await backend.counts() == [1, 3, 2]


async def test_regenerate_waits_for_the_running_answer(store: ChatStore) -> None:
    sent = await answered(store, "question", "answer", key="q")
    await send(store, "follow-up", thread=sent.thread.id, key="f", run="r-f")

    with pytest.raises(ConflictError) as caught:
        await regenerate(store, "a-q", "g1")
    assert caught.value.run_id == "r-f"

    await finish(store, "a-f", "sure")
    regenerated = await regenerate(store, "a-q", "g1")
    with pytest.raises(ConflictError) as caught:
        await send(store, "more", thread=sent.thread.id)
    assert caught.value.run_id == regenerated.run_id


async def test_regenerate_refuses_what_is_not_the_users_answer(
    store: ChatStore, backend: Backend
) -> None:
    sent = await answered(store, "question", "answer", key="q")
    before = await backend.counts()

    for user, message_id in (
        ("mallory", "a-q"),  # another user's answer
        ("alice", sent.message.id),  # a user message
        ("alice", "no-such-message"),
    ):
        with pytest.raises(NotFoundError):
            await regenerate(store, message_id, "g1", user=user)
    assert await backend.counts() == before
    # The refusals left no key behind.
    assert not (await regenerate(store, "a-q", "g1")).duplicate
