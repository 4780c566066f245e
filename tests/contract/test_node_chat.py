"""/chat and resume as a Node socket.io-client written against the contract sees them."""

from __future__ import annotations

from tests.conftest import SettingsFactory
from tests.contract.node import run_node_script
from tests.harness import live_server


async def test_node_client_chats_resumes_and_is_never_doubled(
    make_settings: SettingsFactory,
) -> None:
    async with live_server(make_settings(demo_tokens_per_s=1500)) as live:
        seen = await run_node_script("chat_contract.mjs", live.url)

    assert seen["firstReady"]["recovery"] == "fresh"
    assert seen["sharedEngine"] is True
    kinds = [e["prompt"].split()[0] for e in seen["examples"]]
    assert {"count", "calculate"} <= set(kinds)
    assert len(kinds) >= 3

    count = seen["runs"]["count to 25"]["events"]
    assert count[-1]["event"] == "agent:run_completed"
    assert count[-1]["message"]["text"] == " ".join(str(n) for n in range(1, 26))

    calc = seen["runs"]["calculate (12 + 30) * 2 / 4"]["events"]
    [call] = [e for e in calc if e["event"] == "agent:tool_call"]
    [result] = [e for e in calc if e["event"] == "agent:tool_result"]
    assert call["args"] == {"expression": "(12 + 30) * 2 / 4"}
    assert result["result"] == 21
    assert "21" in calc[-1]["message"]["text"]

    other = seen["runs"]["hello from node"]["events"]
    assert other[-1]["message"]["text"].count(".") >= 3

    assert seen["repeatSend"]["data"] == {**seen["firstSend"]["data"], "duplicate": True}
    texts = [m["text"] for m in seen["repeatHistory"]["data"]["messages"]]
    assert texts == ["count to 2", "1 2"]

    assert seen["drops"] >= 5
    resumed = seen["readies"][1:]
    assert len(resumed) >= 5
    assert all(r["recovery"] == "recovered" for r in resumed)
    big = seen["bigRun"]
    text = "".join(e["text"] for e in big if e["event"] == "agent:delta")
    assert text == " ".join(str(n) for n in range(1, 2001))
    assert big[-1]["event"] == "agent:run_completed"
    assert seen["seqs"] == list(range(1, len(seen["seqs"]) + 1))

    assert seen["bogusReady"]["recovery"] == "reset"
    assert seen["bogusReady"]["replayed"] == 0
    assert seen["bogusEvents"] == ["chat:ready"]
