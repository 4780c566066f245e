"""The one way out: every server-to-client event leaves through the Emitter.

Events are typed: the name and namespace come from the app's registry
(schemas/registry.py), never from callers. Four ways out:

- `to_user`: a user-stream event (a `StreamPayload`) on its namespace: numbered per user
  and namespace by the replay store, kept for replay, sent to every connection of that user
  on that namespace, on every node;
- `to_connection`: a direct reply to one connection (hello, ready, errors);
- `to_room`: every connection in a room, on every node (python-socketio's rooms);
- `to_namespace`: every local connection of a namespace (this node's notices, shutdown).

In-process code follows a user's stream with `listen` (server/realtime/stream_listener.py):
the same events, in the same order, from the position it was opened at.

On one node the Emitter delivers each user-stream event to the user's connections itself;
in cluster mode the store publishes it on the stream's channel and each node with connections
on that stream delivers it from its subscription (server/cluster/stream_subscriber.py).
Either way delivery to local connections runs under the stream's lock, which a connection
attaching (fresh or resuming) also takes: nothing emitted meanwhile is lost, reordered or
doubled for it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import socketio
from engineio import packet as eio_packet
from loguru import logger

from schemas.auth import ResumePosition
from schemas.base import ServerPayload
from schemas.events import StreamPayload, StreamReady
from schemas.registry import CHAT, Registry
from server.metrics import Metrics
from server.realtime.keyed_locks import KeyedLocks
from server.realtime.packets import event_packet, stored_event_packet
from server.realtime.stream_listener import StreamListener
from server.stores.replay_store import ReplayStore, StoredEvent

# True while a packet is on its way out through the Emitter: lets a test prove that no packet
# leaves any other way.
EMITTING: ContextVar[bool] = ContextVar("emitting", default=False)


class OutboundGuard(Protocol):
    """Watches each connection's outbound queue (server/realtime/engine.py, via NetraServer)."""

    def check_outbound(self, sid: str, namespace: str) -> None: ...

    def expect_outbound(self, sid: str, namespace: str, packets: int) -> None: ...


class StreamFollower(Protocol):
    """Cluster mode: keeps this node subscribed to a stream while it has local followers
    (server/cluster/stream_subscriber.py). `follow` returns once events published from then
    on will be heard, and adds nothing if it raises; `unfollow` undoes one `follow`."""

    async def follow(self, key: str) -> None: ...

    def unfollow(self, key: str) -> None: ...


def stream_key(namespace: str, user_id: str) -> str:
    """The replay store's key of a user's stream on a namespace.

    /chat keeps the bare user id (the key histories were first stored under); any other
    namespace, or a user id that starts like a namespace, is `<namespace>:<user id>`.
    Namespace paths hold no `:` (schemas/events.py), so no two streams share a key."""
    if namespace == CHAT and not user_id.startswith("/"):
        return user_id
    return f"{namespace}:{user_id}"


def stream_namespace(key: str) -> str:
    return key.partition(":")[0] if key.startswith("/") else CHAT


@dataclass(slots=True)
class _Follower:
    """A local connection's place in its stream."""

    epoch: str
    through: int  # the last seq it was sent
    eio_sid: str | None  # its Engine.IO connection, where its packets are queued


