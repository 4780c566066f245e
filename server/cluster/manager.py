"""python-socketio's Redis client manager, for what it is for: room emits and cross-node
disconnects on the channel `netra-ws`. User streams do not pass through it
(server/cluster/delivery.py)."""

from __future__ import annotations

import asyncio

import socketio


class ClusterManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """Adds only `close()`: python-socketio starts a listener task and offers no way to stop
    it, so without this a node's shutdown would leave it running and its connection open."""

    def __init__(self, url: str, channel: str) -> None:
        # RESP2 for the same reason as the replay store: a restarted Redis is reconnected to.
        super().__init__(url, channel=channel, redis_options={"protocol": 2})

    async def close(self) -> None:
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            await asyncio.gather(thread, return_exceptions=True)
        if self.redis is not None:
            await self.redis.aclose()
