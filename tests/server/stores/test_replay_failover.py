"""The cluster's replay store while Redis is away: a local history, then the shared one again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from server.stores.replay_failover import FailoverReplayStore
from server.stores.replay_memory import MemoryReplayStore
from server.stores.replay_redis import RedisReplayStore
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]


def failover(redis: RedisServer) -> FailoverReplayStore:
    shared = RedisReplayStore.from_url(redis.url, 100, 60.0)
    return FailoverReplayStore(shared, lambda: MemoryReplayStore(100, 60.0), probe_interval_s=0.05)


async def until_shared(store: FailoverReplayStore) -> None:
    for _ in range(200):
        if not store.degraded:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the store never went back to Redis")


async def test_outage_numbers_locally_under_a_new_epoch_then_returns(
    redis_server: RedisServer,
) -> None:
    store = failover(redis_server)
    await store.open()
    try:
        now = datetime.now(UTC)
        first = await store.append("alice", "chat:message", {"n": 1}, now)
        assert store.publishes is False  # no announcer: a plain shared store
        await redis_server.stop()

        during = await store.append("alice", "chat:message", {"n": 2}, now)
        assert store.degraded
        assert during.epoch != first.epoch
        assert during.seq == 1
        assert during.data["n"] == 2
        # A position in the shared history is never answered from the local one.
        assert (await store.since("alice", first.epoch, first.seq)).events is None
        replay = await store.since("alice", during.epoch, 0)
        assert [e.data["n"] for e in replay.events or []] == [2]
        assert await store.ping() is False

        await redis_server.start()
        await until_shared(store)
        after = await store.append("alice", "chat:message", {"n": 3}, now)
        assert after.epoch != during.epoch
        # ... and a position in the local history is told to reload.
        assert (await store.since("alice", during.epoch, during.seq)).events is None
    finally:
        await store.close()


async def test_a_node_started_while_redis_is_down_serves_locally(
    redis_server: RedisServer,
) -> None:
    await redis_server.stop()
    store = failover(redis_server)
    await store.open()
    try:
        assert store.degraded
        event = await store.append("bob", "chat:message", {}, datetime.now(UTC))
        assert event.seq == 1
        await redis_server.start()
        await until_shared(store)
        assert (await store.position("bob")).epoch != event.epoch
    finally:
        await store.close()
