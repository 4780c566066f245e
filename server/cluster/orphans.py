"""Ends the answers of runs whose node died: stored as failed, told to the user's stream."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from loguru import logger
from redis.exceptions import RedisError

from schemas.chat import AgentRunFailed, RunError
from server.chat.answering import message_view
from server.chat.runs import RunRegistry
from server.cluster.run_control import RunControl
from server.realtime.emitter import Emitter
from server.stores.chat_store import ChatStore

NODE_LOST = RunError(code="node_lost", message="The server answering this stopped; ask again")


class OrphanReaper:
    def __init__(
        self,
        store: ChatStore,
        emitter: Emitter,
        control: RunControl,
        runs: RunRegistry,
        owner_ttl_s: float,
    ) -> None:
        self._store = store
        self._emitter = emitter
        self._control = control
        self._runs = runs
        self._owner_ttl = timedelta(seconds=owner_ttl_s)
        self._interval_s = owner_ttl_s / 2

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.sweep()
            except (RedisError, OSError) as exc:
                logger.warning("sweeping for runs of lost nodes skipped: {}", exc)
            except Exception:
                logger.exception("sweeping for runs of lost nodes failed")

    async def sweep(self) -> int:
        # Only answers older than an owner's lifetime: a run just started is claimed already,
        # but a slow start must not look like a dead node.
        started_before = datetime.now(UTC) - self._owner_ttl
        candidates = [
            m
            for m in await self._store.list_streaming(started_before)
            if m.run_id is not None and self._runs.get(m.run_id) is None
        ]
        by_run = {m.run_id: m for m in candidates if m.run_id is not None}
        ended = 0
        for run_id in await self._control.unowned(by_run):
            message = by_run[run_id]
            # Its parts are what the dead node last checkpointed: kept, not blanked.
            stored = await self._store.finish_assistant_message(
                message_id=message.id, parts=message.parts, status="failed"
            )
            partial = message_view(stored) if stored.parts else None
            await self._emitter.to_user(
                message.user_id, AgentRunFailed(run_id=run_id, error=NODE_LOST, message=partial)
            )
            logger.bind(run_id=run_id, user=message.user_id).warning(
                "run {} of user {} lost its node; marked failed", run_id, message.user_id
            )
            ended += 1
        return ended
