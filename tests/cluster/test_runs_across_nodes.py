"""Runs in a cluster: a stop reaches the owning node; a dead node's runs end as failed."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from server.chat.checkpoints import DEFAULT_INTERVAL_MS
from tests.cluster_nodes import SHARED_SECRET, NodeFactory
from tests.harness import LiveServer, connect, deltas_text, send_chat, wait_run_end
from tests.processes import server_env, serving
from tests.redis_server import RedisServer

NS = "/chat"
FAST_LIVENESS = {"run_heartbeat_s": 0.2, "run_owner_ttl_s": 1.0}


async def test_a_stop_through_one_node_stops_a_run_on_the_other(make_node: NodeFactory) -> None:
    async with make_node(demo_tokens_per_s=100) as first, make_node() as second:
        token = await first.token("alice")
        owner, owner_events = await connect(first, [NS], {"token": token})
        other, other_events = await connect(second, [NS], {"token": token})
        try:
            sent = await send_chat(owner, "count to 3000")
            run_id = sent["run_id"]
            await other_events.wait_for(NS, "agent:delta", count=3)
            stop = await other.call("chat:stop", {"run_id": run_id}, namespace=NS)
            assert stop == {"ok": True, "data": {"stopped": True}}
            for events in (owner_events, other_events):
                name, _ = await wait_run_end(events, run_id)
                assert name == "agent:run_stopped"
            history = await other.call(
                "chat:history", {"thread_id": sent["thread_id"]}, namespace=NS
            )
            answer = history["data"]["messages"][-1]
            assert answer["status"] == "stopped"
            assert answer["text"] == deltas_text(owner_events, run_id)
            # Stopping it again, from either node: it is no longer running.
            for client in (owner, other):
                again = await client.call("chat:stop", {"run_id": run_id}, namespace=NS)
                assert again == {"ok": True, "data": {"stopped": False}}
            # Another user cannot stop it, or learn that it exists.
            mallory, _ = await connect(second, [NS], {"token": await second.token("mallory")})
            theirs = await mallory.call("chat:stop", {"run_id": run_id}, namespace=NS)
            assert theirs["error"]["code"] == "not_found"
            await mallory.disconnect()
        finally:
            await owner.disconnect()
            await other.disconnect()


async def test_a_killed_nodes_run_ends_as_failed(
    make_node: NodeFactory, redis_server: RedisServer, tmp_path: Path
) -> None:
    async with (
        make_node(**FAST_LIVENESS) as survivor,
        serving(_peer_env(survivor, redis_server, tmp_path)) as doomed,
    ):
        token = await survivor.token("alice")
        victim = LiveServer(settings=survivor.settings, app=survivor.app, url=doomed.url)
        writer, _ = await connect(victim, [NS], {"token": token})
        watcher, watcher_events = await connect(survivor, [NS], {"token": token})
        sent = await send_chat(writer, "count to 5000")
        run_id = sent["run_id"]
        await watcher_events.wait_for(NS, "agent:delta", count=2)
        # Long enough for the doomed node to checkpoint what the watcher has seen by now.
        seen_then = deltas_text(watcher_events, run_id)
        await asyncio.sleep(DEFAULT_INTERVAL_MS / 1000 + 0.5)
        doomed.process.send_signal(signal.SIGKILL)
        await doomed.process.wait()

        name, failed = await wait_run_end(watcher_events, run_id, within_s=15)
        assert name == "agent:run_failed"
        assert failed["error"]["code"] == "node_lost"
        history = await watcher.call("chat:history", {"thread_id": sent["thread_id"]}, namespace=NS)
        answer = history["data"]["messages"][-1]
        assert answer["status"] == "failed"
        # The dead node's last checkpoint is kept: no older than what was seen an interval
        # before the kill, no newer than what was seen at all.
        assert seen_then
        assert answer["text"].startswith(seen_then)
        assert deltas_text(watcher_events, run_id).startswith(answer["text"])
        # The failure carries the parts that were kept.
        assert failed["message"]["parts"] == answer["parts"]
        await watcher.disconnect()
        await writer.disconnect()


def _peer_env(peer: LiveServer, redis_server: RedisServer, tmp_path: Path) -> dict[str, str]:
    """Settings of a node in its own process, on the same Redis and database as `peer`."""
    return server_env(
        WS_REDIS_URL=redis_server.url,
        WS_DATABASE_URL=peer.settings.database_url,
        WS_JWT_SECRET=SHARED_SECRET,
        WS_DEMO_TOKENS_PER_S="100",
        WS_RUN_HEARTBEAT_S=str(FAST_LIVENESS["run_heartbeat_s"]),
        WS_RUN_OWNER_TTL_S=str(FAST_LIVENESS["run_owner_ttl_s"]),
        WS_LOG_LEVEL="WARNING",
        WS_CLIENT_DIST=str(tmp_path / "none"),
    )
