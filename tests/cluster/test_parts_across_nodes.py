"""Parts in a cluster: a tab on another node sees the same parts live, mid-stream in history
(from the owner's checkpoint, with its seq) and once the answer is stored; one answer at a
time holds across nodes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import socketio

from server.chat.checkpoints import DEFAULT_INTERVAL_MS
from tests.cluster_nodes import NodeFactory
from tests.harness import LiveServer, Recorder, connect, run_events, send_chat, wait_run_end
from tests.parts_fold import fold, live_parts

NS = "/chat"


@dataclass
class Tabs:
    """Two tabs of alice: `owner` on the node that runs her answers, `other` on another."""

    owner: socketio.AsyncClient
    owner_events: Recorder
    other: socketio.AsyncClient
    other_events: Recorder
    second: LiveServer


@asynccontextmanager
async def two_nodes(make_node: NodeFactory, **owner_settings: Any) -> AsyncIterator[Tabs]:
    async with make_node(**owner_settings) as first, make_node() as second:
        token = await first.token("alice")
        owner, owner_events = await connect(first, [NS], {"token": token})
        other, other_events = await connect(second, [NS], {"token": token})
        try:
            await other_events.wait_for(NS, "chat:ready")
            yield Tabs(owner, owner_events, other, other_events, second)
        finally:
            await owner.disconnect()
            await other.disconnect()


async def test_another_node_shows_the_same_parts(make_node: NodeFactory) -> None:
    async with two_nodes(make_node) as tabs:
        sent = await send_chat(tabs.owner, "calculate 6*7")
        _, done = await wait_run_end(tabs.other_events, sent["run_id"])
        parts = done["message"]["parts"]
        assert [p["type"] for p in parts] == ["tool_call", "tool_result", "text"]
        assert live_parts(tabs.other_events, sent["run_id"]) == parts
        assert live_parts(tabs.owner_events, sent["run_id"]) == parts
        history = await tabs.other.call(
            "chat:history", {"thread_id": sent["thread_id"]}, namespace=NS
        )
        assert history["data"]["messages"][-1]["parts"] == parts


async def test_mid_stream_history_on_another_node_resumes_from_the_checkpoint(
    make_node: NodeFactory,
) -> None:
    async with two_nodes(make_node, demo_tokens_per_s=200) as tabs:
        sent = await send_chat(tabs.owner, "count to 1500")
        # Past one checkpoint interval: the owner has written the answer so far.
        await asyncio.sleep(DEFAULT_INTERVAL_MS / 1000 + 0.5)
        history = await tabs.other.call(
            "chat:history", {"thread_id": sent["thread_id"]}, namespace=NS
        )
        streaming = history["data"]["messages"][-1]
        assert streaming["status"] == "streaming"
        assert streaming["seq"] > 0
        assert streaming["parts"][0]["text"].startswith("1 2 3")
        # Refused on the other node too: the answer still runs.
        payload = {
            "client_msg_id": str(uuid.uuid4()),
            "text": "more",
            "thread_id": sent["thread_id"],
        }
        refused = await tabs.other.call("chat:send", payload, namespace=NS)
        assert refused["error"]["code"] == "conflict"
        assert refused["error"]["details"] == {"run_id": sent["run_id"]}
        _, done = await wait_run_end(tabs.other_events, sent["run_id"], within_s=30)
        events = run_events(tabs.other_events, sent["run_id"])
        rebuilt = fold(events, streaming["parts"], streaming["seq"])
        assert rebuilt == done["message"]["parts"]


async def test_an_approval_answered_on_another_node_reaches_the_run(
    make_node: NodeFactory,
) -> None:
    async with two_nodes(make_node) as tabs:
        sent = await send_chat(tabs.owner, "remind me to call mum")
        [request] = await tabs.other_events.wait_for(NS, "agent:approval_requested")
        payload = {"run_id": sent["run_id"], "call_id": request["call_id"], "approved": True}
        ack = await tabs.other.call("chat:approve", payload, namespace=NS)
        assert ack == {"ok": True, "data": {"decision": "approved"}}
        name, done = await wait_run_end(tabs.owner_events, sent["run_id"])
        assert name == "agent:run_completed"
        assert done["message"]["parts"][1]["decision"] == "approved"
        assert live_parts(tabs.other_events, sent["run_id"]) == done["message"]["parts"]
        # Another user cannot answer it, or learn that it exists.
        mallory, _ = await connect(tabs.second, [NS], {"token": await tabs.second.token("mallory")})
        theirs = await mallory.call("chat:approve", payload, namespace=NS)
        assert theirs["error"]["code"] == "not_found"
        await mallory.disconnect()


async def test_a_delete_on_another_node_stops_the_answer_before_the_thread_goes(
    make_node: NodeFactory,
) -> None:
    async with two_nodes(make_node, demo_tokens_per_s=100) as tabs:
        sent = await send_chat(tabs.owner, "count to 10000")
        await tabs.owner_events.wait_for(NS, "agent:delta", count=3)
        ack = await tabs.other.call(
            "chat:delete_thread", {"thread_id": sent["thread_id"]}, namespace=NS
        )
        assert ack == {"ok": True, "data": {"deleted": True}}
        name, _ = await wait_run_end(tabs.owner_events, sent["run_id"])
        assert name == "agent:run_stopped"
        [deleted] = await tabs.owner_events.wait_for(NS, "chat:thread_deleted")
        assert deleted["thread_id"] == sent["thread_id"]
        names = [n for n, _ in tabs.owner_events.events[NS]]
        assert names.index("agent:run_stopped") < names.index("chat:thread_deleted")
