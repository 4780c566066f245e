"""A LangGraph graph as the agent: its stream becomes the same events as our own loop's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool, ToolException, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph

from schemas.chat import AgentToolCall, AgentToolResult, Usage
from server.agent.graph_runner import GraphAgent
from server.agent.runner import CoalescePolicy, RunFailure
from tests.server.agent.fakes import answer
from tests.server.agent.provider_chunks import anthropic_turn, openai_call, text, usage_of
from tests.server.agent.scripted_model import ScriptedChatModel

UNBUFFERED = CoalescePolicy(interval_s=0, max_chars=1)


@tool
def weather(city: str) -> str:
    """The weather in a city, as JSON."""
    return json.dumps({"city": city, "sky": "clear", "note": '{"kept": "as text"}'})


async def test_tool_call_fragments_a_json_result_and_text() -> None:
    first = openai_call("weather", "call_1", '{"city": "Oslo"}', (3, 2, 4))
    first[-1].usage_metadata = usage_of(12, 7)
    model = ScriptedChatModel(
        turns=[[*text("Let me check. "), *first], text("Clear ", "skies.", usage=(30, 2))]
    )
    graph = create_agent(model, [weather])
    sink, outcome = await answer(GraphAgent(graph, coalesce=UNBUFFERED), "Weather in Oslo?")
    assert sink.kinds() == ["AgentDelta", "AgentToolCall", "AgentToolResult", "AgentDelta"]
    wire = sink.wire()
    [call] = [e for e in wire if "args" in e]
    assert (call["call_id"], call["name"], call["args"]) == ("call_1", "weather", {"city": "Oslo"})
    [result] = [e for e in wire if "result" in e]
    assert result["result"] == {"city": "Oslo", "sky": "clear", "note": '{"kept": "as text"}'}
    assert result["is_error"] is False
    assert sink.text == "Let me check. Clear skies."
    assert outcome.usage == Usage(input_tokens=42, output_tokens=9, total_tokens=51)
    # The model's second call saw the tool's output as the tool gave it.
    tool_message = model.seen[1][-1]
    assert isinstance(tool_message, ToolMessage)
    assert tool_message.tool_call_id == "call_1"


async def test_anthropic_thinking_tool_use_and_input_json_deltas() -> None:
    first = anthropic_turn(
        ["Need ", "weather."], ["Checking."], ("weather", "toolu_1", ['{"ci', 'ty": "Rome"}'])
    )
    model = ScriptedChatModel(turns=[first, anthropic_turn(["Got it."], ["Sunny."])])
    sink, _ = await answer(GraphAgent(create_agent(model, [weather]), coalesce=UNBUFFERED), "Rome?")
    assert sink.kinds() == [
        "AgentReasoning",
        "AgentDelta",
        "AgentToolCall",
        "AgentToolResult",
        "AgentReasoning",
        "AgentDelta",
    ]
    assert sink.reasoning == "Need weather.Got it."
    assert sink.text == "Checking.Sunny."
    [call] = sink.of(AgentToolCall)
    assert (call.call_id, call.args) == ("toolu_1", {"city": "Rome"})


async def test_a_tool_error_the_tool_handles_is_an_error_result() -> None:
    def fail(city: str) -> str:
        raise ToolException("no data")

    broken = StructuredTool.from_function(
        func=fail, name="broken", description="Always fails.", handle_tool_error=True
    )

    model = ScriptedChatModel(turns=[openai_call("broken", "c1", '{"city": "x"}'), text("Sorry.")])
    graph = create_agent(model, [broken])
    sink, _ = await answer(GraphAgent(graph), "go")
    [result] = sink.of(AgentToolResult)
    assert result.is_error is True
    assert "no data" in str(result.result)
    assert sink.text == "Sorry."


async def test_a_streaming_fake_model_answers() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("Streamed in words.")]))
    sink, outcome = await answer(GraphAgent(create_agent(model)), "hi")
    assert sink.text == "Streamed in words."
    assert outcome.usage is None


async def test_a_model_that_does_not_stream_answers_whole() -> None:
    model = FakeMessagesListChatModel(responses=[AIMessage("One piece.")])
    sink, _ = await answer(GraphAgent(create_agent(model)), "hi")
    assert sink.text == "One piece."


async def test_a_node_that_answers_without_a_model() -> None:
    def reply(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage(f"You said {state['messages'][-1].text}.")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    sink, _ = await answer(GraphAgent(builder.compile()), "hello")
    assert sink.text == "You said hello."


async def test_a_graph_that_raises_propagates() -> None:
    model = ScriptedChatModel(turns=[[*text("partial "), ConnectionError("provider hung up")]])
    with pytest.raises(ConnectionError):
        await answer(GraphAgent(create_agent(model), coalesce=UNBUFFERED), "hi")


async def test_a_graph_that_loops_forever_is_cut_off() -> None:
    turns = [openai_call("weather", f"c{i}", '{"city": "x"}') for i in range(20)]
    graph = create_agent(ScriptedChatModel(turns=turns), [weather]).with_config(recursion_limit=6)
    with pytest.raises(RunFailure) as failure:
        await answer(GraphAgent(graph), "loop")
    assert failure.value.code == "tool_loop_limit"


async def test_unreadable_tool_args_fail_the_run() -> None:
    model = ScriptedChatModel(turns=[openai_call("weather", "c1", '{"city": ')])
    with pytest.raises(RunFailure) as failure:
        await answer(GraphAgent(create_agent(model, [weather])), "go")
    assert failure.value.code == "tool_args_invalid"


async def test_a_checkpointed_thread_gets_the_chats_history_not_a_second_copy() -> None:
    model = ScriptedChatModel(turns=[text("first"), text("second")])
    agent = GraphAgent(create_agent(model, checkpointer=InMemorySaver()))
    await answer(agent, [HumanMessage("one")])
    conversation = [HumanMessage("one"), AIMessage("first"), HumanMessage("two")]
    sink, _ = await answer(agent, conversation)
    assert sink.text == "second"
    assert [m.text for m in model.seen[1]] == ["one", "first", "two"]
