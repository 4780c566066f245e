"""`build_agent`: every form WS_AGENT takes, and a clear refusal for every wrong one."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.chat import AgentToolCall
from server.agent.graph_runner import GraphAgent
from server.agent.loader import AgentConfigError, build_agent
from server.agent.runner import ToolLoopAgent
from tests.conftest import SettingsFactory
from tests.server.agent.fakes import ScriptedGate, answer

TARGETS = "tests.server.agent.loader_targets"


async def test_the_default_is_the_demo_with_its_tools(make_settings: SettingsFactory) -> None:
    agent = build_agent(make_settings())
    assert isinstance(agent, ToolLoopAgent)
    sink, _ = await answer(agent, "calculate 6*7")
    assert sink.text == "6*7 = 42."
    gate = ScriptedGate("approved")
    sink, outcome = await answer(agent, "remind me to call mum", gate)
    assert [name for _, name, _ in gate.asked] == ["create_reminder"]
    assert sink.text == "Reminder set: call mum"
    assert outcome.usage is not None


async def test_tools_replace_the_demo_tools(make_settings: SettingsFactory) -> None:
    agent = build_agent(make_settings(agent_tools=f"{TARGETS}:echo"))
    sink, _ = await answer(agent, 'call echo {"text": "ping"}')
    [call] = sink.of(AgentToolCall)
    assert (call.name, call.args) == ("echo", {"text": "ping"})
    assert sink.text == "The tool returned ping."
    # The calculator is no longer bound: the demo answers inline.
    sink, _ = await answer(agent, "calculate 1+1")
    assert sink.of(AgentToolCall) == []


async def test_approval_tools_ask_first(make_settings: SettingsFactory) -> None:
    settings = make_settings(agent_tools=f"{TARGETS}:echo", agent_approval_tools="echo")
    gate = ScriptedGate("denied")
    sink, _ = await answer(build_agent(settings), 'call echo {"text": "ping"}', gate)
    assert [name for _, name, _ in gate.asked] == ["echo"]
    assert sink.text == "Sorry, I could not use echo: The user denied this call."


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        (f"{TARGETS}:model", ToolLoopAgent),
        (f"{TARGETS}:make_model", ToolLoopAgent),
        (f"{TARGETS}:graph", GraphAgent),
        (f"{TARGETS}:Holder.graph", GraphAgent),
        (f"{TARGETS}:make_graph", GraphAgent),
    ],
)
def test_ws_agent_forms(make_settings: SettingsFactory, target: str, kind: type[Any]) -> None:
    assert isinstance(build_agent(make_settings(agent=target)), kind)


async def test_a_model_of_ones_own_runs_without_the_demo_tools(
    make_settings: SettingsFactory,
) -> None:
    agent = build_agent(make_settings(agent=f"{TARGETS}:model"))
    sink, _ = await answer(agent, "remind me to stretch")
    assert sink.of(AgentToolCall) == []
    assert "cannot set reminders" in sink.text


def test_a_graph_says_which_settings_it_ignores(
    make_settings: SettingsFactory, log_records: list[dict[str, Any]]
) -> None:
    build_agent(make_settings(agent=f"{TARGETS}:graph", agent_system_prompt="Be brief."))
    [warning] = [r["message"] for r in log_records if r["level"] == "WARNING"]
    assert "WS_AGENT_SYSTEM_PROMPT ignored" in warning


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"agent": "tests.server.agent.loader_targets"}, "write it as package.module:attribute"),
        (
            {"agent": "no_such_package.agent:graph"},
            "WS_AGENT='no_such_package.agent:graph': cannot import no_such_package.agent: "
            "No module named 'no_such_package'",
        ),
        (
            {"agent": "tests.server.agent.loader_broken:graph"},
            "importing tests.server.agent.loader_broken raised RuntimeError: this module is broken",
        ),
        ({"agent": f"{TARGETS}:missing"}, f"{TARGETS} has no attribute 'missing'"),
        (
            {"agent": f"{TARGETS}:not_an_agent"},
            f"WS_AGENT='{TARGETS}:not_an_agent' is a builtins.int, not a LangChain chat model, "
            "a compiled LangGraph graph, or a callable returning one",
        ),
        ({"agent": f"{TARGETS}:make_nothing"}, "is a builtins.str, not a LangChain chat model"),
        ({"agent": f"{TARGETS}:uncompiled"}, "is a StateGraph that is not compiled"),
        (
            {"agent": f"{TARGETS}:broken_factory"},
            f"WS_AGENT='{TARGETS}:broken_factory' raised RuntimeError: no API key",
        ),
        (
            {"agent_tools": f"{TARGETS}:model"},
            f"WS_AGENT_TOOLS entry '{TARGETS}:model' is a server.agent.demo_model.DemoChatModel"
            ", not a LangChain tool",
        ),
        (
            {"agent_tools": f"{TARGETS}:echo,{TARGETS}:echo"},
            "WS_AGENT_TOOLS has two tools named 'echo'",
        ),
        (
            {"agent_approval_tools": "create_remindr"},
            "WS_AGENT_APPROVAL_TOOLS names create_remindr, which the agent does not have "
            "(its tools: calculator, create_reminder)",
        ),
        (
            {"agent": f"{TARGETS}:model", "agent_approval_tools": "echo"},
            "WS_AGENT_APPROVAL_TOOLS names echo, which the agent does not have (its tools: none)",
        ),
    ],
    ids=[
        "no-colon",
        "no-module",
        "module-raises",
        "no-attribute",
        "wrong-type",
        "factory-wrong-type",
        "uncompiled-graph",
        "factory-raises",
        "tool-wrong-type",
        "tool-twice",
        "approval-typo",
        "approval-without-tools",
    ],
)
def test_what_cannot_be_set_up_is_refused_clearly(
    make_settings: SettingsFactory, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(AgentConfigError) as refused:
        build_agent(make_settings(**overrides))
    assert message in str(refused.value)


def test_a_provider_model_goes_through_init_chat_model(make_settings: SettingsFactory) -> None:
    with pytest.raises(AgentConfigError, match="WS_AGENT_MODEL='no-such-model'"):
        build_agent(make_settings(agent_model="no-such-model"))
