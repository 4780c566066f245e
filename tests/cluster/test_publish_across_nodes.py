"""POST /api/publish on a cluster: whichever node takes the request, every tab of the user on
every node gets the one `app:event`, and a tab resuming on another node gets it replayed."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.cluster_nodes import SHARED_SECRET, NodeFactory
from tests.harness import LiveServer, connect, stream_seqs
from tests.server.auth.tokens import hs256

NS = "/chat"
PUBLISHER_TOKEN = hs256(
    SHARED_SECRET, sub="notifier", kind="service", scope="publish", iss=None, aud=None
)


async def publish(node: LiveServer, user_id: str, title: str) -> int:
    body = {"user_id": user_id, "topic": "notification", "data": {"title": title}}
    headers = {"Authorization": f"Bearer {PUBLISHER_TOKEN}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{node.url}/api/publish", json=body, headers=headers) as r,
    ):
        assert r.status == 202, await r.text()
        accepted: dict[str, Any] = await r.json()
    seq: int = accepted["seq"]
    return seq


async def test_one_publish_reaches_the_users_tabs_on_both_nodes(make_node: NodeFactory) -> None:
    async with make_node() as first, make_node() as second:
        token = await first.token("alice")
        tab1, events1 = await connect(first, [NS], {"token": token})
        tab2, events2 = await connect(second, [NS], {"token": token})
        bob, bob_events = await connect(second, [NS], {"token": await second.token("bob")})
        try:
            for events in (events1, events2, bob_events):
                await events.wait_for(NS, "chat:ready")

            seq = await publish(first, "alice", "through node 1")
            [got1] = await events1.wait_for(NS, "app:event")
            [got2] = await events2.wait_for(NS, "app:event")
            assert got1 == got2
            assert got1["seq"] == seq
            assert got1["data"]["title"] == "through node 1"

            # Through the other node, the same stream goes on.
            again = await publish(second, "alice", "through node 2")
            assert again == seq + 1
            await events1.wait_for(NS, "app:event", count=2)
            await events2.wait_for(NS, "app:event", count=2)
            assert events1.of(NS, "app:event") == events2.of(NS, "app:event")
            assert stream_seqs(events1) == stream_seqs(events2) == [seq, again]

            # Bob's own event is the barrier: nothing of Alice's reached his tab before it.
            await publish(first, "bob", "for bob")
            [bobs] = await bob_events.wait_for(NS, "app:event")
            assert bobs["data"]["title"] == "for bob"
            assert [d for _, d in bob_events.events[NS] if "seq" in d] == [bobs]
        finally:
            for client in (tab1, tab2, bob):
                await client.disconnect()


async def test_a_tab_resuming_on_the_other_node_gets_the_event_replayed(
    make_node: NodeFactory,
) -> None:
    async with make_node() as first, make_node() as second:
        token = await first.token("alice")
        tab, events = await connect(first, [NS], {"token": token})
        [ready] = await events.wait_for(NS, "chat:ready")
        seen = await publish(first, "alice", "seen")
        await events.wait_for(NS, "app:event")
        await tab.disconnect()

        missed = await publish(first, "alice", "missed")
        back, back_events = await connect(
            second, [NS], {"token": token, "resume": {"epoch": ready["epoch"], "last_seq": seen}}
        )
        try:
            [again] = await back_events.wait_for(NS, "chat:ready")
            assert [name for name, _ in back_events.events[NS]] == ["app:event", "chat:ready"]
            [replayed] = back_events.of(NS, "app:event")
            assert replayed["seq"] == missed == seen + 1
            assert replayed["data"]["title"] == "missed"
            assert again["epoch"] == ready["epoch"]
            assert (again["recovery"], again["replayed"], again["head_seq"]) == (
                "recovered",
                1,
                missed,
            )
        finally:
            await back.disconnect()
