"""The tool loop over models as they come: without tool calling, with a system prompt, with
usage reported per call."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from schemas.chat import AgentToolResult, Usage
from server.agent.calculator import calculator_tool
from server.agent.demo_model import DemoChatModel
from server.agent.runner import ToolLoopAgent
from tests.server.agent.fakes import answer
from tests.server.agent.provider_chunks import openai_call, text, usage_of
from tests.server.agent.scripted_model import ScriptedChatModel


async def test_a_streaming_model_without_tool_calling_answers_and_is_warned_of_once(
    log_records: list[dict[str, Any]],
) -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("Hello there, friend.")]))
    agent = ToolLoopAgent(model, [calculator_tool])
    sink, outcome = await answer(agent, "hi")
    assert sink.text == "Hello there, friend."
    assert outcome.usage is None
    warnings = [r["message"] for r in log_records if r["level"] == "WARNING"]
    assert warnings == [
        "GenericFakeChatModel cannot call tools (it has no bind_tools): it answers without "
        "calculator"
    ]


async def test_a_model_that_does_not_stream_answers_whole() -> None:
    model = FakeMessagesListChatModel(responses=[AIMessage("All in one piece.")])
    sink, _ = await answer(ToolLoopAgent(model, [calculator_tool]), "hi")
    assert sink.text == "All in one piece."


async def test_a_model_that_does_not_stream_can_call_tools() -> None:
    class Whole(FakeMessagesListChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    call = AIMessage(
        "", tool_calls=[{"name": "calculator", "args": {"expression": "2+2"}, "id": "c"}]
    )
    model = Whole(responses=[call, AIMessage("It is 4.")])
    sink, _ = await answer(ToolLoopAgent(model, [calculator_tool]), "2+2?")
    [result] = sink.of(AgentToolResult)
    assert result.result == 4
    assert sink.text == "It is 4."


async def test_the_system_prompt_comes_first() -> None:
    model = ScriptedChatModel(turns=[text("ok")])
    agent = ToolLoopAgent(model, system_prompt="You are terse.")
    await answer(agent, [HumanMessage("one"), AIMessage("two"), HumanMessage("three")])
    [seen] = model.seen
    assert isinstance(seen[0], SystemMessage)
    assert seen[0].content == "You are terse."
    assert [m.content for m in seen[1:]] == ["one", "two", "three"]


async def test_no_system_prompt_sends_the_conversation_as_is() -> None:
    model = ScriptedChatModel(turns=[text("ok")])
    await answer(ToolLoopAgent(model), "hi")
    assert [type(m) for m in model.seen[0]] == [HumanMessage]


async def test_usage_is_summed_over_every_model_call() -> None:
    first = openai_call("calculator", "c1", '{"expression": "1+1"}')
    first[-1].usage_metadata = usage_of(10, 5)
    model = ScriptedChatModel(turns=[first, text("It is ", "2.", usage=(20, 3))])
    _, outcome = await answer(ToolLoopAgent(model, [calculator_tool]), "1+1?")
    assert outcome.usage == Usage(input_tokens=30, output_tokens=8, total_tokens=38)
    assert isinstance(model.seen[1][-1], ToolMessage)


async def test_the_demo_model_reports_usage() -> None:
    _, outcome = await answer(ToolLoopAgent(DemoChatModel(tokens_per_s=0)), "count to 5")
    assert outcome.usage == Usage(input_tokens=3, output_tokens=5, total_tokens=8)
