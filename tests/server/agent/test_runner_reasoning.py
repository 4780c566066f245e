"""Reasoning in each provider's shape reaches the user as `agent:reasoning`, in order."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool

from schemas.chat import AgentToolCall, AgentToolResult
from server.agent.demo_model import DemoChatModel
from server.agent.reasoning import reasoning_text
from server.agent.runner import CoalescePolicy, ToolLoopAgent
from tests.server.agent.fakes import answer
from tests.server.agent.provider_chunks import anthropic_turn, text
from tests.server.agent.scripted_model import ScriptedChatModel

UNBUFFERED = CoalescePolicy(interval_s=0, max_chars=1)


@tool
def lookup(query: str) -> str:
    """Look something up."""
    return '{"found": true}'


@pytest.mark.parametrize(
    ("chunk", "expected"),
    [
        (AIMessageChunk(content=[{"type": "thinking", "thinking": "hm", "index": 0}]), "hm"),
        (AIMessageChunk(content=[{"type": "thinking", "signature": "s", "index": 0}]), ""),
        (AIMessageChunk(content=[{"type": "redacted_thinking", "data": "x", "index": 0}]), ""),
        (
            AIMessageChunk(
                content=[
                    {
                        "type": "reasoning",
                        "id": "rs_1",
                        "summary": [{"type": "summary_text", "text": "sum", "index": 0}],
                        "index": 0,
                    }
                ],
                response_metadata={"model_provider": "openai"},
            ),
            "sum",
        ),
        (AIMessageChunk(content=[{"type": "reasoning", "reasoning": "v1"}]), "v1"),
        (AIMessageChunk(content="", additional_kwargs={"reasoning_content": "deep"}), "deep"),
        (AIMessageChunk(content="plain text"), ""),
        (AIMessageChunk(content=[{"type": "text", "text": "answer", "index": 1}]), ""),
    ],
    ids=[
        "anthropic-thinking",
        "anthropic-signature",
        "anthropic-redacted",
        "openai-summary",
        "langchain-v1",
        "reasoning-content",
        "text",
        "text-block",
    ],
)
def test_reasoning_is_read_from_each_provider_shape(chunk: AIMessageChunk, expected: str) -> None:
    assert reasoning_text(chunk) == expected


async def test_anthropic_thinking_then_text_then_a_tool_call() -> None:
    first = anthropic_turn(
        ["Let me ", "look."], ["Checking", " now."], ("lookup", "toolu_1", ['{"query"', ': "x"}'])
    )
    second = anthropic_turn(["Found it."], ["It is there."])
    model = ScriptedChatModel(turns=[first, second])
    sink, _ = await answer(ToolLoopAgent(model, [lookup], coalesce=UNBUFFERED), "where?")
    assert sink.kinds() == [
        "AgentReasoning",
        "AgentDelta",
        "AgentToolCall",
        "AgentToolResult",
        "AgentReasoning",
        "AgentDelta",
    ]
    assert sink.reasoning == "Let me look.Found it."
    assert sink.text == "Checking now.It is there."
    [call] = sink.of(AgentToolCall)
    assert (call.call_id, call.args) == ("toolu_1", {"query": "x"})
    [result] = sink.of(AgentToolResult)
    assert result.result == {"found": True}
    # The thinking goes back with the tool call, as Anthropic requires.
    ai_turn = model.seen[1][1]
    assert isinstance(ai_turn, AIMessage)
    assert ai_turn.tool_calls[0]["args"] == {"query": "x"}
    assert isinstance(ai_turn.content, list)
    [thinking] = [b for b in ai_turn.content if isinstance(b, dict) and b["type"] == "thinking"]
    assert (thinking["thinking"], thinking["signature"]) == ("Let me look.", "sig-1")
    assert isinstance(model.seen[1][2], ToolMessage)


async def test_coalescing_keeps_reasoning_and_text_apart_and_in_order() -> None:
    chunks = [
        AIMessageChunk(content="", additional_kwargs={"reasoning_content": "a"}),
        AIMessageChunk(content="", additional_kwargs={"reasoning_content": "b"}),
        *text("one ", "two "),
        AIMessageChunk(content="", additional_kwargs={"reasoning_content": "c"}),
        *text("three"),
    ]
    model = ScriptedChatModel(turns=[chunks])
    agent = ToolLoopAgent(model, coalesce=CoalescePolicy(interval_s=10, max_chars=1000))
    sink, _ = await answer(agent, [HumanMessage("go")])
    assert [(type(e).__name__, getattr(e, "text", "")) for e in sink.events] == [
        ("AgentReasoning", "ab"),
        ("AgentDelta", "one two "),
        ("AgentReasoning", "c"),
        ("AgentDelta", "three"),
    ]


async def test_the_demo_thinks_before_it_answers() -> None:
    sink, _ = await answer(ToolLoopAgent(DemoChatModel(tokens_per_s=0)), "think about tea")
    assert sink.kinds() == ["AgentReasoning", "AgentDelta"]
    assert sink.reasoning.startswith("The user wants me to think about tea.")
    assert sink.text.startswith("Here is a thought about tea:")
