"""Cluster mode with Redis gone: not ready, yet each node goes on serving its own clients."""

from __future__ import annotations

from tests.cluster_nodes import NodeFactory
from tests.harness import (
    connect,
    counted,
    deltas_text,
    readyz_becomes,
    send_chat,
    wait_run_end,
)
from tests.redis_server import RedisServer

NS = "/chat"


async def test_redis_outage_keeps_local_delivery_and_recovers(
    make_node: NodeFactory, redis_server: RedisServer
) -> None:
    async with make_node(demo_tokens_per_s=100) as node, make_node() as other:
        token = await node.token("alice")
        watcher, _ = await connect(node, [NS], {"token": token})
        long = await send_chat(watcher, "count to 300")
        await redis_server.stop()
        await readyz_becomes(node, 503)
        await readyz_becomes(other, 503)

        # Mid-outage a tab connects: it is served from this node's own history.
        tab, tab_events = await connect(node, [NS], {"token": token})
        [ready] = await tab_events.wait_for(NS, "chat:ready")
        # The answer that was running when Redis went goes on streaming to it, to the end.
        name, done = await wait_run_end(tab_events, long["run_id"], within_s=20)
        assert name == "agent:run_completed"
        assert done["message"]["text"] == counted(300)
        assert tab_events.of(NS, "agent:delta"), "no live delta reached the tab"
        # A new message is taken, answered and delivered while Redis is still away.
        during = await send_chat(tab, "count to 5")
        name, _ = await wait_run_end(tab_events, during["run_id"], within_s=10)
        assert name == "agent:run_completed"
        assert deltas_text(tab_events, during["run_id"]) == counted(5)
        seqs = [e["seq"] for e in tab_events.of(NS, "agent:delta")]
        assert seqs == sorted(set(seqs)), "local numbering doubled or reordered events"
        assert (await node.get_json("/readyz"))[0] == 503

        await redis_server.start()
        await readyz_becomes(node, 200)
        await readyz_becomes(other, 200)

        # Back on the shared history: a position from the local one is told to reload.
        back, back_events = await connect(
            node, [NS], {"token": token, "resume": {"epoch": ready["epoch"], "last_seq": 1}}
        )
        [after] = await back_events.wait_for(NS, "chat:ready")
        assert after["recovery"] == "reset"
        assert after["epoch"] != ready["epoch"]
        # ... and events reach the user's tabs on every node again.
        elsewhere, elsewhere_events = await connect(other, [NS], {"token": token})
        await elsewhere_events.wait_for(NS, "chat:ready")
        fresh = await send_chat(back, "count to 4")
        for events in (back_events, elsewhere_events):
            name, _ = await wait_run_end(events, fresh["run_id"], within_s=10)
            assert name == "agent:run_completed"
            assert deltas_text(events, fresh["run_id"]) == counted(4)
        # Nothing was lost from the database: both answers are stored whole.
        history = await back.call("chat:history", {"thread_id": during["thread_id"]}, namespace=NS)
        texts = [m["text"] for m in history["data"]["messages"] if m["role"] == "assistant"]
        assert texts == [counted(5)]
        for client in (watcher, tab, back, elsewhere):
            await client.disconnect()
