"""The runner turns provider-shaped streams into events whose JSON is decoded exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from langchain_core.messages import AIMessageChunk, ToolMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.tools import BaseTool, StructuredTool

from schemas.chat import AgentDelta, AgentToolCall, AgentToolResult, UserStreamPayload
from server.agent.calculator import calculator_tool
from server.agent.demo_model import DemoChatModel
from server.agent.runner import CoalescePolicy, RunFailure, ToolLoopAgent
from tests.server.agent.fakes import ListSink, answer, run_input
from tests.server.agent.provider_chunks import openai_call
from tests.server.agent.provider_chunks import text as text_turn
from tests.server.agent.scripted_model import ScriptedChatModel


def _tool(name: str, output: Any) -> BaseTool:
    def run(expression: str) -> Any:
        return output

    return StructuredTool.from_function(func=run, name=name, description=f"returns {output!r}")


async def _run(model: Any, tools: list[BaseTool], prompt: str = "go") -> tuple[ListSink, str]:
    agent = ToolLoopAgent(model, tools, coalesce=CoalescePolicy(interval_s=0, max_chars=64))
    sink, _ = await answer(agent, prompt)
    return sink, sink.text


async def test_openai_style_split_args_arrive_as_one_object() -> None:
    args = '{"expression": "2*(3+4)", "note": "{\\"keep\\": \\"as text\\"}"}'
    model = ScriptedChatModel(
        turns=[
            openai_call("calc", "call_9", args, (3, 4, 5, 6)),
            text_turn("The answer is ", "14."),
        ]
    )
    sink, text = await _run(model, [_tool("calc", 14)])
    [call] = sink.wire()[:1]
    assert call["args"] == {"expression": "2*(3+4)", "note": '{"keep": "as text"}'}
    assert isinstance(call["args"]["note"], str)  # a string field stays a string
    [result] = sink.of(AgentToolResult)
    assert result.result == 14
    assert text == "The answer is 14."
    # The model's second turn saw the tool's answer paired with its call.
    tool_message = model.seen[1][-1]
    assert isinstance(tool_message, ToolMessage)
    assert (tool_message.tool_call_id, tool_message.content) == ("call_9", "14")


async def test_anthropic_style_content_blocks_stream_text_and_a_tool_call() -> None:
    first = [
        AIMessageChunk(content=[{"type": "text", "text": "Let me ", "index": 0}]),
        AIMessageChunk(content=[{"type": "text", "text": "check.", "index": 0}]),
        AIMessageChunk(
            content=[
                {"type": "tool_use", "id": "toolu_1", "name": "calc", "input": {}, "index": 1}
            ],
            tool_call_chunks=[tool_call_chunk(name="calc", args="", id="toolu_1", index=1)],
        ),
        AIMessageChunk(
            content=[{"type": "input_json_delta", "partial_json": '{"expr', "index": 1}],
            tool_call_chunks=[tool_call_chunk(name=None, args='{"expr', id=None, index=1)],
        ),
        AIMessageChunk(
            content=[{"type": "input_json_delta", "partial_json": 'ession": "1+1"}', "index": 1}],
            tool_call_chunks=[tool_call_chunk(name=None, args='ession": "1+1"}', id=None, index=1)],
        ),
    ]
    model = ScriptedChatModel(turns=[list(first), text_turn(" It is 2.")])
    sink, text = await _run(model, [_tool("calc", 2)])
    assert [e.text for e in sink.of(AgentDelta)] == ["Let me ", "check.", " It is 2."]
    [call] = sink.of(AgentToolCall)
    assert (call.call_id, call.args) == ("toolu_1", {"expression": "1+1"})
    assert text == "Let me check. It is 2."


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"value": 14, "unit": "apples"}', {"value": 14, "unit": "apples"}),
        ({"value": 14, "nested": {"list": [1, 2]}}, {"value": 14, "nested": {"list": [1, 2]}}),
        ("[1, 2, 3]", [1, 2, 3]),
        ("plain words", "plain words"),
        ('"{\\"a\\": 1}"', '{"a": 1}'),
    ],
    ids=["json-string", "dict", "json-array", "text", "json-string-holding-json"],
)
async def test_tool_results_are_decoded_exactly_once(output: Any, expected: Any) -> None:
    model = ScriptedChatModel(
        turns=[openai_call("lookup", "c1", '{"expression": "x"}', (4,)), text_turn("done")]
    )
    sink, _ = await _run(model, [_tool("lookup", output)])
    [result] = [e for e in sink.wire() if "result" in e]
    assert result["result"] == expected
    assert result["is_error"] is False
    if isinstance(expected, dict):
        assert '\\"' not in orjson.dumps(result).decode()


async def test_a_failing_tool_is_an_error_result_and_the_run_goes_on() -> None:
    def explode(expression: str) -> str:
        raise RuntimeError("backend down")

    tool = StructuredTool.from_function(func=explode, name="calc", description="fails")
    model = ScriptedChatModel(
        turns=[openai_call("calc", "c1", '{"expression": "1"}', (5,)), text_turn("Sorry.")]
    )
    sink, text = await _run(model, [tool])
    [result] = sink.of(AgentToolResult)
    assert result.is_error is True
    assert result.result == "RuntimeError: backend down"
    assert text == "Sorry."
    tool_message = model.seen[1][-1]
    assert isinstance(tool_message, ToolMessage)
    assert tool_message.status == "error"


async def test_unreadable_tool_args_fail_the_run_with_a_code() -> None:
    model = ScriptedChatModel(turns=[openai_call("calc", "c1", '{"expression": ', (4,))])
    with pytest.raises(RunFailure) as failure:
        await _run(model, [_tool("calc", 1)])
    assert failure.value.code == "tool_args_invalid"


async def test_a_model_that_never_stops_calling_tools_is_cut_off() -> None:
    loop_turn = openai_call("calc", "c1", '{"expression": "1"}', (5,))
    model = ScriptedChatModel(turns=[list(loop_turn) for _ in range(10)])
    sink = ListSink()
    agent = ToolLoopAgent(model, [_tool("calc", 1)], max_tool_rounds=3)
    with pytest.raises(RunFailure) as failure:
        await agent.run(run_input("go", sink))
    assert failure.value.code == "tool_loop_limit"
    assert len(sink.of(AgentToolCall)) == 3  # the fourth round's calls never run


async def test_model_errors_propagate_after_sending_what_was_streamed() -> None:
    model = ScriptedChatModel(turns=[[*text_turn("partial "), ConnectionError("provider hung up")]])
    sink = ListSink()
    agent = ToolLoopAgent(model, coalesce=CoalescePolicy(interval_s=0.5, max_chars=1000))
    with pytest.raises(ConnectionError):
        await agent.run(run_input("go", sink))
    # The text the model produced before failing reaches the user, then the failure.
    assert sink.text == "partial "


async def test_coalescing_flushes_by_age_for_a_slow_model() -> None:
    agent = ToolLoopAgent(
        DemoChatModel(tokens_per_s=50), coalesce=CoalescePolicy(interval_s=0.025, max_chars=64)
    )
    sink, _ = await answer(agent, "count to 10")
    deltas = [e.text for e in sink.of(AgentDelta)]
    assert "".join(deltas) == "1 2 3 4 5 6 7 8 9 10"
    # 20 ms between tokens and a 25 ms flush: tokens are not held back until the end.
    assert len(deltas) >= 5


async def test_cancel_sends_the_buffered_text_before_stopping() -> None:
    sink = ListSink()
    agent = ToolLoopAgent(
        DemoChatModel(tokens_per_s=100), coalesce=CoalescePolicy(interval_s=10, max_chars=10_000)
    )
    task = asyncio.create_task(agent.run(run_input("count to 500", sink)))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sink.text.startswith("1 2 3")
    assert len(sink.of(AgentDelta)) == 1  # held back by the policy, sent by the stop


async def test_a_stop_during_a_send_lets_that_send_arrive() -> None:
    class SlowSink(ListSink):
        def __init__(self) -> None:
            super().__init__()
            self.sending = asyncio.Event()

        async def __call__(self, payload: UserStreamPayload) -> int:
            self.sending.set()
            await asyncio.sleep(0.05)
            return await super().__call__(payload)

    sink = SlowSink()
    agent = ToolLoopAgent(
        DemoChatModel(tokens_per_s=500), coalesce=CoalescePolicy(interval_s=0, max_chars=4)
    )
    task = asyncio.create_task(agent.run(run_input("count to 500", sink)))
    await sink.sending.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The stop came while "1" was being sent: it arrived all the same.
    assert sink.text == "1"


async def test_calculator_through_the_demo_model() -> None:
    sink, text = await _run(DemoChatModel(tokens_per_s=0), [calculator_tool], "calculate 7*6")
    [call] = sink.of(AgentToolCall)
    [result] = sink.of(AgentToolResult)
    assert call.args == {"expression": "7*6"}
    assert result.result == 42
    assert text == "7*6 = 42."


async def test_a_delta_that_cannot_be_sent_fails_the_run() -> None:
    class BrokenSink(ListSink):
        async def __call__(self, payload: UserStreamPayload) -> int:
            if isinstance(payload, AgentDelta):
                raise ConnectionError("store unavailable")
            return await super().__call__(payload)

    sink = BrokenSink()
    # Flushed by age, from the coalescer's timer task: its failure must still end the run.
    agent = ToolLoopAgent(
        DemoChatModel(tokens_per_s=200), coalesce=CoalescePolicy(interval_s=0.01, max_chars=10_000)
    )
    with pytest.raises(ConnectionError):
        await agent.run(run_input("count to 100", sink))
    assert sink.text == ""
