"""The Emitter's side of per-stream channels: it follows a stream before reading its position,
and unfollows once for each connection that leaves, however it leaves."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from engineio import packet as eio_packet

from schemas.auth import ResumePosition
from schemas.registry import CHAT
from server.metrics import Metrics
from server.realtime.emitter import Emitter
from server.stores.replay_memory import MemoryReplayStore
from server.stores.replay_store import Position, Replay


class FakeSio:
    def __init__(self) -> None:
        self.manager = self
        self.disconnected: list[str] = []

    def eio_sid_from_sid(self, sid: str, namespace: str) -> str:
        return f"eio-{sid}"

    async def emit(self, *args: object, **kw: object) -> None:
        return None

    async def _send_eio_packet(self, eio_sid: str, pkt: eio_packet.Packet) -> None:
        return None

    async def disconnect(self, sid: str, namespace: str) -> None:
        self.disconnected.append(sid)


class Journal:
    """What the follower and the store were asked, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.following: dict[str, int] = {}


class RecordingFollower:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def follow(self, key: str) -> None:
        await asyncio.sleep(0)  # a round trip to Redis
        self.journal.calls.append(("follow", key))
        self.journal.following[key] = self.journal.following.get(key, 0) + 1

    def unfollow(self, key: str) -> None:
        self.journal.calls.append(("unfollow", key))
        self.journal.following[key] -= 1
        if not self.journal.following[key]:
            del self.journal.following[key]


class RecordingStore(MemoryReplayStore):
    def __init__(self, journal: Journal, fail: bool = False) -> None:
        super().__init__(max_events=100, ttl_s=60)
        self.journal = journal
        self.fail = fail

    @property
    def publishes(self) -> bool:
        return True  # cluster mode: events arrive through deliver_published

    async def position(self, user_id: str) -> Position:
        self.journal.calls.append(("read", user_id))
        if self.fail:
            raise RuntimeError("store unavailable")
        return await super().position(user_id)

    async def since(self, user_id: str, epoch: str, last_seq: int) -> Replay:
        self.journal.calls.append(("read", user_id))
        return await super().since(user_id, epoch, last_seq)


def make(fail: bool = False) -> tuple[Emitter, Journal, RecordingStore, FakeSio]:
    journal = Journal()
    store = RecordingStore(journal, fail)
    sio = FakeSio()
    emitter = Emitter(sio, store, Metrics(), follower=RecordingFollower(journal))
    return emitter, journal, store, sio


async def test_attach_follows_before_it_reads_the_position() -> None:
    emitter, journal, store, _ = make()
    await emitter.attach("s1", "alice", None, CHAT)
    await emitter.attach("s2", "alice", ResumePosition(epoch=store.epoch, last_seq=0), CHAT)
    assert journal.calls == [
        ("follow", "alice"),
        ("read", "alice"),
        ("follow", "alice"),
        ("read", "alice"),
    ]
    assert journal.following == {"alice": 2}


async def test_each_connection_that_leaves_unfollows_once() -> None:
    emitter, journal, _, _ = make()
    await emitter.attach("s1", "alice", None, CHAT)
    await emitter.attach("s2", "alice", None, CHAT)
    await emitter.attach("s3", "bob", None, CHAT)
    emitter.detach("s1", "alice", CHAT)
    emitter.detach("s1", "alice", CHAT)  # twice: counted once
    emitter.detach("nobody", "alice", CHAT)
    assert journal.following == {"alice": 1, "bob": 1}
    emitter.detach("s2", "alice", CHAT)
    emitter.detach("s3", "bob", CHAT)
    assert journal.following == {}


async def test_a_dropped_connection_unfollows() -> None:
    emitter, journal, store, sio = make()
    await emitter.attach("s1", "alice", None, CHAT)
    event = await store.append("alice", "agent:delta", {"run_id": "r"}, datetime.now())
    # An event of another history (Redis lost its data): the connection is dropped.
    await emitter.deliver_published("alice", event.name, event.data, "another-epoch")
    await emitter.close()
    assert sio.disconnected == ["s1"]
    assert journal.following == {}
    emitter.detach("s1", "alice", CHAT)  # its disconnect comes later: nothing more
    assert journal.following == {}


async def test_a_failed_attach_unfollows() -> None:
    emitter, journal, _, _ = make(fail=True)
    with pytest.raises(RuntimeError):
        await emitter.attach("s1", "alice", None, CHAT)
    assert journal.following == {}
    emitter.detach("s1", "alice", CHAT)
    assert journal.following == {}
