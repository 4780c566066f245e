"""The four cross-node behaviours, as Node socket.io-clients on two nodes see them."""

from __future__ import annotations

from tests.cluster_nodes import NodeFactory
from tests.contract.node import run_node_script
from tests.harness import counted


async def test_node_clients_across_two_nodes(make_node: NodeFactory) -> None:
    async with (
        make_node(demo_tokens_per_s=300) as first,
        make_node(demo_tokens_per_s=300) as second,
    ):
        seen = await run_node_script("cluster_contract.mjs", first.url, second.url)

    # A user's tabs on two nodes see one stream: same events, same seqs.
    assert seen["tabsA"] == seen["tabsB"]
    assert [e["event"] for e in seen["tabsA"]][-1] == "agent:run_completed"

    # History written through node 1 reads on node 2.
    texts = [m["text"] for m in seen["history"]["data"]["messages"]]
    assert texts == ["calculate 6*7", "6*7 = 42."]

    # A stop through node 2 stops the run on node 1.
    assert seen["stop"] == {"ok": True, "data": {"stopped": True}}
    assert seen["stopEndA"]["event"] == seen["stopEndB"]["event"] == "agent:run_stopped"

    # Dropped from node 1, resumed on node 2 with nothing lost or doubled.
    assert seen["resumeReady"]["recovery"] == "recovered"
    events = seen["beforeDrop"] + seen["afterResume"]
    text = "".join(e["text"] for e in events if e["event"] == "agent:delta")
    assert text == counted(600)
    assert events[-1]["event"] == "agent:run_completed"
    seqs = seen["seqs"]
    assert seqs == sorted(set(seqs))
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
