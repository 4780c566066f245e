"""The one way out: every server-to-client event leaves through the Emitter.

User-stream events are numbered per user by the replay store and kept there. On one node
the Emitter then delivers each to the user's room itself; in cluster mode the store
publishes it and every node delivers it from its subscription (server/cluster/delivery.py).
Either way delivery to local connections runs under the user's lock, which a connection
attaching (fresh or resuming) also takes: nothing emitted meanwhile is lost, reordered or
doubled for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import socketio
from loguru import logger

from schemas.auth import ResumePosition
from schemas.base import ServerPayload
from schemas.chat import ChatReady, UserStreamPayload
from schemas.registry import CHAT, server_event
from server.cluster.delivery import USER_ROOM_PREFIX
from server.metrics import Metrics
from server.stores.replay_store import ReplayStore


def user_room(user_id: str) -> str:
    return USER_ROOM_PREFIX + user_id


class _KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class OutboundGuard(Protocol):
    """Watches each connection's outbound queue (server/engine.py, via NetraServer)."""

    def check_outbound(self, sid: str, namespace: str) -> None: ...

    def expect_outbound(self, sid: str, namespace: str, packets: int) -> None: ...


@dataclass(slots=True)
class _Follower:
    """A local /chat connection's place in its user's stream."""

    epoch: str
    through: int  # the last seq it was sent


