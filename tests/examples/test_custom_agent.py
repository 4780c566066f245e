"""examples/custom_agent.py, loaded the way `WS_AGENT=examples.custom_agent:agent` loads it."""

from __future__ import annotations

from schemas.chat import AgentToolCall, AgentToolResult
from server.agent.graph_runner import GraphAgent
from server.agent.loader import build_agent
from tests.conftest import SettingsFactory
from tests.server.agent.fakes import answer


async def test_the_example_agent_answers_with_its_own_tool(
    make_settings: SettingsFactory,
) -> None:
    agent = build_agent(make_settings(agent="examples.custom_agent:agent"))
    assert isinstance(agent, GraphAgent)
    sink, outcome = await answer(agent, 'call word_count {"text": "one two three"}')
    [call] = sink.of(AgentToolCall)
    assert (call.name, call.args) == ("word_count", {"text": "one two three"})
    [result] = sink.of(AgentToolResult)
    assert (result.result, result.is_error) == ({"words": 3, "characters": 13}, False)
    assert sink.text == 'The tool returned {"words": 3, "characters": 13}.'
    assert outcome.usage is not None