class Emitter:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        replay: ReplayStore,
        metrics: Metrics,
        *,
        registry: Registry | None = None,
        outbound: OutboundGuard | None = None,
        follower: StreamFollower | None = None,
    ) -> None:
        self._sio = sio
        self._follower = follower
        self.registry = registry or Registry()
        self._outbound = outbound
        self._metrics = metrics
        self._replay = replay
        self._stream_locks = KeyedLocks()
        # Per stream key, each local connection following it and its place in it.
        self._attached: dict[str, dict[str, _Follower]] = {}
        # Per stream key, the in-process listeners following it.
        self._listeners: dict[str, set[StreamListener]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def packet(self, eio_sid: str, pkt: eio_packet.Packet) -> None:
        """Where every packet leaves, this class's own and python-socketio's (connect
        replies, acks, room emits: server/realtime/overrides/send_packet.py)."""
        token = EMITTING.set(True)
        try:
            await self._sio.eio.send_packet(eio_sid, pkt)
        finally:
            EMITTING.reset(token)
        self._metrics.packets_out.inc()

    async def packets(self, eio_sid: str, pkts: list[eio_packet.Packet]) -> None:
        """Several packets queued on one connection with no wait between them (a replay)."""
        token = EMITTING.set(True)
        try:
            await self._sio.eio.send_packets(eio_sid, pkts)
        finally:
            EMITTING.reset(token)
        self._metrics.packets_out.inc(len(pkts))

    async def to_connection(self, sid: str, payload: ServerPayload) -> None:
        """A direct reply to one local connection (hello, ready, errors)."""
        spec = self.registry.server_event(type(payload))
        await self._sio.emit(
            spec.name,
            payload.model_dump(mode="json"),
            to=sid,
            namespace=spec.namespace,
            ignore_queue=True,
        )
        self._metrics.count_out(spec.name)
        self._check_outbound([sid], spec.namespace)

    async def to_room(self, room: str, payload: ServerPayload) -> None:
        """Every connection in `room` on the payload's namespace, on every node."""
        spec = self.registry.server_event(type(payload))
        await self._sio.emit(
            spec.name, payload.model_dump(mode="json"), to=room, namespace=spec.namespace
        )
        self._metrics.count_out(spec.name)

    async def to_namespace(self, payload: ServerPayload) -> None:
        """Every local connection of the payload's namespace (this node's notices, shutdown)."""
        spec = self.registry.server_event(type(payload))
        await self._sio.emit(
            spec.name, payload.model_dump(mode="json"), namespace=spec.namespace, ignore_queue=True
        )
        self._metrics.count_out(spec.name)

    async def to_user(self, user_id: str, payload: StreamPayload) -> int:
        """Sequence, keep and send an event to every connection of the user on the
        payload's namespace; returns its seq."""
        spec = self.registry.server_event(type(payload))
        key = stream_key(spec.namespace, user_id)
        body = payload.model_dump(mode="json")
        now = datetime.now(UTC)
        started = time.perf_counter()
        if self._replay.publishes:
            event = await self._replay.append(key, spec.name, body, now)
        else:
            async with self._stream_locks.hold(key):
                event = await self._replay.append(key, spec.name, body, now)
                await self._deliver(key, event.name, event.data, event.epoch, event.encoded)
        self._metrics.emit_seconds.observe(time.perf_counter() - started)
        self._metrics.count_out(spec.name)
        return event.seq

    async def deliver_published(
        self, key: str, name: str, data: dict[str, Any], epoch: str
    ) -> None:
        """Cluster mode: an event the store published, heard in seq order."""
        async with self._stream_locks.hold(key):
            await self._deliver(key, name, data, epoch)

    async def attach(
        self, sid: str, user_id: str, resume: ResumePosition | None, namespace: str
    ) -> StreamReady:
        """Join a connection to the user's stream on `namespace`, replaying what it missed
        first; then send it the namespace's ready event."""
        ready_model = self.registry.namespace(namespace).ready
        if ready_model is None:
            raise ValueError(f"{namespace} has no user stream")
        key = stream_key(namespace, user_id)
        eio_sid = self._sio.manager.eio_sid_from_sid(sid, namespace)
        async with self._following(key, sid), self._stream_locks.hold(key):
            if resume is None:
                position = await self._replay.position(key)
                recovery, replayed = "fresh", 0
            else:
                replay = await self._replay.since(key, resume.epoch, resume.last_seq)
                position = replay.position
                # The replay and the ready event are queued at once: not a slow reader.
                self._expect_outbound(sid, namespace, len(replay.events or ()) + 1)
                await self._replay_to(eio_sid, namespace, replay.events or ())
                recovery = "reset" if replay.events is None else "recovered"
                replayed = len(replay.events or ())
            follower = _Follower(position.epoch, position.head_seq, eio_sid)
            self._attached.setdefault(key, {})[sid] = follower
            ready = ready_model(
                epoch=position.epoch,
                head_seq=position.head_seq,
                recovery=recovery,
                replayed=replayed,
            )
            await self.to_connection(sid, ready)
        self._metrics.resumes.labels(recovery).inc()
        self._metrics.replayed_events.inc(replayed)
        return ready

    @asynccontextmanager
    async def listen(self, user_id: str, namespace: str = CHAT) -> AsyncIterator[StreamListener]:
        """Follow the user's stream on `namespace` in-process, from its current position,
        until the block exits."""
        key = stream_key(namespace, user_id)
        if self._follower is not None:
            await self._follower.follow(key)
        try:
            async with self._stream_locks.hold(key):
                listener = StreamListener(self._replay, key, await self._replay.position(key))
                self._listeners.setdefault(key, set()).add(listener)
            try:
                yield listener
            finally:
                listeners = self._listeners.get(key)
                if listeners is not None:
                    listeners.discard(listener)
                    if not listeners:
                        del self._listeners[key]
        finally:
            if self._follower is not None:
                self._follower.unfollow(key)

    def detach(self, sid: str, user_id: str, namespace: str) -> None:
        key = stream_key(namespace, user_id)
        attached = self._attached.get(key)
        if attached is not None:
            if attached.pop(sid, None) is not None and self._follower is not None:
                self._follower.unfollow(key)
            if not attached:
                del self._attached[key]

    async def close(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def catch_up_all(self) -> None:
        """Cluster mode, after the subscription was lost: send each connection what it missed."""
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.catch_up()
        for key in list(self._attached):
            async with self._stream_locks.hold(key):
                for sid, follower in list(self._attached.get(key, {}).items()):
                    await self._catch_up(key, sid, follower)

    @asynccontextmanager
    async def _following(self, key: str, sid: str) -> AsyncIterator[None]:
        """Subscribed before the stream's position is read under its lock: every event
        published after that read reaches this node, and older ones are dropped by seq."""
        if self._follower is None:
            yield
            return
        await self._follower.follow(key)
        try:
            yield
        except BaseException:
            if sid not in self._attached.get(key, {}):
                self._follower.unfollow(key)  # the attach failed before it counted
            raise

    async def _deliver(
        self, key: str, name: str, data: dict[str, Any], epoch: str, encoded: str | None = None
    ) -> None:
        listeners = self._listeners.get(key)
        if listeners:
            event = StoredEvent(int(data["seq"]), name, data, epoch, encoded)
            for listener in listeners:
                listener.offer(event)
        followers = self._attached.get(key)
        if not followers:
            return
        seq = int(data["seq"])
        live: list[tuple[str, _Follower]] = []
        for sid, follower in list(followers.items()):
            if follower.epoch != epoch:
                self._drop(key, sid, "its stream's history was lost")
            elif seq == follower.through + 1:
                live.append((sid, follower))
            elif seq > follower.through:
                # Events this node never heard (a lost subscription): from the store instead.
                await self._catch_up(key, sid, follower)
        if not live:
            return
        namespace = stream_namespace(key)
        # Encoded once for every connection of the user (or once for good, by the store).
        packet = event_packet(namespace, name, data, encoded)
        for _, follower in live:
            if follower.eio_sid is not None:
                await self.packet(follower.eio_sid, packet)
            follower.through = seq
        self._check_outbound((sid for sid, _ in live), namespace)

    async def _catch_up(self, key: str, sid: str, follower: _Follower) -> None:
        replay = await self._replay.since(key, follower.epoch, follower.through)
        if replay.events is None:
            self._drop(key, sid, "the events it missed are gone")
            return
        namespace = stream_namespace(key)
        self._expect_outbound(sid, namespace, len(replay.events))
        await self._replay_to(follower.eio_sid, namespace, replay.events)
        if replay.events:
            follower.through = replay.events[-1].seq

    async def _replay_to(
        self, eio_sid: str | None, namespace: str, events: Sequence[StoredEvent]
    ) -> None:
        """Queue stored events on one connection, each encoded once, in seq order."""
        if eio_sid is not None and events:
            await self.packets(
                eio_sid,
                [stored_event_packet(namespace, event) for event in events],
            )
        for name, count in Counter(event.name for event in events).items():
            self._metrics.count_out(name, count)

    def _check_outbound(self, sids: Iterable[str], namespace: str) -> None:
        # An emit only queues packets; a client that stops reading would grow its queue forever.
        if self._outbound is not None:
            for sid in sids:
                self._outbound.check_outbound(sid, namespace)

    def _expect_outbound(self, sid: str, namespace: str, packets: int) -> None:
        if self._outbound is not None:
            self._outbound.expect_outbound(sid, namespace, packets)

    def _drop(self, key: str, sid: str, why: str) -> None:
        """Disconnect a connection that cannot be brought up to date: it reconnects, resumes,
        and is told to reload."""
        namespace = stream_namespace(key)
        followers = self._attached.get(key)
        if followers is not None:
            if followers.pop(sid, None) is not None and self._follower is not None:
                self._follower.unfollow(key)
            if not followers:
                del self._attached[key]
        logger.bind(sid=sid, stream=key).warning(
            "disconnecting sid={} stream={} namespace={}: {}", sid, key, namespace, why
        )
        task = asyncio.create_task(self._sio.disconnect(sid, namespace=namespace))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
