from __future__ import annotations

import ast
from pathlib import Path

import pytest

from schemas.chat import AgentDelta
from server.emitter import Emitter
from server.metrics import Metrics
from server.stores.replay_memory import MemoryReplayStore

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("server", "namespaces", "schemas")
# python-socketio's ways to put an event on the wire: Server/Namespace .emit, .send, .call.
EMIT_METHODS = {"emit", "send", "call"}
# Calls with those names that are not Socket.IO (the chat service's own `send`).
NOT_SOCKETIO = {"self.chat"}


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
            if path == ROOT / "server" / "emitter.py":
                continue
            if lines := _emit_calls(path):
                offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}
    assert _emit_calls(ROOT / "server" / "emitter.py"), "the scan must see the emitter's own emits"


async def test_user_events_are_numbered_kept_and_counted() -> None:
    sent: list[tuple[str, dict[str, object], dict[str, object]]] = []

    class RecordingSio:
        async def emit(self, name: str, data: dict[str, object], **kw: object) -> None:
            sent.append((name, data, kw))

    replay = MemoryReplayStore(max_events=100, ttl_s=60)
    metrics = Metrics()
    emitter = Emitter(RecordingSio(), replay, metrics)
    seqs = [await emitter.to_user("alice", AgentDelta(run_id="r", text=str(i))) for i in range(3)]
    assert seqs == [1, 2, 3]
    assert [data["seq"] for _, data, _ in sent] == [1, 2, 3]
    assert all(kw["room"] == "user:alice" and kw["namespace"] == "/chat" for _, _, kw in sent)
    kept = await replay.since("alice", replay.epoch, 0)
    assert kept.events is not None
    # What is replayed is the very payload first sent, not a re-serialisation of it.
    assert [e.data for e in kept.events] == [data for _, data, _ in sent]
    assert (
        metrics.registry.get_sample_value("netra_events_out_total", {"event": "agent:delta"}) == 3
    )


@pytest.mark.parametrize("user", ["alice", "bob"])
async def test_each_user_has_their_own_sequence(user: str) -> None:
    class NullSio:
        async def emit(self, *args: object, **kw: object) -> None:
            return None

    emitter = Emitter(NullSio(), MemoryReplayStore(max_events=10, ttl_s=60), Metrics())
    await emitter.to_user("other", AgentDelta(run_id="r", text="x"))
    assert await emitter.to_user(user, AgentDelta(run_id="r", text="x")) == 1
