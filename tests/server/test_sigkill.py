"""SIGKILL mid-answer on a real process: after a restart on the same database the answer is
failed, with the text checkpointed before the kill, and history matches what was seen."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import socketio

from tests.harness import counted, free_port
from tests.server.test_shutdown import dev_token, node

NS = "/chat"
CHECKPOINT_S = 0.5  # WS_CHECKPOINT_INTERVAL_MS, set on the server below
# Slack for the checkpoint's write to commit and for scheduling on a busy machine.
SLACK_S = 0.5


class Watcher:
    """A client's /chat events, each with the time it arrived."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[float, str, Any]] = []
        self.arrived = asyncio.Event()
        self.client.on("*", self._on_event, namespace=NS)

    async def _on_event(self, name: str, data: Any) -> None:
        self.events.append((asyncio.get_running_loop().time(), name, data))
        self.arrived.set()

    def of(self, name: str) -> list[Any]:
        return [data for _, event, data in self.events if event == name]

    def text(self, run_id: str) -> str:
        deltas = self.of("agent:delta")
        return "".join(d["text"] for d in deltas if d["run_id"] == run_id)

    async def until(self, done: Any, within_s: float = 15) -> None:
        async with asyncio.timeout(within_s):
            while not done():
                self.arrived.clear()
                await self.arrived.wait()


async def test_sigkill_mid_answer_keeps_the_checkpointed_text(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    loop = asyncio.get_running_loop()
    first_client = Watcher()
    interval = {"WS_CHECKPOINT_INTERVAL_MS": str(int(CHECKPOINT_S * 1000))}
    async with node(tmp_path, port, WS_DEMO_TOKENS_PER_S="50", **interval) as first:
        token = await dev_token(url)
        await first_client.client.connect(url, namespaces=[NS], auth={"token": token})
        await first_client.until(lambda: first_client.of("chat:ready"))
        epoch = first_client.of("chat:ready")[0]["epoch"]
        ack = await first_client.client.call(
            "chat:send",
            {"client_msg_id": "9a4e1c2b-5d6f-4a7b-8c9d-0e1f2a3b4c5d", "text": "count to 2000"},
            namespace=NS,
        )
        thread_id, run_id = ack["data"]["thread_id"], ack["data"]["run_id"]
        # Some seconds of answer, so several checkpoints have been written.
        await first_client.until(lambda: len(first_client.text(run_id)) >= 600)
        seen_then = first_client.text(run_id)
        await asyncio.sleep(CHECKPOINT_S + SLACK_S)
        killed_at = loop.time()
        first.process.kill()
        await first.process.wait()
        await asyncio.wait_for(first_client.client.wait(), 15)
    seen = first_client.text(run_id)
    last_seq = max(d["seq"] for _, _, d in first_client.events if "seq" in d)
    # Everything seen one checkpoint interval (and the slack) before the kill.
    seen_interval_before = "".join(
        d["text"]
        for at, name, d in first_client.events
        if name == "agent:delta" and at <= killed_at - CHECKPOINT_S - SLACK_S
    )
    assert seen_interval_before.startswith(seen_then)
    assert counted(2000).startswith(seen)
    assert len(seen) < len(counted(2000))

    async with node(tmp_path, port):
        again = Watcher()
        resume = {"epoch": epoch, "last_seq": last_seq}
        await again.client.connect(url, namespaces=[NS], auth={"token": token, "resume": resume})
        await again.until(lambda: again.of("chat:ready"))
        # A new process is a new epoch: nothing can be replayed, the client reloads.
        ready = again.of("chat:ready")[0]
        assert (ready["recovery"], ready["replayed"]) == ("reset", 0)
        assert ready["epoch"] != epoch
        history = await again.client.call("chat:history", {"thread_id": thread_id}, namespace=NS)
        await again.client.disconnect()

    messages = history["data"]["messages"]
    assert [(m["role"], m["status"]) for m in messages] == [
        ("user", "complete"),
        ("assistant", "failed"),
    ]
    answer = messages[1]
    assert (answer["run_id"], answer["seq"]) == (run_id, None)
    # At most one interval behind what the client saw, and never ahead of it.
    assert answer["text"].startswith(seen_interval_before)
    assert seen.startswith(answer["text"])
    # No event of the dead run reached the new connection.
    assert [e for _, e, d in again.events if isinstance(d, dict) and d.get("run_id")] == []
