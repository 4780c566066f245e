"""A team's own LangGraph agent (WS_AGENT) as a Node socket.io-client sees it: tool-call
arguments and a JSON-string tool result arrive as JSON values, decoded once, the text exactly,
and history holds the same parts; a graph that raises fails the run and the server serves on."""

from __future__ import annotations

from typing import Any

from tests.conftest import SettingsFactory
from tests.contract.node import run_node_script
from tests.harness import live_server
from tests.parts_fold import fold


def _run(seen: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    run_id = seen["sent"]["data"]["run_id"]
    return [(e["event"], e) for e in seen["events"] if e.get("run_id") == run_id]


async def test_a_create_agent_graph_streams_json_values_and_the_same_parts_in_history(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(agent="tests.contract.agent_targets:weather_graph")
    async with live_server(settings) as live:
        seen = await run_node_script("agent_contract.mjs", live.url, "Weather in Oslo?")
    events = _run(seen)
    names = [name for name, _ in events]
    assert names[0] == "agent:run_started"
    assert names[-1] == "agent:run_completed"
    [call] = [e for name, e in events if name == "agent:tool_call"]
    assert (call["call_id"], call["name"]) == ("call_oslo", "weather")
    assert call["args"] == {"city": "Oslo", "days": [1, 2]}
    [result] = [e for name, e in events if name == "agent:tool_result"]
    # JSON text from the tool arrives as a JSON value; JSON text inside it stays text.
    assert result["result"] == {"city": "Oslo", "sky": "clear", "note": '{"kept": "as text"}'}
    assert result["is_error"] is False
    text = "".join(e["text"] for name, e in events if name == "agent:delta")
    assert text == "Let me check. Clear skies in Oslo."
    parts = events[-1][1]["message"]["parts"]
    assert fold(events) == parts
    assert [p["type"] for p in parts] == ["text", "tool_call", "tool_result", "text"]
    assert seen["history"]["data"]["messages"][-1]["parts"] == parts
    assert seen["ping"]["ok"] is True


async def test_a_graph_that_raises_fails_the_run_and_the_server_serves_on(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(agent="tests.contract.agent_targets:broken_graph")
    async with live_server(settings) as live:
        seen = await run_node_script("agent_contract.mjs", live.url, "hello")
        again = await run_node_script("agent_contract.mjs", live.url, "hello again")
    for observed in (seen, again):
        name, failed = _run(observed)[-1]
        assert name == "agent:run_failed"
        assert failed["error"]["code"] == "model_error"
        assert "ref " in failed["error"]["message"]
        assert observed["history"]["data"]["messages"][-1]["status"] == "failed"
        assert observed["ping"]["ok"] is True
