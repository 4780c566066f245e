"""The one way out: every server-to-client event leaves through the Emitter.

User-stream events are numbered per user by the replay store, kept there and sent to the
user's room, all under that user's lock. A connection joining the room (fresh or resuming)
takes the same lock, so nothing emitted meanwhile is lost or reordered for it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import socketio

from schemas.auth import ResumePosition
from schemas.base import ServerPayload
from schemas.chat import ChatReady, UserStreamPayload
from schemas.registry import CHAT, server_event
from server.stores.replay_store import ReplayStore


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


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


class Emitter:
    """Typed emits: the event name and namespace come from the registry, never from callers."""

    def __init__(self, sio: socketio.AsyncServer, replay: ReplayStore) -> None:
        self._sio = sio
        self._replay = replay
        self._user_locks = _KeyedLocks()
        self.sent: Counter[str] = Counter()

    async def to_connection(self, sid: str, payload: ServerPayload) -> None:
        """A direct reply to one connection (hello, ready, errors)."""
        spec = server_event(type(payload))
        await self._sio.emit(
            spec.name, payload.model_dump(mode="json"), to=sid, namespace=spec.namespace
        )
        self.sent[spec.name] += 1

    async def to_namespace(self, payload: ServerPayload) -> None:
        """Every connection of the payload's namespace (notices, shutdown)."""
        spec = server_event(type(payload))
        await self._sio.emit(spec.name, payload.model_dump(mode="json"), namespace=spec.namespace)
        self.sent[spec.name] += 1

    async def to_user(self, user_id: str, payload: UserStreamPayload) -> int:
        """Sequence, keep and send an event to every connection of the user; returns its seq."""
        spec = server_event(type(payload))
        body = payload.model_dump(mode="json")
        async with self._user_locks.hold(user_id):
            event = await self._replay.append(user_id, spec.name, body, datetime.now(UTC))
            await self._sio.emit(spec.name, event.data, room=user_room(user_id), namespace=CHAT)
        self.sent[spec.name] += 1
        return event.seq

    async def attach(self, sid: str, user_id: str, resume: ResumePosition | None) -> ChatReady:
        """Join a /chat connection to the user's stream, replaying what it missed first."""
        async with self._user_locks.hold(user_id):
            if resume is None:
                position = await self._replay.position(user_id)
                ready = ChatReady(
                    epoch=position.epoch, head_seq=position.head_seq, recovery="fresh", replayed=0
                )
            else:
                replay = await self._replay.since(user_id, resume.epoch, resume.last_seq)
                for event in replay.events or ():
                    await self._sio.emit(event.name, event.data, to=sid, namespace=CHAT)
                    self.sent[event.name] += 1
                ready = ChatReady(
                    epoch=replay.position.epoch,
                    head_seq=replay.position.head_seq,
                    recovery="reset" if replay.events is None else "recovered",
                    replayed=len(replay.events or ()),
                )
            await self._sio.enter_room(sid, user_room(user_id), namespace=CHAT)
            await self.to_connection(sid, ready)
        return ready
