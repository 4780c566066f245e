"""Two nodes on one Redis and one database, driven by real clients on both."""

from __future__ import annotations

import asyncio
import uuid

from server.cluster.delivery import STREAM_CHANNEL_PREFIX
from tests.cluster_nodes import NodeFactory
from tests.harness import (
    LiveServer,
    connect,
    counted,
    deltas_text,
    readyz_becomes,
    send_chat,
    stream_seqs,
    wait_run_end,
)
from tests.redis_server import RedisServer

NS = "/chat"


async def subscribed_nodes(redis: RedisServer, key: str) -> int:
    """How many nodes receive the events of a stream."""
    client = redis.client()
    try:
        [(_, count)] = await client.pubsub_numsub(STREAM_CHANNEL_PREFIX + key)
        return int(count)
    finally:
        await client.aclose()


async def test_tabs_on_two_nodes_see_one_stream(two_nodes: tuple[LiveServer, LiveServer]) -> None:
    first, second = two_nodes
    token = await first.token("alice")
    tab1, events1 = await connect(first, [NS], {"token": token})
    tab2, events2 = await connect(second, [NS], {"token": token})
    try:
        [ready1] = await events1.wait_for(NS, "chat:ready")
        [ready2] = await events2.wait_for(NS, "chat:ready")
        assert ready1["epoch"] == ready2["epoch"]
        sent = []
        for client in (tab1, tab2, tab1):  # answers started on either node
            sent.append(await send_chat(client, "calculate 6*7"))
        for data in sent:
            await wait_run_end(events1, data["run_id"])
            await wait_run_end(events2, data["run_id"])
        stream1 = [(n, d) for n, d in events1.events[NS] if "seq" in d]
        stream2 = [(n, d) for n, d in events2.events[NS] if "seq" in d]
        assert stream1 == stream2
        assert stream_seqs(events1) == list(range(1, len(stream1) + 1))
    finally:
        await tab1.disconnect()
        await tab2.disconnect()


async def test_dropped_from_one_node_resumes_on_the_other(make_node: NodeFactory) -> None:
    async with make_node(demo_tokens_per_s=300) as first, make_node() as second:
        token = await first.token("alice")
        client, events = await connect(first, [NS], {"token": token})
        [ready] = await events.wait_for(NS, "chat:ready")
        data = await send_chat(client, "count to 400")
        await events.wait_for(NS, "agent:delta", count=3)
        await client.disconnect()
        last_seq = max(stream_seqs(events))

        resumed, more = await connect(
            second,
            [NS],
            {"token": token, "resume": {"epoch": ready["epoch"], "last_seq": last_seq}},
        )
        try:
            [again] = await more.wait_for(NS, "chat:ready")
            assert again["recovery"] == "recovered"
            assert again["replayed"] >= 0
            await wait_run_end(more, data["run_id"], within_s=20)
            seqs = stream_seqs(events) + stream_seqs(more)
            assert seqs == list(range(1, len(seqs) + 1))
            text = deltas_text(events, data["run_id"]) + deltas_text(more, data["run_id"])
            assert text == counted(400)
        finally:
            await resumed.disconnect()


async def test_history_written_through_one_node_reads_on_the_other(
    two_nodes: tuple[LiveServer, LiveServer],
) -> None:
    first, second = two_nodes
    token = await first.token("alice")
    writer, events = await connect(first, [NS], {"token": token})
    reader, _ = await connect(second, [NS], {"token": token})
    try:
        data = await send_chat(writer, "count to 3")
        await wait_run_end(events, data["run_id"])
        threads = await reader.call("chat:threads", {}, namespace=NS)
        assert [t["id"] for t in threads["data"]["threads"]] == [data["thread_id"]]
        history = await reader.call("chat:history", {"thread_id": data["thread_id"]}, namespace=NS)
        assert [m["text"] for m in history["data"]["messages"]] == ["count to 3", "1 2 3"]
        # The same client_msg_id sent through the other node is recognised as a repeat.
        repeat = await reader.call(
            "chat:send",
            {"client_msg_id": str(uuid.uuid4()), "text": "x", "thread_id": data["thread_id"]},
            namespace=NS,
        )
        assert repeat["ok"] is True
    finally:
        await writer.disconnect()
        await reader.disconnect()


async def test_redis_restart_mid_stream_recovers_and_resume_says_reset(
    make_node: NodeFactory, redis_server: RedisServer
) -> None:
    async with make_node(demo_tokens_per_s=200) as node:
        token = await node.token("alice")
        client, events = await connect(node, [NS], {"token": token})
        [ready] = await events.wait_for(NS, "chat:ready")
        data = await send_chat(client, "count to 600")
        await events.wait_for(NS, "agent:delta", count=2)
        await redis_server.restart()
        await client.disconnect()
        # A balancer sends connections back once the node is ready on the shared history.
        await readyz_becomes(node, 200)

        # Continuity was lost with Redis's data: a resume is told to reload, never given a gap.
        back, back_events = await connect(
            node, [NS], {"token": token, "resume": {"epoch": ready["epoch"], "last_seq": 2}}
        )
        try:
            [after] = await back_events.wait_for(NS, "chat:ready", within_s=10)
            assert after["recovery"] == "reset"
            assert after["replayed"] == 0
            assert after["epoch"] != ready["epoch"]
            # The node serves again: a new answer streams through the restarted Redis.
            fresh = await send_chat(back, "count to 5")
            name, done = await wait_run_end(back_events, fresh["run_id"], within_s=10)
            assert name == "agent:run_completed"
            assert done["message"]["text"] == counted(5)
            # The answer the outage cut into ends with a final status, not streaming forever.
            for _ in range(100):
                history = await back.call(
                    "chat:history", {"thread_id": data["thread_id"]}, namespace=NS
                )
                status = history["data"]["messages"][-1]["status"]
                if status != "streaming":
                    break
                await asyncio.sleep(0.1)
            assert status in {"failed", "complete"}
        finally:
            await back.disconnect()


async def test_a_node_receives_only_the_streams_of_its_own_connections(
    two_nodes: tuple[LiveServer, LiveServer], redis_server: RedisServer
) -> None:
    first, second = two_nodes
    alice, alice_events = await connect(first, [NS], {"token": await first.token("alice")})
    bob, bob_events = await connect(second, [NS], {"token": await second.token("bob")})
    carol1, carol1_events = await connect(first, [NS], {"token": await first.token("carol")})
    carol2, carol2_events = await connect(second, [NS], {"token": await second.token("carol")})
    try:
        for events in (alice_events, bob_events, carol1_events, carol2_events):
            await events.wait_for(NS, "chat:ready")
        # Redis sends a stream's events only to the nodes with a connection on it.
        assert await subscribed_nodes(redis_server, "alice") == 1
        assert await subscribed_nodes(redis_server, "bob") == 1
        assert await subscribed_nodes(redis_server, "carol") == 2
        # An answer run on bob's node for carol reaches her tab on the other node whole.
        data = await send_chat(carol2, "count to 5")
        for events in (carol1_events, carol2_events):
            await wait_run_end(events, data["run_id"])
            assert deltas_text(events, data["run_id"]) == counted(5)
        assert [e for e in bob_events.events[NS] if "seq" in e[1]] == []

        await alice.disconnect()
        await carol2.disconnect()
        for _ in range(100):
            if await subscribed_nodes(redis_server, "alice") == 0:
                break
            await asyncio.sleep(0.02)
        assert await subscribed_nodes(redis_server, "alice") == 0
        assert await subscribed_nodes(redis_server, "carol") == 1
    finally:
        for client in (alice, bob, carol1, carol2):
            await client.disconnect()