class Emitter:
    """Typed emits: the event name and namespace come from the registry, never from callers."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        replay: ReplayStore,
        metrics: Metrics,
        *,
        outbound: OutboundGuard | None = None,
    ) -> None:
        self._sio = sio
        self._outbound = outbound
        self._metrics = metrics
        self._replay = replay
        self._user_locks = _KeyedLocks()
        # Per user, each local /chat connection and its place in the stream.
        self._attached: dict[str, dict[str, _Follower]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def to_connection(self, sid: str, payload: ServerPayload) -> None:
        """A direct reply to one local connection (hello, ready, errors)."""
        spec = server_event(type(payload))
        await self._sio.emit(
            spec.name,
            payload.model_dump(mode="json"),
            to=sid,
            namespace=spec.namespace,
            ignore_queue=True,
        )
        self._metrics.events_out.labels(spec.name).inc()
        self._check_outbound([sid], spec.namespace)

    async def to_namespace(self, payload: ServerPayload) -> None:
        """Every local connection of the payload's namespace (this node's notices, shutdown)."""
        spec = server_event(type(payload))
        await self._sio.emit(
            spec.name, payload.model_dump(mode="json"), namespace=spec.namespace, ignore_queue=True
        )
        self._metrics.events_out.labels(spec.name).inc()

    async def to_user(self, user_id: str, payload: UserStreamPayload) -> int:
        """Sequence, keep and send an event to every connection of the user; returns its seq."""
        spec = server_event(type(payload))
        body = payload.model_dump(mode="json")
        now = datetime.now(UTC)
        started = time.perf_counter()
        if self._replay.publishes:
            event = await self._replay.append(user_id, spec.name, body, now)
        else:
            async with self._user_locks.hold(user_id):
                event = await self._replay.append(user_id, spec.name, body, now)
                await self._deliver(user_id, event.name, event.data, event.epoch)
        self._metrics.emit_seconds.observe(time.perf_counter() - started)
        self._metrics.events_out.labels(spec.name).inc()
        return event.seq

    async def deliver_published(
        self, user_id: str, name: str, data: dict[str, Any], epoch: str
    ) -> None:
        """Cluster mode: an event the store published, heard in seq order."""
        async with self._user_locks.hold(user_id):
            await self._deliver(user_id, name, data, epoch)

    async def attach(self, sid: str, user_id: str, resume: ResumePosition | None) -> ChatReady:
        """Join a /chat connection to the user's stream, replaying what it missed first."""
        async with self._user_locks.hold(user_id):
            if resume is None:
                position = await self._replay.position(user_id)
                recovery, replayed = "fresh", 0
            else:
                replay = await self._replay.since(user_id, resume.epoch, resume.last_seq)
                position = replay.position
                # The replay and chat:ready are queued at once: not a sign of a slow reader.
                self._expect_outbound(sid, len(replay.events or ()) + 1)
                for event in replay.events or ():
                    await self._sio.emit(
                        event.name, event.data, to=sid, namespace=CHAT, ignore_queue=True
                    )
                    self._metrics.events_out.labels(event.name).inc()
                recovery = "reset" if replay.events is None else "recovered"
                replayed = len(replay.events or ())
            follower = _Follower(position.epoch, position.head_seq)
            self._attached.setdefault(user_id, {})[sid] = follower
            await self._sio.enter_room(sid, user_room(user_id), namespace=CHAT)
            ready = ChatReady(
                epoch=position.epoch,
                head_seq=position.head_seq,
                recovery=recovery,
                replayed=replayed,
            )
            await self.to_connection(sid, ready)
        self._metrics.resumes.labels(recovery).inc()
        self._metrics.replayed_events.inc(replayed)
        return ready

    def detach(self, sid: str, user_id: str) -> None:
        attached = self._attached.get(user_id)
        if attached is not None:
            attached.pop(sid, None)
            if not attached:
                del self._attached[user_id]

    async def close(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def catch_up_all(self) -> None:
        """Cluster mode, after the subscription was lost: send each connection what it missed."""
        for user_id in list(self._attached):
            async with self._user_locks.hold(user_id):
                for sid, follower in list(self._attached.get(user_id, {}).items()):
                    await self._catch_up(user_id, sid, follower)

    async def _deliver(self, user_id: str, name: str, data: dict[str, Any], epoch: str) -> None:
        seq = int(data["seq"])
        skip: list[str] = []
        live: dict[str, _Follower] = {}
        for sid, follower in list(self._attached.get(user_id, {}).items()):
            if follower.epoch != epoch or seq <= follower.through:
                skip.append(sid)
            elif seq == follower.through + 1:
                live[sid] = follower
            else:
                # Events this node never heard (a lost subscription): from the store instead.
                skip.append(sid)
                await self._catch_up(user_id, sid, follower)
            if follower.epoch != epoch:
                self._drop(user_id, sid, "its stream's history was lost")
        await self._sio.emit(
            name, data, room=user_room(user_id), namespace=CHAT, skip_sid=skip, ignore_queue=True
        )
        for follower in live.values():
            follower.through = seq
        self._check_outbound(list(live), CHAT)

    async def _catch_up(self, user_id: str, sid: str, follower: _Follower) -> None:
        replay = await self._replay.since(user_id, follower.epoch, follower.through)
        if replay.events is None:
            self._drop(user_id, sid, "the events it missed are gone")
            return
        self._expect_outbound(sid, len(replay.events))
        for event in replay.events:
            await self._sio.emit(event.name, event.data, to=sid, namespace=CHAT, ignore_queue=True)
            self._metrics.events_out.labels(event.name).inc()
            follower.through = event.seq

    def _check_outbound(self, sids: list[str], namespace: str) -> None:
        # An emit only queues packets; a client that stops reading would grow its queue forever.
        if self._outbound is not None:
            for sid in sids:
                self._outbound.check_outbound(sid, namespace)

    def _expect_outbound(self, sid: str, packets: int) -> None:
        if self._outbound is not None:
            self._outbound.expect_outbound(sid, CHAT, packets)

    def _drop(self, user_id: str, sid: str, why: str) -> None:
        """Disconnect a connection that cannot be brought up to date: it reconnects, resumes,
        and is told to reload."""
        self.detach(sid, user_id)
        logger.bind(sid=sid, user=user_id).warning(
            "disconnecting sid={} user={}: {}", sid, user_id, why
        )
        task = asyncio.create_task(self._sio.disconnect(sid, namespace=CHAT))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
