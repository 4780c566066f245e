"""Answers made of parts: stored whole, read back as models, checkpointed with their seq;
a checkpoint never overwrites an answer that has ended."""

from __future__ import annotations

from datetime import timedelta

from schemas.parts import (
    ApprovalPart,
    MessagePart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    joined_text,
)
from server.stores.chat_records import AnswerCheckpoint, MessageRecord, SendRecord
from server.stores.chat_store import ChatStore
from tests.postgres_server import fixture_postgres_server, fixture_postgres_url  # noqa: F401
from tests.server.stores.chat_backend import (  # noqa: F401
    Backend,
    checkpoint,
    finish,
    fixture_backend,
    fixture_store,
    send,
)

_SECOND = timedelta(seconds=1)

# One of every kind of part, with JSON values of every kind, quotes and non-ASCII text.
EVERY_PART: list[MessagePart] = [
    ReasoningPart(text="The user wants the weather; look it up."),
    ToolCallPart(
        call_id="call-1",
        name="weather",
        args={"city": "Lisboa", "days": 3, "units": None, "detail": {"hourly": [True, 1.5]}},
    ),
    ApprovalPart(call_id="call-1", name="weather", args={"city": "Lisboa"}, decision="approved"),
    ToolResultPart(
        call_id="call-1",
        name="weather",
        result={"sky": "clear", "temps": [21, 23.5], "alerts": []},
        is_error=False,
    ),
    TextPart(text='Sunny ☀️, "clear" skies, \\ 21-23 °C'),
    ToolResultPart(call_id="call-2", name="maps", result="timed out", is_error=True),
    ApprovalPart(call_id="call-3", name="book", args={}, decision="pending"),
    TextPart(text="\nAnything else?"),
]


async def test_every_part_kind_round_trips(store: ChatStore) -> None:
    sent = await send(store, "weather in Lisbon?", answer="a1")

    finished = await store.finish_assistant_message(
        message_id="a1", parts=EVERY_PART, status="complete"
    )

    assert finished.parts == EVERY_PART
    assert finished.text == joined_text(EVERY_PART)
    assert finished.text == 'Sunny ☀️, "clear" skies, \\ 21-23 °C\nAnything else?'
    history = await store.list_messages(user_id="alice", thread_id=sent.thread.id)
    assert history[-1] == finished


async def test_checkpoint_stores_parts_and_seq(store: ChatStore) -> None:
    started = (await send(store, "weather in Lisbon?", answer="a1")).answer
    assert started is not None
    assert (started.parts, started.seq) == ([], None)

    update = AnswerCheckpoint(message_id="a1", parts=EVERY_PART[:5], seq=12)
    assert await store.checkpoint_assistant_messages([update]) == 1

    [streaming] = await store.list_streaming(started.created_at + _SECOND)
    assert (streaming.parts, streaming.seq) == (EVERY_PART[:5], 12)
    assert streaming.text == joined_text(EVERY_PART[:5])
    # A checkpoint taken before any event of the run holds no seq.
    assert await store.checkpoint_assistant_messages([checkpoint("a1", "x", None)]) == 1
    [streaming] = await store.list_streaming(started.created_at + _SECOND)
    assert streaming.seq is None


async def test_finish_clears_seq_and_a_late_checkpoint_changes_nothing(store: ChatStore) -> None:
    sent = await send(store, "q", answer="a1")
    await store.checkpoint_assistant_messages([checkpoint("a1", "partial", 3)])

    finished = await store.finish_assistant_message(
        message_id="a1", parts=EVERY_PART, status="stopped"
    )
    assert (finished.seq, finished.status) == (None, "stopped")

    late = AnswerCheckpoint(message_id="a1", parts=[TextPart(text="late")], seq=4)
    assert await store.checkpoint_assistant_messages([late]) == 0
    history = await store.list_messages(user_id="alice", thread_id=sent.thread.id)
    assert history[-1] == finished


async def test_an_answer_may_end_with_no_parts(store: ChatStore) -> None:
    await send(store, "q", answer="a1")

    failed = await finish(store, "a1", "", "failed")

    assert (failed.parts, failed.text, failed.status) == ([], "", "failed")


async def test_checkpoint_writes_streaming_answers_only(store: ChatStore, backend: Backend) -> None:
    first, second, done = [await send(store, f"q{i}", answer=f"a{i + 1}") for i in range(3)]
    a1, a2 = first.answer, second.answer
    assert a1 is not None
    assert a2 is not None
    ended = await finish(store, "a3", "end", "stopped")
    thread = await store.get_thread("alice", first.thread.id)

    assert await store.checkpoint_assistant_messages([]) == 0
    updates = [checkpoint("a1", "one"), checkpoint("a2", "two", 4)]
    updates += [checkpoint("a3", "late", 9), checkpoint("nope", "lost")]
    assert await store.checkpoint_assistant_messages(updates) == 2
    assert await store.checkpoint_assistant_messages([checkpoint("a1", "one more", 7)]) == 1

    async def answer(sent: SendRecord) -> MessageRecord:
        messages = await store.list_messages(user_id="alice", thread_id=sent.thread.id)
        return messages[-1]

    one, two = await answer(first), await answer(second)
    assert [(m.text, m.status, m.seq) for m in (one, two)] == [
        ("one more", "streaming", 7),
        ("two", "streaming", 4),
    ]
    assert one.parts == checkpoint("a1", "one more").parts
    assert one.updated_at > a1.updated_at
    assert two.updated_at > a2.updated_at
    # A finished answer is never overwritten, and checkpoints do not count as thread activity.
    assert await answer(done) == ended
    assert await store.get_thread("alice", first.thread.id) == thread
    rows = await backend.query("SELECT id, status FROM runs ORDER BY id")
    assert [status for _, status in rows] == ["streaming", "streaming", "stopped"]


async def test_one_checkpoint_is_one_transaction(store: ChatStore, backend: Backend) -> None:
    for i in range(3):
        await send(store, f"q{i}", answer=f"a{i}")

    await store.checkpoint_assistant_messages([checkpoint(f"a{i}", f"text {i}") for i in range(3)])
    # Both stores stamp every row a transaction writes with one time.
    rows = await backend.query("SELECT updated_at FROM messages WHERE role = 'assistant'")
    assert len(rows) == 3
    assert len(set(rows)) == 1


async def test_interrupted_answer_keeps_its_checkpointed_parts(backend: Backend) -> None:
    async with backend.opened() as crashed:
        sent = await send(crashed, "q1", run="r1", answer="a1")
        await crashed.checkpoint_assistant_messages([checkpoint("a1", "1 2 3", 5)])

    async with backend.opened() as restarted:
        assert await restarted.fail_interrupted_runs() == 1
        history = await restarted.list_messages(user_id="alice", thread_id=sent.thread.id)
        # Failed now, so a checkpoint arriving late from the dead process changes nothing.
        late = [checkpoint("a1", "1 2 3 4", 6)]
        assert await restarted.checkpoint_assistant_messages(late) == 0
        assert (await restarted.list_messages(user_id="alice", thread_id=sent.thread.id)) == history
    assert [(m.status, m.text) for m in history] == [("complete", "q1"), ("failed", "1 2 3")]
    assert history[1].parts == checkpoint("a1", "1 2 3").parts
