"""Cluster replay store that keeps a node delivering while Redis is away.

While Redis answers, every call goes to the shared store, which numbers each event and
publishes it to every node. When a call fails, this node switches to a history of its own in
memory under a new epoch: its events are numbered and kept locally and delivered to its own
connections only (`publishes` turns False, so the Emitter delivers them itself). A probe
switches back once Redis answers again. Each switch changes the epoch a connection sees, so
a connection that lived through it is reset (told to reload), never given a gap: local
events are not in the shared history, and other nodes' events are not in the local one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from loguru import logger
from redis.exceptions import RedisError

from server.stores.replay_memory import MemoryReplayStore
from server.stores.replay_redis import RedisReplayStore
from server.stores.replay_store import Position, Replay, ReplayStore, StoredEvent

T = TypeVar("T")

# What a failed Redis call raises: the client's own errors, sockets, and a timed-out wait.
UNAVAILABLE = (RedisError, OSError, asyncio.TimeoutError)


class FailoverReplayStore:
    """See the module docstring. `degraded` is True while the local history is in use."""

    def __init__(
        self,
        shared: RedisReplayStore,
        local: Callable[[], MemoryReplayStore],
        probe_interval_s: float = 0.5,
    ) -> None:
        self._shared = shared
        self._new_local = local
        self._probe_interval_s = probe_interval_s
        self._local: MemoryReplayStore | None = None
        self._probe: asyncio.Task[None] | None = None

    @property
    def degraded(self) -> bool:
        return self._local is not None

    @property
    def publishes(self) -> bool:
        return self._local is None and self._shared.publishes

    async def open(self) -> None:
        try:
            await self._shared.open()
        except UNAVAILABLE as exc:
            # A node may start while Redis is down: it serves locally until Redis is back.
            self._degrade(exc)

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
        if self._local is not None:
            await self._local.close()
        await self._shared.close()

    async def ping(self) -> bool:
        return await self._shared.ping()

    async def append(
        self, user_id: str, name: str, body: dict[str, Any], ts: datetime
    ) -> StoredEvent:
        return await self._either(lambda store: store.append(user_id, name, body, ts))

    async def position(self, user_id: str) -> Position:
        return await self._either(lambda store: store.position(user_id))

    async def since(self, user_id: str, epoch: str, last_seq: int) -> Replay:
        return await self._either(lambda store: store.since(user_id, epoch, last_seq))

    async def _either(self, call: Callable[[ReplayStore], Awaitable[T]]) -> T:
        if self._local is None:
            try:
                return await call(self._shared)
            except UNAVAILABLE as exc:
                self._degrade(exc)
        assert self._local is not None
        return await call(self._local)

    def _degrade(self, exc: BaseException) -> None:
        if self._local is not None:
            return
        self._local = self._new_local()
        logger.error(
            "Redis is unavailable ({}): delivering to this node's connections only, "
            "under local epoch {}, until it answers again",
            str(exc) or type(exc).__name__,
            self._local.epoch,
        )
        self._probe = asyncio.create_task(self._wait_for_redis(), name="redis-probe")

    async def _wait_for_redis(self) -> None:
        while True:
            await asyncio.sleep(self._probe_interval_s)
            try:
                # The script and epoch again too, for a Redis that came back empty.
                await self._shared.open()
                break
            except UNAVAILABLE:
                continue
        local, self._local, self._probe = self._local, None, None
        logger.warning("Redis answers again: back to the shared history")
        if local is not None:
            await local.close()
