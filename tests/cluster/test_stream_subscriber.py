"""A node's subscriber to its streams' channels, against a real Redis and the store that
publishes on them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from server.cluster.delivery import STREAM_CHANNEL_PREFIX, StreamAnnouncer
from server.cluster.stream_subscriber import StreamSubscriber
from server.stores.replay_redis import RedisReplayStore
from server.stores.replay_store import StoredEvent
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]


@dataclass
class Heard:
    events: list[tuple[str, str, dict[str, Any], str]] = field(default_factory=list)
    catch_ups: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver(self, key: str, name: str, data: dict[str, Any], epoch: str) -> None:
        self.events.append((key, name, data, epoch))
        self.arrived.set()

    async def catch_up(self) -> None:
        self.catch_ups += 1

    def seqs(self, key: str) -> list[int]:
        return [data["seq"] for k, _, data, _ in self.events if k == key]

    async def until(self, count: int, within_s: float = 5.0) -> None:
        async with asyncio.timeout(within_s):
            while len(self.events) < count:
                self.arrived.clear()
                await self.arrived.wait()


@dataclass
class Node:
    subscriber: StreamSubscriber
    heard: Heard
    store: RedisReplayStore

    async def append(self, key: str, n: int = 0) -> StoredEvent:
        return await self.store.append(key, "agent:delta", {"n": n}, datetime.now(UTC))


async def eventually(condition: Callable[[], bool], within_s: float = 10.0) -> None:
    for _ in range(round(within_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def until_connected(subscriber: StreamSubscriber) -> None:
    await eventually(lambda: subscriber.connected)


async def subscribers(redis: RedisServer, channel: str) -> int:
    client = redis.client()
    try:
        [(_, count)] = await client.pubsub_numsub(channel)
        return int(count)
    finally:
        await client.aclose()


@pytest.fixture
async def node(redis_server: RedisServer) -> AsyncIterator[Node]:
    heard = Heard()
    subscriber = StreamSubscriber(redis_server.url)
    subscriber.bind(heard.deliver, heard.catch_up)
    store = RedisReplayStore.from_url(redis_server.url, 100, 60.0, announcer=StreamAnnouncer())
    await store.open()
    async with subscriber.running():
        await until_connected(subscriber)
        yield Node(subscriber, heard, store)
    await store.close()


async def test_hears_only_followed_streams_in_order_with_the_stored_event(node: Node) -> None:
    await node.subscriber.follow("alice")
    appended = [await node.append("alice", i) for i in range(5)]
    for i in range(3):
        await node.append("bob", i)  # nobody here follows bob
    await node.heard.until(5)
    await asyncio.sleep(0.1)
    assert [(k, n, d, e) for k, n, d, e in node.heard.events] == [
        ("alice", "agent:delta", event.data, event.epoch) for event in appended
    ]


async def test_subscribes_on_the_first_follower_and_unsubscribes_after_the_last(
    node: Node, redis_server: RedisServer
) -> None:
    channel = STREAM_CHANNEL_PREFIX + "alice"
    assert await subscribers(redis_server, channel) == 0
    await node.subscriber.follow("alice")
    await node.subscriber.follow("alice")
    assert await subscribers(redis_server, channel) == 1
    node.subscriber.unfollow("alice")
    assert node.subscriber.followed == {"alice"}
    await node.append("alice")
    await node.heard.until(1)
    node.subscriber.unfollow("alice")
    assert node.subscriber.followed == frozenset()
    for _ in range(100):
        if await subscribers(redis_server, channel) == 0:
            break
        await asyncio.sleep(0.01)
    assert await subscribers(redis_server, channel) == 0


async def test_an_event_appended_right_after_follow_returns_is_heard(node: Node) -> None:
    # No sleep anywhere: follow returns only once Redis has confirmed the subscription, even
    # when the channel was just unsubscribed (the UNSUBSCRIBE must not overtake it).
    for i in range(100):
        key = f"user-{i % 7}"
        await node.subscriber.follow(key)
        event = await node.append(key, i)
        await node.heard.until(i + 1)
        assert node.heard.events[-1][:3] == (key, "agent:delta", event.data)
        node.subscriber.unfollow(key)


async def test_concurrent_follows_of_one_stream_all_wait_for_the_subscription(
    node: Node,
) -> None:
    await asyncio.gather(*(node.subscriber.follow("alice") for _ in range(10)))
    await node.append("alice")
    await node.heard.until(1)
    for _ in range(9):
        node.subscriber.unfollow("alice")
    assert node.subscriber.followed == {"alice"}


async def test_a_cancelled_follow_adds_no_follower(node: Node) -> None:
    following = asyncio.create_task(node.subscriber.follow("alice"))
    await asyncio.sleep(0)
    following.cancel()
    with pytest.raises(asyncio.CancelledError):
        await following
    assert node.subscriber.followed == frozenset()


async def test_a_malformed_message_is_skipped(node: Node, redis_server: RedisServer) -> None:
    await node.subscriber.follow("alice")
    client = redis_server.client()
    try:
        for junk in (b"not json", b"[]", b'{"n": "x", "d": {}, "e": "e"}'):
            await client.publish(STREAM_CHANNEL_PREFIX + "alice", junk)
    finally:
        await client.aclose()
    event = await node.append("alice")
    await node.heard.until(1)
    assert [data for _, _, data, _ in node.heard.events] == [event.data]


async def test_after_a_lost_connection_it_subscribes_again_then_catches_up(
    node: Node, redis_server: RedisServer
) -> None:
    await node.subscriber.follow("alice")
    await redis_server.stop()
    await eventually(lambda: not node.subscriber.connected)
    # Following while Redis is away does not wait for it: the next connection covers it.
    async with asyncio.timeout(1):
        await node.subscriber.follow("bob")
    assert node.heard.catch_ups == 0

    await redis_server.start()
    await until_connected(node.subscriber)
    await eventually(lambda: node.heard.catch_ups > 0)
    assert node.heard.catch_ups == 1
    # Both channels are subscribed again: what is published now is heard.
    await node.store.open()
    await node.append("alice")
    await node.append("bob")
    await node.heard.until(2)
    assert sorted(k for k, *_ in node.heard.events) == ["alice", "bob"]
