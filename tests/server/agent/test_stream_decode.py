from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.messages.tool import ToolCallChunk, tool_call, tool_call_chunk
from pydantic import BaseModel

from server.agent.calculator import calculator_tool
from server.agent.demo_model import DemoChatModel
from server.agent.stream_decode import (
    JsonValue,
    ParsedToolCall,
    StreamAccumulator,
    ToolArgsError,
    TurnResult,
    decode_tool_output,
    tool_output_is_error,
)


def _chunk(content: str | list[str | dict[str, Any]] = "", *calls: ToolCallChunk) -> AIMessageChunk:
    return AIMessageChunk(content=content, tool_call_chunks=list(calls))


def _frag(args: str, index: int | None = 0, call_id: str | None = None) -> ToolCallChunk:
    return tool_call_chunk(name=None, args=args, id=call_id, index=index)


def _run(chunks: Sequence[AIMessage]) -> tuple[list[str], TurnResult]:
    acc = StreamAccumulator()
    deltas = [acc.feed(chunk) for chunk in chunks]
    return deltas, acc.finish()


def _assert_not_double_encoded(value: JsonValue) -> None:
    encoded = json.dumps(value, allow_nan=False)
    if isinstance(value, dict | list):
        assert '\\"' not in encoded, encoded


def _openai_fragments(args: str, index: int, sizes: Sequence[int]) -> list[ToolCallChunk]:
    pieces, start = [], 0
    for size in sizes:
        pieces.append(_frag(args[start : start + size], index))
        start += size
    return [*pieces, _frag(args[start:], index)] if start < len(args) else pieces


def test_openai_style_single_call() -> None:
    head = tool_call_chunk(name="calculator", args="", id="call_1", index=0)
    parts = _openai_fragments('{"expression": "2*(3+4)"}', 0, (7, 5, 9))
    deltas, result = _run([_chunk("", head), *(_chunk("", part) for part in parts)])

    assert deltas == [""] * (1 + len(parts))
    assert result.text == ""
    assert result.tool_calls == [ParsedToolCall("call_1", "calculator", {"expression": "2*(3+4)"})]
    _assert_not_double_encoded(result.tool_calls[0].args)


def test_openai_style_parallel_calls_interleaved() -> None:
    first = _openai_fragments('{"expression": "1+1"}', 0, (4, 6, 3))
    second = _openai_fragments('{"expression": "2*3"}', 1, (2, 8, 5))
    chunks = [
        _chunk("", tool_call_chunk(name="calculator", args="", id="call_a", index=0)),
        _chunk("", tool_call_chunk(name="calculator", args="", id="call_b", index=1)),
    ]
    for left, right in zip(first, second, strict=False):
        chunks.append(_chunk("", left, right))
    chunks += [_chunk("", extra) for extra in first[len(second) :] + second[len(first) :]]

    _, result = _run(chunks)

    assert [(call.call_id, call.args) for call in result.tool_calls] == [
        ("call_a", {"expression": "1+1"}),
        ("call_b", {"expression": "2*3"}),
    ]


def test_anthropic_style_content_blocks() -> None:
    args = '{"expression": "2*(3+4)"}'
    chunks = [
        _chunk([]),
        _chunk([{"type": "thinking", "thinking": "User wants math.", "index": 0}]),
        _chunk([{"type": "text", "text": "Let me ", "index": 1}]),
        _chunk([{"type": "text", "text": "calculate.", "index": 1}]),
        _chunk(
            [{"type": "tool_use", "id": "toolu_1", "name": "calculator", "input": {}, "index": 2}],
            tool_call_chunk(name="calculator", args="", id="toolu_1", index=2),
        ),
    ]
    for piece in (args[:9], args[9:20], args[20:]):
        block = {"type": "input_json_delta", "partial_json": piece, "index": 2}
        chunks.append(_chunk([block], _frag(piece, index=2)))

    deltas, result = _run(chunks)

    assert deltas == ["", "", "Let me ", "calculate.", "", "", "", ""]
    assert result.text == "Let me calculate."
    assert result.tool_calls == [ParsedToolCall("toolu_1", "calculator", {"expression": "2*(3+4)"})]


