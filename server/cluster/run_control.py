"""Runs across nodes: who owns a run, stops and approvals that reach the owner, runs whose
node died.

A run's owner is a key that the owning node refreshes while the run lives. A stop or an
approval asked of another node is published on the owner's channel. A node that dies stops
refreshing; any node then finds its answers still "streaming" with no owner key and ends them
as failed, one node per run (a claim key decides which).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Iterable

import orjson
from loguru import logger
from pydantic import JsonValue
from redis.asyncio import Redis
from redis.exceptions import RedisError

from schemas.ack import ErrorCode
from server.errors import AppError

PREFIX = "netra:run:"
# A finished run's owner is remembered this long, so a late stop answers "not running".
FINISHED_TTL_S = 3600

StopLocal = Callable[[str, str], bool]
# (user_id, run_id, call_id, approved, edited args or None)
ApproveLocal = Callable[[str, str, str, bool, dict[str, JsonValue] | None], object]


class RunControl:
    """Redis-backed run ownership for one node."""

    def __init__(self, url: str, heartbeat_s: float, owner_ttl_s: float) -> None:
        self.node_id = secrets.token_hex(6)
        self._client = Redis.from_url(url, protocol=2)
        self._heartbeat_s = heartbeat_s
        self._owner_ttl_ms = max(1, round(owner_ttl_s * 1000))
        self._owned: dict[str, str] = {}  # run_id -> user_id
        self._tasks: list[asyncio.Task[None]] = []
        self.stop_local: StopLocal | None = None
        self.approve_local: ApproveLocal | None = None

    async def open(self) -> None:
        self._tasks = [
            asyncio.create_task(self._heartbeat(), name="run-heartbeat"),
            asyncio.create_task(self._listen(), name="run-stop-listener"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()

    async def claim(self, run_id: str, user_id: str) -> None:
        self._owned[run_id] = user_id
        value = orjson.dumps({"node": self.node_id, "user": user_id})
        try:
            await self._client.set(_owner_key(run_id), value, px=self._owner_ttl_ms)
        except (RedisError, OSError) as exc:
            # The answer runs anyway; the heartbeat writes the claim once Redis is back.
            logger.warning("run {} not yet claimed in Redis: {}", run_id, exc)

    async def release(self, run_id: str) -> None:
        user_id = self._owned.pop(run_id, None)
        if user_id is None:
            return
        value = orjson.dumps({"node": None, "user": user_id})
        with contextlib.suppress(RedisError, OSError):
            await self._client.set(_owner_key(run_id), value, ex=FINISHED_TTL_S)

    async def stop(self, user_id: str, run_id: str) -> bool | None:
        """Ask the owning node to stop a run: True if sent, False if it already ended,
        None if no node knows it (or it is another user's)."""
        return await self._forward(user_id, run_id, {"op": "stop"})

    async def approve(
        self,
        user_id: str,
        run_id: str,
        call_id: str,
        approved: bool,
        args: dict[str, JsonValue] | None,
    ) -> bool | None:
        """Hand an approval to the node running the run: True if sent, False if the run
        ended, None if no node knows it (or it is another user's)."""
        request = {"op": "approve", "call": call_id, "approved": approved, "args": args}
        return await self._forward(user_id, run_id, request)

    async def _forward(self, user_id: str, run_id: str, request: dict[str, object]) -> bool | None:
        try:
            raw = await self._client.get(_owner_key(run_id))
        except (RedisError, OSError) as exc:
            logger.warning("cannot look up the node of run {}: {}", run_id, exc)
            raise AppError(
                ErrorCode.INTERNAL, "The node running this answer cannot be reached now"
            ) from exc
        if raw is None:
            return None
        owner = orjson.loads(raw)
        if owner.get("user") != user_id:
            return None
        if owner.get("node") is None:
            return False
        message = orjson.dumps({**request, "user": user_id, "run": run_id})
        try:
            await self._client.publish(_node_channel(owner["node"]), message)
        except (RedisError, OSError) as exc:
            raise AppError(
                ErrorCode.INTERNAL, "The node running this answer cannot be reached now"
            ) from exc
        return True

    async def unowned(self, run_ids: Iterable[str]) -> list[str]:
        """Of these runs, the ones no live node owns and that this node may now end."""
        ids = list(run_ids)
        if not ids:
            return []
        owners = await self._client.mget([_owner_key(run_id) for run_id in ids])
        claimable = []
        for run_id, owner in zip(ids, owners, strict=True):
            if owner is not None:
                continue
            claimed = await self._client.set(
                PREFIX + "reaped:" + run_id, self.node_id, nx=True, ex=FINISHED_TTL_S
            )
            if claimed:
                claimable.append(run_id)
        return claimable

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            if not self._owned:
                continue
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for run_id, user_id in self._owned.items():
                        # SET, not PEXPIRE: a claim lost with Redis's data is made again.
                        value = orjson.dumps({"node": self.node_id, "user": user_id})
                        pipe.set(_owner_key(run_id), value, px=self._owner_ttl_ms)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                logger.warning("run heartbeat failed: {}", exc)

    async def _listen(self) -> None:
        delay = 0.25
        while True:
            try:
                async with self._client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(_node_channel(self.node_id))
                    delay = 0.25
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._requested(message["data"])
            except (RedisError, OSError) as exc:
                logger.warning("run stop channel lost: {}; retrying in {}s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _requested(self, raw: bytes) -> None:
        try:
            request = orjson.loads(raw)
            user_id, run_id = str(request["user"]), str(request["run"])
            op = request.get("op", "stop")
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            return
        if self._owned.get(run_id) != user_id:
            return
        if op == "stop" and self.stop_local is not None:
            self.stop_local(user_id, run_id)
        elif op == "approve" and self.approve_local is not None:
            args = request.get("args")
            self.approve_local(
                user_id,
                run_id,
                str(request.get("call")),
                request.get("approved") is True,
                args if isinstance(args, dict) else None,
            )


def _owner_key(run_id: str) -> str:
    return PREFIX + "owner:" + run_id


def _node_channel(node_id: str) -> str:
    return PREFIX + "node:" + node_id
