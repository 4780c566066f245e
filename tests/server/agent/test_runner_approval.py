"""Tool calls that need the user's yes wait at the gate; the answer decides what runs."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool

from schemas.chat import AgentToolCall, AgentToolResult
from server.agent.contract import Decision
from server.agent.demo_model import DemoChatModel
from server.agent.reminder import reminder_tool
from server.agent.runner import ToolLoopAgent
from tests.server.agent.fakes import ScriptedGate, answer
from tests.server.agent.provider_chunks import openai_call, text
from tests.server.agent.scripted_model import ScriptedChatModel


def _recording_tool(ran: list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> BaseTool:
    def send(to: str, body: str) -> dict[str, str]:
        ran.append({"to": to, "body": body})
        return {"sent_to": to}

    return StructuredTool.from_function(
        func=send, name="send_email", description="Send an email.", metadata=metadata
    )


def _model() -> ScriptedChatModel:
    args = '{"to": "ana@example.com", "body": "hi"}'
    return ScriptedChatModel(turns=[openai_call("send_email", "c1", args), text("Done.")])


async def test_an_approved_call_runs_with_the_models_args() -> None:
    ran: list[dict[str, Any]] = []
    gate = ScriptedGate("approved")
    model = _model()
    agent = ToolLoopAgent(model, [_recording_tool(ran, {"requires_approval": True})])
    sink, _ = await answer(agent, "email ana", gate)
    assert gate.asked == [("c1", "send_email", {"to": "ana@example.com", "body": "hi"})]
    assert ran == [{"to": "ana@example.com", "body": "hi"}]
    assert sink.kinds() == ["AgentToolCall", "AgentToolResult", "AgentDelta"]
    [result] = sink.of(AgentToolResult)
    assert (result.result, result.is_error) == ({"sent_to": "ana@example.com"}, False)


async def test_an_edited_call_runs_with_the_users_args() -> None:
    ran: list[dict[str, Any]] = []
    gate = ScriptedGate({"to": "bo@example.com", "body": "hello"})
    agent = ToolLoopAgent(_model(), [_recording_tool(ran)], approval_tools=["send_email"])
    sink, _ = await answer(agent, "email ana", gate)
    assert ran == [{"to": "bo@example.com", "body": "hello"}]
    # The call shows what the model asked for; the result is of what ran.
    [call] = sink.of(AgentToolCall)
    assert call.args == {"to": "ana@example.com", "body": "hi"}
    [result] = sink.of(AgentToolResult)
    assert result.result == {"sent_to": "bo@example.com"}


@pytest.mark.parametrize(
    ("decision", "told"),
    [("denied", "The user denied this call"), ("expired", "The approval expired")],
)
async def test_a_call_not_approved_does_not_run_and_the_model_is_told(
    decision: Decision, told: str
) -> None:
    ran: list[dict[str, Any]] = []
    model = _model()
    agent = ToolLoopAgent(model, [_recording_tool(ran, {"requires_approval": True})])
    sink, _ = await answer(agent, "email ana", ScriptedGate(decision))
    assert ran == []
    [result] = sink.of(AgentToolResult)
    assert (result.result, result.is_error) == (told, True)
    tool_message = model.seen[1][-1]
    assert isinstance(tool_message, ToolMessage)
    assert (tool_message.content, tool_message.status) == (told, "error")
    assert sink.text == "Done."


async def test_a_tool_without_approval_is_not_asked_about() -> None:
    ran: list[dict[str, Any]] = []
    gate = ScriptedGate()
    await answer(ToolLoopAgent(_model(), [_recording_tool(ran)]), "email ana", gate)
    assert gate.asked == []
    assert len(ran) == 1


async def test_the_demo_reminder_asks_first_and_says_how_it_went() -> None:
    agent = ToolLoopAgent(DemoChatModel(tokens_per_s=0), [reminder_tool])
    sink, _ = await answer(agent, "remind me to water the plants", ScriptedGate("approved"))
    [result] = sink.of(AgentToolResult)
    assert isinstance(result.result, dict)
    assert result.result["text"] == "water the plants"
    assert str(result.result["reminder_id"]).startswith("rem_")
    assert sink.text == "Reminder set: water the plants"

    sink, _ = await answer(agent, "remind me to water the plants", ScriptedGate("denied"))
    [result] = sink.of(AgentToolResult)
    assert result.is_error is True
    assert sink.text == "The reminder to water the plants was not set: the user denied this call."
