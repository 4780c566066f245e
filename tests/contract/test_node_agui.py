"""POST /api/agui as @ag-ui/client's HttpAgent sees it: the messages it ends with after the
demo agent's count, calculator, reasoning and approval flows, and after a dropped stream."""

from __future__ import annotations

from tests.conftest import SettingsFactory
from tests.contract.node import run_node_script
from tests.harness import live_server

COUNT_300 = " ".join(str(n) for n in range(1, 301))


async def test_an_ag_ui_http_agent_runs_the_demo_flows(make_settings: SettingsFactory) -> None:
    async with live_server(make_settings(demo_tokens_per_s=1500)) as live:
        seen = await run_node_script("agui_contract.mjs", live.url)

    assert "agui" in seen["features"]

    count = seen["count"]
    assert count["types"][0] == "RUN_STARTED"
    assert count["types"][-1] == "RUN_FINISHED"
    assert count["custom"] == ["netra.run"]
    assert count["finished"]["outcome"] == "success"
    assert [(m["role"], m["content"]) for m in count["messages"]] == [
        ("user", "count to 5"),
        ("assistant", "1 2 3 4 5"),
    ]
    # The second run in the same thread: the snapshot keeps the first turn, once.
    assert [m["content"] for m in seen["countAgain"]["messages"]] == [
        "count to 5",
        "1 2 3 4 5",
        "count to 3",
        "1 2 3",
    ]

    calc = seen["calculator"]["messages"]
    assert [m["role"] for m in calc] == ["user", "assistant", "tool", "assistant"]
    assert calc[1]["toolCalls"] == [
        {"name": "calculator", "args": {"expression": "(12 + 30) * 2 / 4"}}
    ]
    assert calc[2]["content"] == "21"
    assert "21" in calc[3]["content"]

    reasoning = seen["reasoning"]
    assert [m["role"] for m in reasoning["messages"]] == ["user", "reasoning", "assistant"]
    assert "tides" in reasoning["messages"][1]["content"]
    assert "REASONING_MESSAGE_CONTENT" in reasoning["types"]

    asked = seen["approvalAsked"]
    assert asked["finished"]["outcome"] == "interrupt"
    assert [i["reason"] for i in seen["pendingInterrupts"]] == ["tool_approval"]
    [call] = asked["messages"][1]["toolCalls"]
    assert call == {"name": "create_reminder", "args": {"text": "water the plants"}}
    resumed = seen["approvalResumed"]
    assert resumed["types"][-1] == "outcome:success"
    assert "TOOL_CALL_RESULT" in resumed["types"]
    roles = [m["role"] for m in resumed["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert resumed["messages"][-1]["content"] == "Reminder set: water the plants"
    assert seen["pendingAfter"] == 0

    dropped = seen["dropped"]
    assert 1 <= dropped["partialWords"] < 300
    assert [(m["role"], m["content"]) for m in dropped["messages"]] == [
        ("user", "count to 300"),
        ("assistant", COUNT_300),
    ]
