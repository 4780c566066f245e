"""The runner turns provider-shaped streams into events whose JSON is decoded exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.tools import BaseTool, StructuredTool

from schemas.chat import AgentDelta, AgentToolCall, AgentToolResult, UserStreamPayload
from server.agent.calculator import calculator_tool
from server.agent.demo_model import DemoChatModel
from server.agent.runner import AgentRunner, CoalescePolicy, RunFailure, RunProgress
from tests.server.agent.scripted_model import ScriptedChatModel


class ListSink:
    def __init__(self) -> None:
        self.events: list[UserStreamPayload] = []

    async def __call__(self, payload: UserStreamPayload) -> int:
        self.events.append(payload)
        return len(self.events)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def wire(self) -> list[dict[str, Any]]:
        """What a client receives: JSON encoded once by the transport, decoded once."""
        return [orjson.loads(orjson.dumps(e.model_dump(mode="json"))) for e in self.events]


def _tool(name: str, output: Any) -> BaseTool:
    def run(expression: str) -> Any:
        return output

    return StructuredTool.from_function(func=run, name=name, description=f"returns {output!r}")


def _openai_call(
    name: str, call_id: str, args: str, sizes: tuple[int, ...]
) -> list[AIMessageChunk]:
    chunks = [
        AIMessageChunk(
            content="", tool_call_chunks=[tool_call_chunk(name=name, args="", id=call_id, index=0)]
        )
    ]
    start = 0
    for size in (*sizes, len(args)):
        piece = args[start : start + size]
        start += size
        if piece:
            chunks.append(
                AIMessageChunk(
                    content="",
                    tool_call_chunks=[tool_call_chunk(name=None, args=piece, id=None, index=0)],
                )
            )
    return chunks


def _text(*pieces: str) -> list[AIMessageChunk | Exception]:
    return [AIMessageChunk(content=p) for p in pieces]


async def _run(model: Any, tools: list[BaseTool], prompt: str = "go") -> tuple[ListSink, str]:
    sink = ListSink()
    runner = AgentRunner(model, tools, CoalescePolicy(interval_s=0, max_chars=64))
    text = await runner.run("run-1", [HumanMessage(prompt)], sink, RunProgress())
    return sink, text


async def test_openai_style_split_args_arrive_as_one_object() -> None:
    args = '{"expression": "2*(3+4)", "note": "{\\"keep\\": \\"as text\\"}"}'
    model = ScriptedChatModel(
        turns=[_openai_call("calc", "call_9", args, (3, 4, 5, 6)), _text("The answer is ", "14.")]
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
    model = ScriptedChatModel(turns=[list(first), _text(" It is 2.")])
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
        turns=[_openai_call("lookup", "c1", '{"expression": "x"}', (4,)), _text("done")]
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
        turns=[_openai_call("calc", "c1", '{"expression": "1"}', (5,)), _text("Sorry.")]
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
    model = ScriptedChatModel(turns=[_openai_call("calc", "c1", '{"expression": ', (4,))])
    with pytest.raises(RunFailure) as failure:
        await _run(model, [_tool("calc", 1)])
    assert failure.value.code == "tool_args_invalid"


async def test_a_model_that_never_stops_calling_tools_is_cut_off() -> None:
    loop_turn = _openai_call("calc", "c1", '{"expression": "1"}', (5,))
    model = ScriptedChatModel(turns=[list(loop_turn) for _ in range(10)])
    sink = ListSink()
    runner = AgentRunner(model, [_tool("calc", 1)], max_tool_rounds=3)
    with pytest.raises(RunFailure) as failure:
        await runner.run("r", [HumanMessage("go")], sink, RunProgress())
    assert failure.value.code == "tool_loop_limit"
    assert len(sink.of(AgentToolCall)) == 3  # the fourth round's calls never run


async def test_model_errors_propagate_after_sending_what_was_streamed() -> None:
    model = ScriptedChatModel(turns=[[*_text("partial "), ConnectionError("provider hung up")]])
    sink = ListSink()
    progress = RunProgress()
    runner = AgentRunner(model, [], CoalescePolicy(interval_s=0.5, max_chars=1000))
    with pytest.raises(ConnectionError):
        await runner.run("r", [HumanMessage("go")], sink, progress)
    assert progress.text == ""  # buffered text not yet flushed is not claimed as sent


async def test_coalescing_flushes_by_age_for_a_slow_model() -> None:
    sink = ListSink()
    progress = RunProgress()
    runner = AgentRunner(
        DemoChatModel(tokens_per_s=50), [], CoalescePolicy(interval_s=0.025, max_chars=64)
    )
    text = await runner.run("r", [HumanMessage("count to 10")], sink, progress)
    deltas = [e.text for e in sink.of(AgentDelta)]
    assert "".join(deltas) == text == "1 2 3 4 5 6 7 8 9 10"
    # 20 ms between tokens and a 25 ms flush: tokens are not held back until the end.
    assert len(deltas) >= 5
    assert progress.text == text
    assert progress.seq == len(sink.events)


async def test_cancel_sends_the_buffered_text_before_stopping() -> None:
    sink = ListSink()
    progress = RunProgress()
    runner = AgentRunner(
        DemoChatModel(tokens_per_s=100), [], CoalescePolicy(interval_s=10, max_chars=10_000)
    )
    task = asyncio.create_task(runner.run("r", [HumanMessage("count to 500")], sink, progress))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deltas = "".join(e.text for e in sink.of(AgentDelta))
    assert deltas.startswith("1 2 3")
    assert progress.text == deltas


async def test_calculator_through_the_demo_model() -> None:
    sink, text = await _run(DemoChatModel(tokens_per_s=0), [calculator_tool], "calculate 7*6")
    [call] = sink.of(AgentToolCall)
    [result] = sink.of(AgentToolResult)
    assert call.args == {"expression": "7*6"}
    assert result.result == 42
    assert "42" in text


async def test_a_delta_that_cannot_be_sent_fails_the_run() -> None:
    class BrokenSink(ListSink):
        async def __call__(self, payload: UserStreamPayload) -> int:
            if isinstance(payload, AgentDelta):
                raise ConnectionError("store unavailable")
            return await super().__call__(payload)

    progress = RunProgress()
    # Flushed by age, from the coalescer's timer task: its failure must still end the run.
    runner = AgentRunner(
        DemoChatModel(tokens_per_s=200), [], CoalescePolicy(interval_s=0.01, max_chars=10_000)
    )
    with pytest.raises(ConnectionError):
        await runner.run("r", [HumanMessage("count to 100")], BrokenSink(), progress)
    assert progress.text == ""
