"""The full stack with the cluster delivery it had before per-stream channels, for the
cluster benchmark's comparison (`python -m bench --only cluster`).

Every user-stream event is published on the one channel `netra-ws` as a python-socketio
`emit` envelope; every node's Redis manager receives and decodes each one and hands it to
the Emitter, which drops it unless the node has a connection on that stream. Nothing else
changes: the app is the one `python -m server serve` builds, with these parts swapped in.

Usage: python -m bench.servers.cluster_broadcast (settings from WS_* variables)
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson

from schemas.registry import CHAT
from server.cluster import setup
from server.cluster.manager import ClusterManager
from server.settings import Settings
from server.stores.replay_failover import FailoverReplayStore
from server.stores.replay_redis import RedisReplayStore
from server.stores.replay_store import ReplayStore

CHANNEL = "netra-ws"
STREAM_HOST_ID = "netra-stream"
USER_ROOM_PREFIX = "user:"

Deliver = Callable[[str, str, dict[str, Any], str], Awaitable[None]]
CatchUp = Callable[[], Awaitable[None]]


class BroadcastAnnouncer:
    """Every stream on one channel, as a python-socketio emit from a host no node has."""

    def channel(self, key: str) -> str:
        return CHANNEL

    def envelope(self, key: str, name: str) -> tuple[bytes, bytes, bytes]:
        head = {
            "method": "emit",
            "event": name,
            "namespace": CHAT,
            "room": USER_ROOM_PREFIX + key,
            "skip_sid": None,
            "callback": None,
            "binary": False,
            "host_id": STREAM_HOST_ID,
        }
        return orjson.dumps(head)[:-1] + b',"data":[', b'],"epoch":"', b'"}'


class BroadcastManager(ClusterManager):
    """The Redis manager with user-stream envelopes handed to the Emitter."""

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel)
        self.deliver: Deliver | None = None
        self.catch_up: CatchUp | None = None

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        retry_sleep = 0.25
        lost = False
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                retry_sleep = 0.25
                if lost and self.catch_up is not None:
                    await self.catch_up()
                lost = False
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:
                lost = True
                self._get_logger().error("Cannot receive from redis (%s)", exc)
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, 5.0)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("host_id") != STREAM_HOST_ID:
            await super()._handle_emit(message)
            return
        room = str(message.get("room", ""))
        data = message.get("data")
        if self.deliver is None or not room.startswith(USER_ROOM_PREFIX):
            return
        if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
            return
        key = room.removeprefix(USER_ROOM_PREFIX)
        await self.deliver(key, str(message["event"]), data[0], str(message["epoch"]))


class EverythingFollower:
    """Stands in for the stream subscriber: the manager already hears every stream."""

    def __init__(self, manager: BroadcastManager) -> None:
        self._manager = manager

    def bind(self, deliver: Deliver, catch_up: CatchUp) -> None:
        self._manager.deliver = deliver
        self._manager.catch_up = catch_up

    async def follow(self, key: str) -> None:
        return None

    def unfollow(self, key: str) -> None:
        return None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        yield


def install() -> None:
    managers: list[BroadcastManager] = []

    def client_manager(settings: Settings) -> BroadcastManager | None:
        if not settings.redis_url:
            return None
        managers.append(BroadcastManager(settings.redis_url, CHANNEL))
        return managers[-1]

    def stream_subscriber(settings: Settings) -> EverythingFollower | None:
        return EverythingFollower(managers[-1]) if settings.redis_url else None

    def replay_store(settings: Settings) -> ReplayStore:
        shared = RedisReplayStore.from_url(
            settings.redis_url or "",
            settings.replay_max_events,
            settings.replay_ttl_s,
            announcer=BroadcastAnnouncer(),
        )
        return FailoverReplayStore(shared, lambda: setup.local_replay_store(settings))

    setup.client_manager = client_manager
    setup.stream_subscriber = stream_subscriber  # type: ignore[assignment]
    setup.replay_store = replay_store


def main() -> None:
    install()
    from server.cli.main import main as serve

    sys.argv = [sys.argv[0], "serve"]
    serve()


if __name__ == "__main__":
    main()
