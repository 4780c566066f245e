"""HumanInTheLoopMiddleware's interrupts are asked at the chat's approval gate, and the graph
resumed with the user's answer, in both of its interrupt modes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain.agents.middleware.human_in_the_loop import InterruptMode
from langchain_core.messages import AIMessageChunk, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import interrupt

from schemas.chat import AgentToolCall, AgentToolResult
from server.agent.contract import Decision
from server.agent.graph_approval import NOT_EDITABLE
from server.agent.graph_runner import GraphAgent
from server.agent.runner import RunFailure
from tests.server.agent.fakes import ScriptedGate, answer
from tests.server.agent.provider_chunks import openai_call, text
from tests.server.agent.scripted_model import ScriptedChatModel

MODES: list[InterruptMode] = ["batched", "per_call"]


def _sender(ran: list[dict[str, Any]]) -> BaseTool:
    def send(to: str, body: str) -> str:
        ran.append({"to": to, "body": body})
        return json.dumps({"sent_to": to})

    return StructuredTool.from_function(func=send, name="send_email", description="Send.")


def _agent(
    ran: list[dict[str, Any]],
    mode: InterruptMode,
    allowed: list[Any] | None = None,
    checkpointer: bool = True,
) -> tuple[GraphAgent, ScriptedChatModel]:
    args = '{"to": "ana@example.com", "body": "hi"}'
    model = ScriptedChatModel(turns=[openai_call("send_email", "c1", args), text("Done.")])
    policy: Any = True if allowed is None else {"allowed_decisions": allowed}
    graph = create_agent(
        model,
        [_sender(ran)],
        middleware=[
            HumanInTheLoopMiddleware(interrupt_on={"send_email": policy}, interrupt_mode=mode)
        ],
        checkpointer=InMemorySaver() if checkpointer else None,
    )
    return GraphAgent(graph), model


@pytest.mark.parametrize("mode", MODES)
async def test_approved_the_tool_runs(mode: InterruptMode) -> None:
    ran: list[dict[str, Any]] = []
    gate = ScriptedGate("approved")
    agent, _ = _agent(ran, mode)
    sink, _ = await answer(agent, "email ana", gate)
    assert gate.asked == [("c1", "send_email", {"to": "ana@example.com", "body": "hi"})]
    assert ran == [{"to": "ana@example.com", "body": "hi"}]
    assert sink.kinds() == ["AgentToolCall", "AgentToolResult", "AgentDelta"]
    [result] = sink.of(AgentToolResult)
    assert (result.result, result.is_error) == ({"sent_to": "ana@example.com"}, False)
    assert sink.text == "Done."


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("decision", "told"),
    [("denied", "The user denied this call"), ("expired", "The approval expired")],
)
async def test_not_approved_the_tool_does_not_run(
    mode: InterruptMode, decision: Decision, told: str
) -> None:
    ran: list[dict[str, Any]] = []
    agent, model = _agent(ran, mode)
    sink, _ = await answer(agent, "email ana", ScriptedGate(decision))
    assert ran == []
    [result] = sink.of(AgentToolResult)
    assert (result.call_id, result.result, result.is_error) == ("c1", told, True)
    tool_message = model.seen[1][-1]
    assert isinstance(tool_message, ToolMessage)
    assert tool_message.status == "error"
    assert told in tool_message.text
    assert sink.text == "Done."


@pytest.mark.parametrize("mode", MODES)
async def test_edited_the_tool_runs_with_the_users_args(mode: InterruptMode) -> None:
    ran: list[dict[str, Any]] = []
    agent, model = _agent(ran, mode)
    gate = ScriptedGate({"to": "bo@example.com", "body": "hello"})
    sink, _ = await answer(agent, "email ana", gate)
    assert ran == [{"to": "bo@example.com", "body": "hello"}]
    [call] = sink.of(AgentToolCall)
    assert call.args == {"to": "ana@example.com", "body": "hi"}
    # The user sees the result as the tool gave it; the model is also told of the edit.
    [result] = sink.of(AgentToolResult)
    assert (result.result, result.is_error) == ({"sent_to": "bo@example.com"}, False)
    tool_message = model.seen[1][-1]
    assert isinstance(tool_message, ToolMessage)
    assert "bo@example.com" in tool_message.text


@pytest.mark.parametrize("mode", MODES)
async def test_an_edit_the_tool_does_not_allow_is_refused(mode: InterruptMode) -> None:
    ran: list[dict[str, Any]] = []
    agent, _ = _agent(ran, mode, allowed=["approve", "reject"])
    sink, _ = await answer(agent, "email ana", ScriptedGate({"to": "x@example.com", "body": ""}))
    assert ran == []
    [result] = sink.of(AgentToolResult)
    assert (result.result, result.is_error) == (NOT_EDITABLE, True)


async def test_a_graph_without_a_checkpointer_cannot_ask() -> None:
    ran: list[dict[str, Any]] = []
    agent, _ = _agent(ran, "batched", checkpointer=False)
    gate = ScriptedGate()
    with pytest.raises(RunFailure) as failure:
        await answer(agent, "email ana", gate)
    assert failure.value.code == "checkpointer_missing"
    assert "checkpointer" in failure.value.message
    assert gate.asked == []
    assert ran == []


async def test_an_interrupt_of_another_kind_fails_the_run() -> None:
    def ask_name(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("ai", f"Hello {interrupt('What is your name?')}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("ask", ask_name)
    builder.add_edge(START, "ask")
    agent = GraphAgent(builder.compile(checkpointer=InMemorySaver()))
    with pytest.raises(RunFailure) as failure:
        await answer(agent, "hi")
    assert failure.value.code == "interrupt_unsupported"


async def test_a_thread_left_waiting_starts_over_on_the_next_message() -> None:
    ran: list[dict[str, Any]] = []
    agent, model = _agent(ran, "batched", checkpointer=True)

    class Stopped(Exception):
        pass

    class StopAtGate(ScriptedGate):
        async def __call__(self, *args: Any) -> Any:
            raise Stopped

    with pytest.raises(Stopped):
        await answer(agent, "email ana", StopAtGate())
    sink, _ = await answer(agent, "never mind")
    assert sink.text == "Done."
    assert [m.text for m in model.seen[-1]] == ["never mind"]
    assert ran == []


@pytest.mark.parametrize("mode", MODES)
async def test_two_calls_in_one_turn_are_asked_about_one_by_one(mode: InterruptMode) -> None:
    ran: list[dict[str, Any]] = []
    turn = [
        *openai_call("send_email", "c1", '{"to": "a@example.com", "body": "1"}'),
        *[
            AIMessageChunk(content="", tool_call_chunks=[{**chunk, "index": 1}])
            for piece in openai_call("send_email", "c2", '{"to": "b@example.com", "body": "2"}')
            for chunk in piece.tool_call_chunks
        ],
    ]
    model = ScriptedChatModel(turns=[turn, text("Sent one.")])
    graph = create_agent(
        model,
        [_sender(ran)],
        middleware=[
            HumanInTheLoopMiddleware(interrupt_on={"send_email": True}, interrupt_mode=mode)
        ],
        checkpointer=InMemorySaver(),
    )
    gate = ScriptedGate("approved", "denied")
    sink, _ = await answer(GraphAgent(graph), "email both", gate)
    assert [call_id for call_id, _, _ in gate.asked] == ["c1", "c2"]
    assert ran == [{"to": "a@example.com", "body": "1"}]
    results = {r.call_id: (r.result, r.is_error) for r in sink.of(AgentToolResult)}
    assert results == {
        "c1": ({"sent_to": "a@example.com"}, False),
        "c2": ("The user denied this call", True),
    }