def test_text_blocks_mixed_with_strings_and_ignored_blocks() -> None:
    content: list[str | dict[str, Any]] = [
        "a",
        {"type": "reasoning", "reasoning": "hidden"},
        {"type": "image", "url": "https://example.com/x.png"},
        {"type": "text", "text": "b"},
        {"type": "tool_call_chunk", "args": '{"x"', "index": 0},
    ]
    deltas, result = _run([_chunk(content), _chunk("c")])
    assert deltas == ["ab", "c"]
    assert result.text == "abc"
    assert result.tool_calls == []


async def test_demo_model_stream_yields_one_parsed_call() -> None:
    model = DemoChatModel(tokens_per_s=0).bind_tools([calculator_tool])
    acc = StreamAccumulator()
    async for chunk in model.astream([HumanMessage("calculate 2*(3+4)")]):
        acc.feed(chunk)
    result = acc.finish()

    assert len(result.tool_calls) == 1
    call = result.tool_calls[0]
    assert call.name == "calculator"
    assert call.call_id.startswith("call_")
    assert call.args == {"expression": "2*(3+4)"}
    _assert_not_double_encoded(call.args)

    message = result.as_ai_message()
    assert message.tool_calls == [
        {"name": "calculator", "args": call.args, "id": call.call_id, "type": "tool_call"}
    ]
    tool_message = await calculator_tool.ainvoke(message.tool_calls[0])
    assert isinstance(tool_message, ToolMessage)
    assert decode_tool_output(tool_message) == 14
    assert not tool_output_is_error(tool_message)


def test_nested_args_are_decoded_once() -> None:
    raw = '{"nested": {"a": [1, 2, {"b": null}]}, "s": "{\\"not\\": \\"decoded\\"}"}'
    head = tool_call_chunk(name="echo", args=raw[:10], id="call_n", index=0)
    _, result = _run([_chunk("", head), _chunk("", _frag(raw[10:]))])

    args = result.tool_calls[0].args
    assert args == {"nested": {"a": [1, 2, {"b": None}]}, "s": '{"not": "decoded"}'}
    assert isinstance(args["s"], str)
    _assert_not_double_encoded(args["nested"])


@pytest.mark.parametrize(
    "raw",
    ['{"expression": ', '"just a string"', "[1, 2]", "14", '{"x": NaN}', '{"x": 1e999}'],
)
def test_bad_args_raise_tool_args_error(raw: str) -> None:
    head = tool_call_chunk(name="calculator", args="", id="call_x", index=0)
    acc = StreamAccumulator()
    acc.feed(_chunk("", head))
    acc.feed(_chunk("", _frag(raw)))
    with pytest.raises(ToolArgsError) as info:
        acc.finish()
    assert isinstance(info.value, ValueError)
    assert (info.value.call_id, info.value.name, info.value.raw) == ("call_x", "calculator", raw)


@pytest.mark.parametrize("args", [None, "", "  "])
def test_empty_args_mean_empty_object(args: str | None) -> None:
    call = tool_call_chunk(name="now", args=args, id="call_t", index=0)
    _, result = _run([_chunk("", call)])
    assert result.tool_calls == [ParsedToolCall("call_t", "now", {})]


def test_repeated_id_and_name_are_not_concatenated() -> None:
    chunks = [
        _chunk("", tool_call_chunk(name="calculator", args='{"expression"', id="c1", index=0)),
        _chunk("", tool_call_chunk(name="calculator", args=': "1+2"}', id="c1", index=0)),
    ]
    _, result = _run(chunks)
    assert result.tool_calls == [ParsedToolCall("c1", "calculator", {"expression": "1+2"})]


