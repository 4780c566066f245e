"""The answer checkpointer against a real SQLite store: batched, timely, never over an end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest

from schemas.parts import TextPart, joined_text
from server.chat.checkpoints import AnswerCheckpointer
from server.stores.chat_records import AnswerCheckpoint, MessageRecord
from server.stores.chat_sqlite import SqliteChatStore
from server.stores.chat_store import StoreError
from tests.server.stores.chat_backend import opened


class CountingStore(SqliteChatStore):
    """The SQLite store, recording each checkpoint call it gets."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.checkpoints: list[list[tuple[str, str]]] = []

    async def checkpoint_assistant_messages(self, updates: Sequence[AnswerCheckpoint]) -> int:
        self.checkpoints.append([(u.message_id, joined_text(u.parts)) for u in updates])
        return await super().checkpoint_assistant_messages(updates)


def checkpoint(message_id: str, text: str, seq: int | None = None) -> AnswerCheckpoint:
    return AnswerCheckpoint(message_id=message_id, parts=[TextPart(text=text)], seq=seq)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[CountingStore]:
    chat = CountingStore(f"sqlite:///{tmp_path}/chat.db")
    await chat.open()
    try:
        yield chat
    finally:
        await chat.close()


async def streaming(store: SqliteChatStore, name: str) -> MessageRecord:
    return await opened(store, f"question {name}", name)


async def stored(store: SqliteChatStore, answer: MessageRecord) -> MessageRecord:
    messages = await store.list_messages(user_id="alice", thread_id=answer.thread_id)
    return messages[-1]


async def written(store: SqliteChatStore, answer: MessageRecord, text: str) -> float:
    """Seconds until the stored answer reads `text` (polled; fails after 2 s)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while (await stored(store, answer)).text != text:
        assert loop.time() - started < 2, f"{text!r} not stored"
        await asyncio.sleep(0.01)
    return loop.time() - started


class Texts:
    """In-memory answers as a run holds them, tracked by a checkpointer."""

    def __init__(self, checkpoints: AnswerCheckpointer) -> None:
        self._checkpoints = checkpoints
        self.text: dict[str, str] = {}
        self._told: dict[str, Callable[[int], None]] = {}

    def track(self, message_id: str) -> None:
        self.text[message_id] = ""
        told = self._checkpoints.track(
            message_id, lambda: checkpoint(message_id, self.text[message_id])
        )
        assert told is not None
        self._told[message_id] = told

    def grow(self, message_id: str, text: str) -> None:
        self.text[message_id] += text
        self._told[message_id](len(text))


async def test_changed_answers_go_in_one_call(store: CountingStore) -> None:
    one, two, idle = [await streaming(store, name) for name in ("a1", "a2", "a3")]
    checkpoints = AnswerCheckpointer(store)
    texts = Texts(checkpoints)
    for answer in (one, two, idle):
        texts.track(answer.id)
    texts.grow("a1", "1 2")
    texts.grow("a2", "hello")
    texts.grow("a1", " 3")

    assert await checkpoints.flush() == 2
    # One call for both runs; the answer that did not change is not written.
    assert store.checkpoints == [[("a1", "1 2 3"), ("a2", "hello")]]
    assert [(await stored(store, a)).text for a in (one, two, idle)] == ["1 2 3", "hello", ""]
    assert await checkpoints.flush() == 0
    assert len(store.checkpoints) == 1

    texts.grow("a2", " world")
    assert await checkpoints.flush() == 1
    assert store.checkpoints[-1] == [("a2", "hello world")]


async def test_a_finished_answer_is_never_overwritten(store: CountingStore) -> None:
    answer = await streaming(store, "a1")
    checkpoints = AnswerCheckpointer(store)
    texts = Texts(checkpoints)
    texts.track("a1")
    texts.grow("a1", "partial")
    # A checkpoint already on its way when the run ends, as ChatService ends runs: untracked,
    # then the final text stored.
    in_flight = asyncio.create_task(checkpoints.flush())
    await asyncio.sleep(0)
    checkpoints.untrack("a1")
    texts.grow("a1", " and the rest")
    final = await store.finish_assistant_message(
        message_id="a1", parts=[TextPart(text=texts.text["a1"])], status="complete"
    )
    assert await in_flight == 1
    assert store.checkpoints == [[("a1", "partial")]]
    assert await checkpoints.flush() == 0
    assert await store.checkpoint_assistant_messages([checkpoint("a1", "late")]) == 0
    assert await stored(store, answer) == final
    assert final.text == "partial and the rest"


async def test_the_interval_writes_what_is_below_the_size_trigger(store: CountingStore) -> None:
    answer = await streaming(store, "a1")
    checkpoints = AnswerCheckpointer(store, interval_ms=200, max_chars=1000)
    texts = Texts(checkpoints)
    async with checkpoints.running():
        await asyncio.sleep(0.05)  # past the flusher's first (empty) tick
        texts.track("a1")
        texts.grow("a1", "1 2 3")
        took = await written(store, answer, "1 2 3")
    # Written at the next tick of the interval, not at once.
    assert 0.05 < took < 0.2 + 0.5
    assert store.checkpoints == [[("a1", "1 2 3")]]


async def test_enough_new_characters_write_before_the_interval(store: CountingStore) -> None:
    answer = await streaming(store, "a1")
    checkpoints = AnswerCheckpointer(store, interval_ms=60_000, max_chars=10)
    texts = Texts(checkpoints)
    async with checkpoints.running():
        await asyncio.sleep(0.05)
        texts.track("a1")
        texts.grow("a1", "1 2 3 4 ")  # 8 characters: below the trigger
        await asyncio.sleep(0.2)
        assert (await stored(store, answer)).text == ""
        texts.grow("a1", "5 6")  # 11 unwritten
        assert await written(store, answer, "1 2 3 4 5 6") < 1
    assert store.checkpoints == [[("a1", "1 2 3 4 5 6")]]


async def test_a_failed_checkpoint_is_written_next_time(store: CountingStore) -> None:
    answer = await streaming(store, "a1")
    checkpoints = AnswerCheckpointer(store)
    texts = Texts(checkpoints)
    texts.track("a1")
    texts.grow("a1", "kept")
    await store.close()
    with pytest.raises(StoreError):
        await checkpoints.flush()
    await store.open()
    assert await checkpoints.flush() == 1
    assert (await stored(store, answer)).text == "kept"


async def test_interval_zero_is_off(store: CountingStore) -> None:
    checkpoints = AnswerCheckpointer(store, interval_ms=0)
    assert not checkpoints.enabled
    assert checkpoints.track("a1", lambda: checkpoint("a1", "text")) is None
    async with checkpoints.running():
        await asyncio.sleep(0.05)
    assert await checkpoints.flush() == 0
    assert store.checkpoints == []
    with pytest.raises(ValueError):
        AnswerCheckpointer(store, interval_ms=-1)
    with pytest.raises(ValueError):
        AnswerCheckpointer(store, max_chars=0)
