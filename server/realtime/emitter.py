"""The one way out: every server-to-client event leaves through the Emitter.

User-stream events are numbered per user by the replay store and kept there. On one node
the Emitter then delivers each to the user's connections itself; in cluster mode the store
publishes it and every node delivers it from its subscription (server/cluster/delivery.py).
Either way delivery to local connections runs under the user's lock, which a connection
attaching (fresh or resuming) also takes: nothing emitted meanwhile is lost, reordered or
doubled for it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import socketio
from loguru import logger

from schemas.auth import ResumePosition
from schemas.base import ServerPayload
from schemas.chat import ChatReady, UserStreamPayload
from schemas.registry import CHAT, server_event
from server.metrics import Metrics
from server.realtime.keyed_locks import KeyedLocks
from server.realtime.packets import event_packet
from server.stores.replay_store import ReplayStore, StoredEvent


class OutboundGuard(Protocol):
    """Watches each connection's outbound queue (server/realtime/engine.py, via NetraServer)."""

    def check_outbound(self, sid: str, namespace: str) -> None: ...

    def expect_outbound(self, sid: str, namespace: str, packets: int) -> None: ...


@dataclass(slots=True)
class _Follower:
    """A local /chat connection's place in its user's stream."""

    epoch: str
    through: int  # the last seq it was sent
    eio_sid: str | None  # its Engine.IO connection, where its packets are queued


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
        self._user_locks = KeyedLocks()
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
        self._metrics.count_out(spec.name)
        self._check_outbound([sid], spec.namespace)

    async def to_namespace(self, payload: ServerPayload) -> None:
        """Every local connection of the payload's namespace (this node's notices, shutdown)."""
        spec = server_event(type(payload))
        await self._sio.emit(
            spec.name, payload.model_dump(mode="json"), namespace=spec.namespace, ignore_queue=True
        )
        self._metrics.count_out(spec.name)

    async def to_user(self, user_id: str, payload: UserStreamPayload) -> int:
        """Sequence, keep and send an event to every connection of the user; returns its seq."""
        name = server_event(type(payload)).name
        body = payload.model_dump(mode="json")
        now = datetime.now(UTC)
        started = time.perf_counter()
        if self._replay.publishes:
            event = await self._replay.append(user_id, name, body, now)
        else:
            async with self._user_locks.hold(user_id):
                event = await self._replay.append(user_id, name, body, now)
                await self._deliver(user_id, event.name, event.data, event.epoch)
        self._metrics.emit_seconds.observe(time.perf_counter() - started)
        self._metrics.count_out(name)
        return event.seq

    async def deliver_published(
        self, user_id: str, name: str, data: dict[str, Any], epoch: str
    ) -> None:
        """Cluster mode: an event the store published, heard in seq order."""
        async with self._user_locks.hold(user_id):
            await self._deliver(user_id, name, data, epoch)

    async def attach(self, sid: str, user_id: str, resume: ResumePosition | None) -> ChatReady:
        """Join a /chat connection to the user's stream, replaying what it missed first."""
        eio_sid = self._sio.manager.eio_sid_from_sid(sid, CHAT)
        async with self._user_locks.hold(user_id):
            if resume is None:
                position = await self._replay.position(user_id)
                recovery, replayed = "fresh", 0
            else:
                replay = await self._replay.since(user_id, resume.epoch, resume.last_seq)
                position = replay.position
                # The replay and chat:ready are queued at once: not a sign of a slow reader.
                self._expect_outbound(sid, len(replay.events or ()) + 1)
                await self._replay_to(eio_sid, replay.events or ())
                recovery = "reset" if replay.events is None else "recovered"
                replayed = len(replay.events or ())
            follower = _Follower(position.epoch, position.head_seq, eio_sid)
            self._attached.setdefault(user_id, {})[sid] = follower
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
        followers = self._attached.get(user_id)
        if not followers:
            return
        seq = int(data["seq"])
        live: list[tuple[str, _Follower]] = []
        for sid, follower in list(followers.items()):
            if follower.epoch != epoch:
                self._drop(user_id, sid, "its stream's history was lost")
            elif seq == follower.through + 1:
                live.append((sid, follower))
            elif seq > follower.through:
                # Events this node never heard (a lost subscription): from the store instead.
                await self._catch_up(user_id, sid, follower)
        if not live:
            return
        # Encoded once for every connection of the user.
        packet = event_packet(CHAT, name, data)
        send = self._sio._send_eio_packet
        for _, follower in live:
            if follower.eio_sid is not None:
                await send(follower.eio_sid, packet)
            follower.through = seq
        self._check_outbound((sid for sid, _ in live), CHAT)

    async def _catch_up(self, user_id: str, sid: str, follower: _Follower) -> None:
        replay = await self._replay.since(user_id, follower.epoch, follower.through)
        if replay.events is None:
            self._drop(user_id, sid, "the events it missed are gone")
            return
        self._expect_outbound(sid, len(replay.events))
        await self._replay_to(follower.eio_sid, replay.events)
        if replay.events:
            follower.through = replay.events[-1].seq

    async def _replay_to(self, eio_sid: str | None, events: Iterable[StoredEvent]) -> None:
        """Queue stored events on one connection, each encoded once, in seq order."""
        sent: Counter[str] = Counter()
        send = self._sio._send_eio_packet
        for event in events:
            if eio_sid is not None:
                await send(eio_sid, event_packet(CHAT, event.name, event.data))
            sent[event.name] += 1
        for name, count in sent.items():
            self._metrics.count_out(name, count)

    def _check_outbound(self, sids: Iterable[str], namespace: str) -> None:
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