def test_index_none_with_ids_and_reused_index() -> None:
    chunks = [
        # Complete calls with no index, as some providers send them.
        _chunk("", tool_call_chunk(name="calculator", args='{"expression": "1"}', id="g1")),
        _chunk("", tool_call_chunk(name="calculator", args='{"expression": "2"}', id="g2")),
        # A new id on an index that is already in use starts another call.
        _chunk(
            "", tool_call_chunk(name="calculator", args='{"expression": "3"}', id="v1", index=0)
        ),
        _chunk("", tool_call_chunk(name="calculator", args='{"expression"', id="v2", index=0)),
        _chunk("", _frag(': "4"}', index=0)),
    ]
    _, result = _run(chunks)
    assert [(call.call_id, call.args["expression"]) for call in result.tool_calls] == [
        ("g1", "1"),
        ("g2", "2"),
        ("v1", "3"),
        ("v2", "4"),
    ]


def test_calls_without_id_get_deterministic_ids() -> None:
    chunks = [
        _chunk("", tool_call_chunk(name="a", args="{}", index=0)),
        _chunk("", tool_call_chunk(name="b", args="{}", id="call_0", index=1)),
        _chunk("", tool_call_chunk(name="c", args="{}", index=2)),
    ]
    first = _run(chunks)[1]
    second = _run(chunks)[1]
    assert [call.call_id for call in first.tool_calls] == ["call_0_1", "call_0", "call_2"]
    assert first == second


def test_non_streaming_message_keeps_parsed_calls() -> None:
    message = AIMessage(
        content="Working on it.",
        tool_calls=[tool_call(name="calculator", args={"expression": "1+1"}, id="call_m")],
    )
    deltas, result = _run([message])
    assert deltas == ["Working on it."]
    assert result.tool_calls == [ParsedToolCall("call_m", "calculator", {"expression": "1+1"})]
    assert result.as_ai_message().content == "Working on it."


class _Point(BaseModel):
    x: int
    label: str


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"value": 14}', {"value": 14}),
        ({"value": 14}, {"value": 14}),
        (14, 14),
        ("14", 14),
        (" -3.5 ", -3.5),
        ("true", True),
        ("null", None),
        ("hello", "hello"),
        ("14 apples", "14 apples"),
        ("", ""),
        ('"{\\"a\\": 1}"', '{"a": 1}'),
        (ToolMessage(content="[1,2]", tool_call_id="x"), [1, 2]),
        (
            ToolMessage(content=[{"type": "text", "text": '{"k": '}, "1}"], tool_call_id="x"),
            {"k": 1},
        ),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
        ("NaN", "NaN"),
        ((1, (2, 3)), [1, [2, 3]]),
        ({"p": _Point(x=1, label="a")}, {"p": {"x": 1, "label": "a"}}),
        (_Point(x=2, label='{"q": 1}'), {"x": 2, "label": '{"q": 1}'}),
        ({"nested": '{"kept": "as text"}'}, {"nested": '{"kept": "as text"}'}),
        ({2: None, False: 2.5, None: "n"}, {"2": None, "false": 2.5, "null": "n"}),
        (object, str(object)),
    ],
)
def test_decode_tool_output(output: Any, expected: JsonValue) -> None:
    value = decode_tool_output(output)
    assert value == expected
    assert type(value) is type(expected)
    if isinstance(expected, dict) and not any(isinstance(v, str) for v in expected.values()):
        _assert_not_double_encoded(value)


def test_decode_tool_output_never_stringifies_a_dict() -> None:
    payload = {"value": 14, "items": [1, {"b": None}]}
    value = decode_tool_output(payload)
    assert isinstance(value, dict)
    assert value == payload
    _assert_not_double_encoded(value)


def test_self_referencing_container_does_not_recurse_forever() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert decode_tool_output(loop) == [1, "[1, [...]]"]


def test_tool_output_is_error() -> None:
    failed = ToolMessage(content="Error: division by zero", tool_call_id="x", status="error")
    assert tool_output_is_error(failed)
    assert decode_tool_output(failed) == "Error: division by zero"
    assert not tool_output_is_error(ToolMessage(content="14", tool_call_id="x"))
    assert not tool_output_is_error("Error: not a message")
