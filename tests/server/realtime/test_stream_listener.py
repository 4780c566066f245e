"""Emitter.listen: in-process code follows a user's stream from where it opened, in seq order,
nothing lost or doubled when it falls behind, rewinds, or the events it needs are gone."""

from __future__ import annotations

import asyncio

import pytest

from schemas.chat import AgentDelta
from server.metrics import Metrics
from server.realtime.emitter import Emitter
from server.realtime.stream_listener import StreamGap
from server.stores.replay_memory import MemoryReplayStore
from tests.server.realtime.test_emitter import RecordingSio


def _emitter(max_events: int = 100) -> tuple[Emitter, MemoryReplayStore]:
    replay = MemoryReplayStore(max_events=max_events, ttl_s=60)
    return Emitter(RecordingSio(), replay, Metrics()), replay


async def _say(emitter: Emitter, *texts: str, user: str = "alice") -> None:
    for text in texts:
        await emitter.to_user(user, AgentDelta(run_id="r", text=text))


async def test_a_listener_hears_what_follows_its_opening_and_only_its_users_stream() -> None:
    emitter, _ = _emitter()
    await _say(emitter, "before")
    async with emitter.listen("alice") as listener:
        assert listener.opened_at == 1
        await _say(emitter, "a", "b")
        await _say(emitter, "bob's", user="bob")
        first, second = await listener.next(), await listener.next()
    assert [(e.seq, e.data["text"]) for e in (first, second)] == [(2, "a"), (3, "b")]
    assert first.name == "agent:delta"


async def test_a_listener_waits_for_the_next_event() -> None:
    emitter, _ = _emitter()
    async with emitter.listen("alice") as listener:
        waiting = asyncio.create_task(listener.next())
        await asyncio.sleep(0.01)
        assert not waiting.done()
        await _say(emitter, "late")
        assert (await asyncio.wait_for(waiting, 1)).data["text"] == "late"


async def test_a_listener_that_holds_too_many_reads_the_rest_from_the_store() -> None:
    emitter, _ = _emitter()
    async with emitter.listen("alice") as listener:
        listener._max_held = 3  # a reader far behind the stream
        await _say(emitter, *[str(i) for i in range(10)])
        seqs = [(await listener.next()).seq for _ in range(10)]
    assert seqs == list(range(1, 11))


async def test_rewind_replays_from_an_earlier_seq_then_goes_on_live() -> None:
    emitter, _ = _emitter()
    await _say(emitter, "1", "2", "3")
    async with emitter.listen("alice") as listener:
        await _say(emitter, "4")
        await listener.rewind(1)
        await _say(emitter, "5")
        seqs = [(await listener.next()).seq for _ in range(4)]
    assert seqs == [2, 3, 4, 5]


async def test_a_rewind_past_the_window_is_a_gap() -> None:
    emitter, _ = _emitter(max_events=2)
    await _say(emitter, "1", "2", "3", "4")
    async with emitter.listen("alice") as listener:
        await listener.rewind(0)
        with pytest.raises(StreamGap):
            await listener.next()


async def test_a_closed_listener_hears_nothing_more() -> None:
    emitter, _ = _emitter()
    async with emitter.listen("alice") as listener:
        pass
    await _say(emitter, "after")
    assert emitter._listeners == {}
    assert listener._held == type(listener._held)()
