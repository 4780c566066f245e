from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import orjson
import pytest
from engineio import packet as eio_packet

from schemas.auth import ResumePosition
from schemas.chat import AgentDelta
from schemas.registry import CHAT
from server.metrics import Metrics
from server.realtime.emitter import Emitter
from server.stores.replay_memory import MemoryReplayStore
from server.stores.replay_store import Replay

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ("server", "namespaces", "schemas")
# python-socketio's ways to put an event on the wire: Server/Namespace .emit, .send, .call.
EMIT_METHODS = {"emit", "send", "call"}
# Calls with those names that are not Socket.IO (the chat service's own `send`, a coroutine's
# `send` in server/agent/eager.py).
NOT_SOCKETIO = {"self.chat", "coro"}


def _emit_calls(path: Path) -> list[int]:
    """Lines calling `.emit(`, `.send(` or `.call(` on anything but a known non-Socket.IO object."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in EMIT_METHODS
        and ast.unparse(node.func.value) not in NOT_SOCKETIO
    ]


def test_the_emitter_is_the_only_code_that_emits() -> None:
    offenders = {}
    for package in SHIPPED:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "server" / "realtime" / "emitter.py":
                continue
            if lines := _emit_calls(path):
                offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}
    emitter = ROOT / "server" / "realtime" / "emitter.py"
    assert _emit_calls(emitter), "the scan must see the emitter's own emits"


class RecordingSio:
    """The parts of python-socketio's AsyncServer the emitter uses, recording what is sent."""

    def __init__(self) -> None:
        self.packets: list[tuple[str, str]] = []  # (eio_sid, Engine.IO packet text)
        self.emitted: list[tuple[str, dict[str, object], dict[str, object]]] = []
        self.manager = self
        self.eio = self

    def eio_sid_from_sid(self, sid: str, namespace: str) -> str:
        return f"eio-{sid}"

    async def emit(self, name: str, data: dict[str, object], **kw: object) -> None:
        self.emitted.append((name, data, kw))

    async def send_packet(self, eio_sid: str, pkt: eio_packet.Packet) -> None:
        self.packets.append((eio_sid, pkt.encode()))

    async def send_packets(self, eio_sid: str, pkts: list[eio_packet.Packet]) -> None:
        self.packets.extend((eio_sid, pkt.encode()) for pkt in pkts)


def _events(texts: list[str]) -> list[tuple[str, dict[str, object]]]:
    """Engine.IO MESSAGE text of a Socket.IO EVENT on /chat, as the client decodes it."""
    prefix = "42/chat,"
    assert all(text.startswith(prefix) for text in texts)
    events = []
    for text in texts:
        name, data = orjson.loads(text[len(prefix) :])
        events.append((name, data))
    return events


async def test_user_events_are_numbered_kept_and_counted() -> None:
    sio = RecordingSio()
    replay = MemoryReplayStore(max_events=100, ttl_s=60)
    metrics = Metrics()
    emitter = Emitter(sio, replay, metrics)
    await emitter.attach("s1", "alice", None, CHAT)
    await emitter.attach("s2", "alice", None, CHAT)
    seqs = [await emitter.to_user("alice", AgentDelta(run_id="r", text=str(i))) for i in range(3)]
    assert seqs == [1, 2, 3]
    assert sorted({eio_sid for eio_sid, _ in sio.packets}) == ["eio-s1", "eio-s2"]
    for eio_sid in ("eio-s1", "eio-s2"):
        sent = _events([text for to, text in sio.packets if to == eio_sid])
        assert [name for name, _ in sent] == ["agent:delta"] * 3
        assert [data["seq"] for _, data in sent] == [1, 2, 3]
    kept = await replay.since("alice", replay.epoch, 0)
    assert kept.events is not None
    # What is replayed is the very payload first sent, not a re-serialisation of it.
    first = _events([text for to, text in sio.packets if to == "eio-s1"])
    assert [e.data for e in kept.events] == [data for _, data in first]
    assert (
        metrics.registry.get_sample_value("netra_events_out_total", {"event": "agent:delta"}) == 3
    )


async def test_a_resume_replays_each_missed_event_then_ready() -> None:
    sio = RecordingSio()
    replay = MemoryReplayStore(max_events=100, ttl_s=60)
    emitter = Emitter(sio, replay, Metrics())
    for i in range(5):
        await emitter.to_user("alice", AgentDelta(run_id="r", text=str(i)))
    ready = await emitter.attach(
        "s1", "alice", ResumePosition(epoch=replay.epoch, last_seq=2), CHAT
    )
    assert (ready.recovery, ready.replayed, ready.head_seq) == ("recovered", 3, 5)
    assert [data["seq"] for _, data in _events([t for _, t in sio.packets])] == [3, 4, 5]
    assert [name for name, _, _ in sio.emitted] == ["chat:ready"]
    await emitter.to_user("alice", AgentDelta(run_id="r", text="live"))
    assert [data["seq"] for _, data in _events([t for _, t in sio.packets])] == [3, 4, 5, 6]


class SlowReplayStore(MemoryReplayStore):
    """Reads like a store across the network: the loop runs other work meanwhile."""

    async def since(self, user_id: str, epoch: str, last_seq: int) -> Replay:
        replay = await super().since(user_id, epoch, last_seq)
        for _ in range(20):
            await asyncio.sleep(0)
        return replay


async def test_events_emitted_while_a_resume_reads_the_store_reach_it_once_in_order() -> None:
    sio = RecordingSio()
    replay = SlowReplayStore(max_events=100, ttl_s=60)
    emitter = Emitter(sio, replay, Metrics())
    for i in range(3):
        await emitter.to_user("alice", AgentDelta(run_id="r", text=str(i)))
    resume = ResumePosition(epoch=replay.epoch, last_seq=1)
    resuming = asyncio.create_task(emitter.attach("s1", "alice", resume, CHAT))
    await asyncio.sleep(0)  # the resume is reading the store
    for i in range(3, 8):
        await emitter.to_user("alice", AgentDelta(run_id="r", text=str(i)))
        await asyncio.sleep(0)
    ready = await resuming
    assert ready.head_seq == 3  # the live events waited for the resume (the user's lock)
    assert [data["seq"] for _, data in _events([t for _, t in sio.packets])] == list(range(2, 9))


@pytest.mark.parametrize("user", ["alice", "bob"])
async def test_each_user_has_their_own_sequence(user: str) -> None:
    class NullSio:
        async def emit(self, *args: object, **kw: object) -> None:
            return None

    emitter = Emitter(NullSio(), MemoryReplayStore(max_events=10, ttl_s=60), Metrics())
    await emitter.to_user("other", AgentDelta(run_id="r", text="x"))
    assert await emitter.to_user(user, AgentDelta(run_id="r", text="x")) == 1
