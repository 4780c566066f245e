"""User-stream delivery across nodes, in seq order.

The Redis replay store publishes each event in the same Lua script that numbers it, as a
python-socketio pub/sub `emit` message from a host id no node has. Every node, the one that
appended it included, hears the events of a user in seq order on one subscription and hands
them to its Emitter, which delivers to the local connections under the user's lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import socketio

from schemas.registry import CHAT

STREAM_HOST_ID = "netra-stream"
USER_ROOM_PREFIX = "user:"

StreamHandler = Callable[[str, str, dict[str, Any], str], Awaitable[None]]
Resubscribed = Callable[[], Awaitable[None]]


class StreamAnnouncer:
    """Formats the pub/sub message the replay store publishes for each appended event."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def envelope(self, user_id: str, name: str) -> tuple[bytes, bytes, bytes]:
        head = {
            "method": "emit",
            "event": name,
            "namespace": CHAT,
            "room": USER_ROOM_PREFIX + user_id,
            "skip_sid": None,
            "callback": None,
            "binary": False,
            "host_id": STREAM_HOST_ID,
        }
        # {"method": ..., "host_id": ..., "data": [<payload>], "epoch": "<epoch>"}
        return orjson.dumps(head)[:-1] + b',"data":[', b'],"epoch":"', b'"}'


class ClusterManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager; user-stream messages go to the Emitter instead."""

    def __init__(self, url: str, channel: str) -> None:
        # RESP2 for the same reason as the replay store: a restarted Redis is reconnected to.
        super().__init__(url, channel=channel, redis_options={"protocol": 2})
        self.stream_handler: StreamHandler | None = None
        # Called after the subscription was lost and made again: whatever was published in
        # between never reached this node, so its connections must catch up from the store.
        self.on_resubscribed: Resubscribed | None = None

    async def close(self) -> None:
        """Stop listening (python-socketio leaves its listener running forever)."""
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            await asyncio.gather(thread, return_exceptions=True)
        if self.redis is not None:
            await self.redis.aclose()

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        # python-socketio's loop, plus the resubscribe notice (and a bounded backoff).
        retry_sleep = 0.25
        lost = False
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                retry_sleep = 0.25
                if lost and self.on_resubscribed is not None:
                    await self.on_resubscribed()
                lost = False
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:
                lost = True
                self._get_logger().error(
                    "Cannot receive from redis (%s); retrying in %s s", exc, retry_sleep
                )
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, 5.0)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("host_id") != STREAM_HOST_ID:
            await super()._handle_emit(message)
            return
        room = str(message.get("room", ""))
        data = message.get("data")
        if self.stream_handler is None or not room.startswith(USER_ROOM_PREFIX):
            return
        if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
            return
        user_id = room.removeprefix(USER_ROOM_PREFIX)
        await self.stream_handler(user_id, str(message["event"]), data[0], str(message["epoch"]))
