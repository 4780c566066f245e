"""The recovery cases, as one table run against every ReplayStore implementation."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from server.cluster.delivery import (
    STREAM_CHANNEL_PREFIX,
    Announcement,
    StreamAnnouncer,
    decode,
)
from server.realtime.packets import event_packet, stored_event_packet
from server.stores.replay_failover import FailoverReplayStore
from server.stores.replay_memory import MemoryReplayStore
from server.stores.replay_redis import RedisReplayStore
from server.stores.replay_store import ReplayStore
from tests.redis_server import RedisServer, running_redis


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    store: ReplayStore
    clock: FakeClock
    # Loses continuity (a new process; a Redis that lost its data) and opens a new store.
    restart: Callable[[], Awaitable[ReplayStore]]


MAX_EVENTS = 50
TTL_S = 60.0


async def _memory(stack: AsyncExitStack, tmp_path: Path) -> Backend:
    clock = FakeClock()

    async def restart() -> ReplayStore:
        store = MemoryReplayStore(MAX_EVENTS, TTL_S, clock=clock)
        await store.open()
        return store

    return Backend(store=await restart(), clock=clock, restart=restart)


async def _on_redis(stack: AsyncExitStack, tmp_path: Path, failover: bool) -> Backend:
    server = await stack.enter_async_context(running_redis(tmp_path))
    clock = FakeClock()

    async def open_store() -> ReplayStore:
        shared = RedisReplayStore.from_url(server.url, MAX_EVENTS, TTL_S, clock=clock)
        store: ReplayStore = shared
        if failover:
            store = FailoverReplayStore(shared, lambda: MemoryReplayStore(MAX_EVENTS, TTL_S))
        await store.open()
        return store

    async def restart() -> ReplayStore:
        await server.restart()
        return await open_store()

    return Backend(store=await open_store(), clock=clock, restart=restart)


async def _redis(stack: AsyncExitStack, tmp_path: Path) -> Backend:
    return await _on_redis(stack, tmp_path, failover=False)


async def _failover(stack: AsyncExitStack, tmp_path: Path) -> Backend:
    # With Redis answering, the cluster's store must keep every guarantee of the Redis one.
    return await _on_redis(stack, tmp_path, failover=True)


@pytest.fixture(params=[_memory, _redis, _failover], ids=["memory", "redis", "failover"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with AsyncExitStack() as stack:
        made: Backend = await request.param(stack, tmp_path)
        yield made
        await made.store.close()


async def _append(store: ReplayStore, user: str, count: int) -> None:
    for i in range(count):
        await store.append(user, "agent:delta", {"run_id": "r", "text": str(i)}, datetime.now(UTC))


async def _epoch(store: ReplayStore, user: str = "alice") -> str:
    return (await store.position(user)).epoch


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
    # The epoch a client gets when it connects, before the events it will miss.
    epoch = case.epoch or await _epoch(backend.store)
    await _append(backend.store, "alice", case.appended)
    backend.clock.now += case.age_s
    last_seq = case.last_seq(case.appended) if callable(case.last_seq) else case.last_seq
    replay = await backend.store.since("alice", epoch, last_seq)
    assert replay.position.head_seq == case.appended
    if case.expect is None:
        assert replay.events is None
    else:
        assert replay.events is not None
        assert [e.seq for e in replay.events] == case.expect
        assert all(e.data["seq"] == e.seq for e in replay.events)


async def test_restart_changes_the_epoch(backend: Backend) -> None:
    await _append(backend.store, "alice", 3)
    old_epoch = await _epoch(backend.store)
    restarted = await backend.restart()
    replay = await restarted.since("alice", old_epoch, 3)
    assert replay.events is None
    assert replay.position.epoch != old_epoch
    await _append(restarted, "alice", 2)
    replay = await restarted.since("alice", replay.position.epoch, 0)
    assert replay.events is not None
    assert [e.seq for e in replay.events] == [1, 2]
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
    replay = await backend.store.since("bob", await _epoch(backend.store, "bob"), 0)
    assert replay.events is not None
    assert [e.seq for e in replay.events] == [1, 2]


async def test_stored_data_round_trips(backend: Backend) -> None:
    body: dict[str, Any] = {
        "run_id": "r",
        "text": 'héllo \u2603 "q"\n',
        "numbers": [1.5, -0.0, 2**53 + 1],
        "none": None,
        "nested": {"list": [], "dict": {}},
    }
    ts = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    appended = [
        await backend.store.append("alice", "agent:delta", body, ts),
        await backend.store.append("alice", "agent:done", {}, ts),
    ]
    replay = await backend.store.since("alice", await _epoch(backend.store), 0)
    assert replay.events == appended
    assert appended[0].data == {"seq": 1, "ts": "2024-05-06T07:08:09.123456Z", **body}
    assert appended[1].data == {"seq": 2, "ts": "2024-05-06T07:08:09.123456Z"}


# Redis only: several nodes on one Redis, and Redis losing its data.


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    async with running_redis(tmp_path) as server:
        yield server


@pytest.fixture
async def nodes(redis: RedisServer) -> AsyncIterator[list[RedisReplayStore]]:
    stores = [RedisReplayStore.from_url(redis.url, MAX_EVENTS, TTL_S) for _ in range(2)]
    for store in stores:
        await store.open()
    yield stores
    for store in stores:
        await store.close()


async def test_nodes_share_one_sequence(nodes: list[RedisReplayStore]) -> None:
    async def one(node: RedisReplayStore, i: int) -> int:
        return (await node.append("alice", "x", {"i": i}, datetime.now(UTC))).seq

    seqs = await asyncio.gather(*(one(nodes[i % 2], i) for i in range(40)))
    assert sorted(seqs) == list(range(1, 41))
    first, second = [await node.position("alice") for node in nodes]
    assert first == second
    replay = await nodes[1].since("alice", first.epoch, 0)
    assert replay.events is not None
    assert [e.seq for e in replay.events] == list(range(1, 41))
    assert all(e.data["seq"] == e.seq for e in replay.events)


@pytest.mark.parametrize("loss", ["flushall", "restart"])
async def test_losing_redis_data_changes_the_epoch(
    redis: RedisServer, nodes: list[RedisReplayStore], loss: str
) -> None:
    await _append(nodes[0], "alice", 5)
    old = await nodes[0].position("alice")
    await (redis.flushall() if loss == "flushall" else redis.restart())
    for node in nodes:
        replay = await node.since("alice", old.epoch, 3)
        assert replay.events is None
        assert replay.position.epoch != old.epoch
        assert replay.position.head_seq == 0
    await _append(nodes[1], "alice", 2)
    new = await nodes[0].position("alice")
    assert new.head_seq == 2
    assert (await nodes[0].since("alice", old.epoch, 2)).events is None
    replay = await nodes[0].since("alice", new.epoch, 0)
    assert replay.events is not None
    assert [e.seq for e in replay.events] == [1, 2]


async def test_lost_counter_starts_a_new_history(
    redis: RedisServer, nodes: list[RedisReplayStore]
) -> None:
    await _append(nodes[0], "alice", 5)
    old = await nodes[0].position("alice")
    client = redis.client()
    await client.delete("netra:replay:head:alice")
    await client.aclose()
    await _append(nodes[0], "alice", 5)
    new = await nodes[1].position("alice")
    assert new.head_seq == 5
    assert new.epoch != old.epoch
    assert new.epoch.split(".")[0] == old.epoch.split(".")[0]  # other users keep their epoch
    assert (await nodes[1].since("alice", old.epoch, 2)).events is None


async def test_lost_stream_is_a_reset_unless_nothing_was_missed(
    redis: RedisServer, nodes: list[RedisReplayStore]
) -> None:
    await _append(nodes[0], "alice", 5)
    epoch = await _epoch(nodes[0])
    client = redis.client()
    await client.delete("netra:replay:user:alice")
    await client.aclose()
    assert (await nodes[0].since("alice", epoch, 3)).events is None
    assert (await nodes[0].since("alice", epoch, 5)).events == []


async def test_entries_expire_by_redis_time(redis: RedisServer) -> None:
    store = RedisReplayStore.from_url(redis.url, MAX_EVENTS, ttl_s=0.5)
    await store.open()
    epoch = await _epoch(store)
    await _append(store, "alice", 3)
    await asyncio.sleep(0.35)
    await _append(store, "alice", 3)
    await asyncio.sleep(0.25)
    assert (await store.since("alice", epoch, 0)).events is None
    replay = await store.since("alice", epoch, 3)
    assert replay.events is not None
    assert [e.seq for e in replay.events] == [4, 5, 6]
    await store.close()


async def test_ping(redis: RedisServer) -> None:
    store = RedisReplayStore.from_url(redis.url, MAX_EVENTS, TTL_S)
    assert await store.ping()
    await redis.stop()
    assert not await store.ping()
    await store.close()


async def test_each_append_is_published_on_its_streams_channel(redis: RedisServer) -> None:
    store = RedisReplayStore.from_url(redis.url, MAX_EVENTS, TTL_S, announcer=StreamAnnouncer())
    await store.open()
    client = redis.client()
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(STREAM_CHANNEL_PREFIX + "alice")
        assert store.publishes
        appended = [
            await store.append("alice", "agent:delta", {"text": 'a "b"\n'}, datetime.now(UTC)),
            await store.append("bob", "agent:delta", {}, datetime.now(UTC)),
            await store.append("alice", "agent:run_completed", {}, datetime.now(UTC)),
        ]
        heard: list[tuple[bytes, Announcement | None]] = []
        async with asyncio.timeout(5):
            while len(heard) < 2:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    heard.append((message["channel"], decode(message["data"])))
        # Only alice's events, in seq order: the stored JSON and the epoch, nothing else.
        channel = (STREAM_CHANNEL_PREFIX + "alice").encode()
        assert [c for c, _ in heard] == [channel, channel]
        assert [(a.name, a.data, a.epoch) for _, a in heard if a is not None] == [
            (e.name, e.data, e.epoch) for e in (appended[0], appended[2])
        ]
    finally:
        await pubsub.aclose()
        await client.aclose()
        await store.close()


async def test_the_memory_store_keeps_each_event_encoded_once() -> None:
    store = MemoryReplayStore(MAX_EVENTS, TTL_S)
    ts = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    appended = await store.append("alice", "agent:delta", {"run_id": "r", "text": "é"}, ts)

    [first] = (await store.since("alice", store.epoch, 0)).events or []
    [again] = (await store.since("alice", store.epoch, 0)).events or []

    # The wire JSON of [name, data], made at append: every replay sends that same text.
    assert first.encoded is not None
    assert orjson.loads(first.encoded) == ["agent:delta", appended.data]
    assert first.encoded is again.encoded is appended.encoded
    # A replay's packet is made from it: the same text as the live send's.
    live = event_packet("/chat", "agent:delta", appended.data)
    assert stored_event_packet("/chat", first).encode() == live.encode()
    # Only the JSON is kept; the data is read back from it when asked for.
    assert first.data == appended.data
    assert first == appended


async def test_the_memory_store_keeps_an_event_in_its_json_only() -> None:
    store = MemoryReplayStore(10_000, TTL_S)
    ts = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    run_id = "0123456789abcdef0123456789abcdef"
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(2_000):
            # As the emitter appends: a fresh body each time, its strings built for it.
            body = {"run_id": "".join(run_id), "text": f" {i}"}
            await store.append("alice", "agent:delta", body, ts)
            del body
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    # About 110 characters of JSON each; the same event as a dict with its strings is over
    # 400 bytes.
    assert kept / 2_000 < 250
