"""The recovery cases, as one table run against every ReplayStore implementation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from server.stores.replay_memory import MemoryReplayStore
from server.stores.replay_store import ReplayStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    store: ReplayStore
    epoch: Callable[[], str]
    clock: FakeClock
    restart: Callable[[], ReplayStore]


MAX_EVENTS = 50
TTL_S = 60.0


def _memory() -> Backend:
    clock = FakeClock()

    def make() -> MemoryReplayStore:
        return MemoryReplayStore(MAX_EVENTS, TTL_S, clock=clock)

    store = make()
    return Backend(store=store, epoch=lambda: store.epoch, clock=clock, restart=make)


@pytest.fixture(params=[_memory], ids=["memory"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    made: Backend = request.param()
    await made.store.open()
    yield made
    await made.store.close()


async def _append(store: ReplayStore, user: str, count: int) -> None:
    for i in range(count):
        await store.append(user, "agent:delta", {"run_id": "r", "text": str(i)}, datetime.now(UTC))


@dataclass(frozen=True)
class Case:
    name: str
    appended: int
    last_seq: int | Callable[[int], int]
    expect: list[int] | None  # seqs replayed, None = reset
    epoch: str | None = None  # None: the store's own
    age_s: float = 0.0


CASES = [
    Case("fresh user, position zero", 0, 0, []),
    Case("same position", 10, 10, []),
    Case("from a position", 10, 4, [5, 6, 7, 8, 9, 10]),
    Case("from the start", 5, 0, [1, 2, 3, 4, 5]),
    Case("position already gone", MAX_EVENTS + 20, 5, None),
    Case("oldest kept event is next", MAX_EVENTS + 20, 20, list(range(21, MAX_EVENTS + 21))),
    Case("epoch changed", 10, 4, None, epoch="some-other-epoch"),
    Case("expired", 10, 4, None, age_s=TTL_S + 1),
    Case("expired but nothing missed", 10, 10, [], age_s=TTL_S + 1),
    Case("position ahead of head", 10, 11, None),
    Case("negative position", 10, -1, None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_recovery(backend: Backend, case: Case) -> None:
    await _append(backend.store, "alice", case.appended)
    backend.clock.now += case.age_s
    last_seq = case.last_seq(case.appended) if callable(case.last_seq) else case.last_seq
    replay = await backend.store.since("alice", case.epoch or backend.epoch(), last_seq)
    assert replay.position.head_seq == case.appended
    if case.expect is None:
        assert replay.events is None
    else:
        assert replay.events is not None
        assert [e.seq for e in replay.events] == case.expect
        assert all(e.data["seq"] == e.seq for e in replay.events)


async def test_restart_changes_the_epoch(backend: Backend) -> None:
    await _append(backend.store, "alice", 3)
    old_epoch = backend.epoch()
    restarted = backend.restart()
    await restarted.open()
    replay = await restarted.since("alice", old_epoch, 3)
    assert replay.events is None
    assert replay.position.epoch != old_epoch
    await restarted.close()


async def test_concurrent_appends_get_unique_contiguous_seqs(backend: Backend) -> None:
    async def one(i: int) -> int:
        event = await backend.store.append("alice", "x", {"i": i}, datetime.now(UTC))
        return event.seq

    seqs = await asyncio.gather(*(one(i) for i in range(40)))
    assert sorted(seqs) == list(range(1, 41))


async def test_users_do_not_share_a_sequence(backend: Backend) -> None:
    await _append(backend.store, "alice", 3)
    await _append(backend.store, "bob", 2)
    assert (await backend.store.position("alice")).head_seq == 3
    assert (await backend.store.position("bob")).head_seq == 2
    replay = await backend.store.since("bob", backend.epoch(), 0)
    assert replay.events is not None
    assert [e.seq for e in replay.events] == [1, 2]
