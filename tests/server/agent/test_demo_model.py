from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from functools import reduce
from typing import Any

import pytest
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.messages.tool import tool_call
from langchain_core.runnables import Runnable

from server.agent.calculator import calculator_tool
from server.agent.demo_model import DemoChatModel
from server.agent.reminder import reminder_tool

SENTENCE_END = re.compile(r"[.!?](?:\s|$)")


def _model(**kwargs: Any) -> DemoChatModel:
    return DemoChatModel(tokens_per_s=0, **kwargs)


async def _collect(
    runnable: Runnable[LanguageModelInput, Any], messages: LanguageModelInput
) -> list[AIMessageChunk]:
    return [chunk async for chunk in runnable.astream(messages)]


def _merge(chunks: Sequence[AIMessageChunk]) -> AIMessageChunk:
    return reduce(lambda left, right: left + right, chunks)


async def test_count_to_five_streams_one_number_per_chunk() -> None:
    chunks = await _collect(_model(), "count to 5")
    assert [chunk.content for chunk in chunks] == ["1", " 2", " 3", " 4", " 5"]
    assert _merge(chunks).content == "1 2 3 4 5"


@pytest.mark.parametrize("prompt", ["Count To 3", "  count to 3  ", "COUNT TO 3."])
async def test_count_is_case_and_whitespace_insensitive(prompt: str) -> None:
    assert _merge(await _collect(_model(), prompt)).content == "1 2 3"


async def test_count_to_max() -> None:
    chunks = await _collect(_model(), "count to 10000")
    assert len(chunks) == 10000
    assert _merge(chunks).content == " ".join(str(i) for i in range(1, 10001))


@pytest.mark.parametrize("number", ["0", "10001", "-4", "9" * 50])
async def test_count_out_of_range_explains_limit(number: str) -> None:
    chunks = await _collect(_model(), f"count to {number}")
    text = _merge(chunks).content
    assert isinstance(text, str)
    assert "1 to 10000" in text
    assert len(chunks) > 3


async def test_calculate_streams_fragmented_tool_call() -> None:
    model = _model().bind_tools([calculator_tool])
    chunks = await _collect(model, [HumanMessage("calculate 2*(3+4)")])

    first = chunks[0].tool_call_chunks[0]
    assert first["name"] == "calculator"
    assert first["index"] == 0
    assert (first["id"] or "").startswith("call_")
    assert all(chunk.content == "" for chunk in chunks)

    fragments = [tc["args"] for chunk in chunks for tc in chunk.tool_call_chunks if tc["args"]]
    assert len(fragments) > 2

    def is_json(fragment: str | None) -> bool:
        try:
            json.loads(fragment or "")
        except ValueError:
            return False
        return True

    assert not all(is_json(fragment) for fragment in fragments)

    merged = _merge(chunks)
    assert merged.tool_calls == [
        {
            "name": "calculator",
            "args": {"expression": "2*(3+4)"},
            "id": first["id"],
            "type": "tool_call",
        }
    ]


async def test_calculate_without_streaming_returns_tool_call() -> None:
    model = _model().bind_tools([calculator_tool])
    message = await model.ainvoke([HumanMessage("Calculate 7/2")])
    assert message.content == ""
    assert [(call["name"], call["args"]) for call in message.tool_calls] == [
        ("calculator", {"expression": "7/2"})
    ]


async def test_calculate_without_bound_tool_answers_directly() -> None:
    message = await _model().ainvoke("calculate 2*(3+4)")
    assert message.tool_calls == []
    assert message.content == "2*(3+4) = 14."


async def test_two_turn_tool_loop_answers_with_result() -> None:
    model = _model().bind_tools([calculator_tool])
    history: list[Any] = [HumanMessage("calculate 2*(3+4)")]

    request = _merge(await _collect(model, history))
    [call] = request.tool_calls
    result = await calculator_tool.ainvoke(call["args"])
    history += [request, ToolMessage(content=str(result), tool_call_id=call["id"] or "")]

    chunks = await _collect(model, history)
    answer = _merge(chunks).content
    assert isinstance(answer, str)
    assert "14" in answer
    assert "2*(3+4) = 14." in answer
    assert len(chunks) > 1


async def test_tool_error_is_explained() -> None:
    model = _model().bind_tools([calculator_tool])
    request = await model.ainvoke([HumanMessage("calculate 1/0")])
    [call] = request.tool_calls
    failure = ToolMessage(
        content="Error: division by zero", tool_call_id=call["id"] or "", status="error"
    )
    answer = await model.ainvoke([HumanMessage("calculate 1/0"), request, failure])
    assert isinstance(answer.content, str)
    assert "could not calculate 1/0" in answer.content
    assert "division by zero" in answer.content


async def test_other_text_streams_several_sentences_deterministically() -> None:
    prompt = "Tell me about the weather today"
    first = await _collect(_model(), prompt)
    second = await _collect(_model(), prompt)
    assert [c.content for c in first] == [c.content for c in second]

    text = _merge(first).content
    assert isinstance(text, str)
    assert len(SENTENCE_END.findall(text)) >= 3
    assert "weather today" in text
    assert len(first) >= 10
    assert all(len(str(chunk.content).split()) <= 1 for chunk in first)


def test_sync_stream_matches_invoke() -> None:
    model = _model()
    streamed = "".join(str(chunk.content) for chunk in model.stream("hello"))
    invoked = model.invoke("hello")
    assert isinstance(invoked, AIMessage)
    assert streamed == invoked.content


async def test_zero_rate_has_no_delay() -> None:
    started = time.perf_counter()
    await _collect(_model(), "count to 2000")
    assert time.perf_counter() - started < 5


async def test_rate_limits_streaming_speed() -> None:
    model = DemoChatModel(tokens_per_s=200)
    started = time.perf_counter()
    chunks = await _collect(model, "count to 20")
    elapsed = time.perf_counter() - started
    assert len(chunks) == 20
    assert elapsed >= 0.09


def test_identity() -> None:
    assert _model()._llm_type == "netra-demo"
    assert DemoChatModel().tokens_per_s == 40.0


async def test_show_markdown_streams_every_kind_of_markdown() -> None:
    chunks = await _collect(_model(), "show markdown")
    text = _merge(chunks).content
    assert isinstance(text, str)
    assert len(chunks) > 20
    assert text.startswith("# ")
    assert "**markdown**" in text
    assert "\n- a bullet list\n" in text
    assert "`inline code`" in text
    assert "```python\ndef greet(name: str) -> str:\n    return" in text
    assert "[link to LangChain](https://" in text
    assert text.endswith('\n<img src=x onerror="window.__xss=1">')


async def test_think_about_streams_thinking_blocks_then_text_blocks() -> None:
    chunks = await _collect(_model(), "think about tea")
    kinds = [
        block["type"] for chunk in chunks for block in chunk.content if isinstance(block, dict)
    ]
    first_text = kinds.index("text")
    assert kinds[:first_text] == ["thinking"] * first_text
    assert set(kinds[first_text:]) == {"text"}
    merged = _merge(chunks)
    assert isinstance(merged.content, list)
    [thinking, answer] = merged.content
    assert isinstance(thinking, dict)
    assert isinstance(answer, dict)
    assert "think about tea" in thinking["thinking"]
    assert answer["text"].startswith("Here is a thought about tea:")


async def test_remind_me_calls_create_reminder() -> None:
    model = _model().bind_tools([reminder_tool])
    message = _merge(await _collect(model, [HumanMessage("Remind me to water the plants.")]))
    [call] = message.tool_calls
    assert (call["name"], call["args"]) == ("create_reminder", {"text": "water the plants"})


async def test_remind_me_without_the_tool_says_so() -> None:
    message = await _model().ainvoke("remind me to stretch")
    assert message.tool_calls == []
    assert message.content == "I cannot set reminders here: the reminder tool is not available."


@pytest.mark.parametrize(
    ("result", "answer"),
    [
        (
            ToolMessage('{"reminder_id": "rem_1", "text": "stretch"}', tool_call_id="r"),
            "Reminder set: stretch",
        ),
        (
            ToolMessage("The approval expired", tool_call_id="r", status="error"),
            "The reminder to stretch was not set: the approval expired.",
        ),
    ],
)
async def test_the_reminder_result_is_explained(result: ToolMessage, answer: str) -> None:
    call = AIMessage(
        "", tool_calls=[tool_call(name="create_reminder", args={"text": "stretch"}, id="r")]
    )
    message = await _model().ainvoke([HumanMessage("remind me to stretch"), call, result])
    assert message.content == answer


async def test_the_last_chunk_reports_usage_in_words() -> None:
    chunks = await _collect(_model(), [HumanMessage("count to 3")])
    assert [chunk.usage_metadata for chunk in chunks[:-1]] == [None, None]
    assert chunks[-1].usage_metadata == {"input_tokens": 3, "output_tokens": 3, "total_tokens": 6}
    message = await _model().ainvoke("count to 3")
    assert message.usage_metadata == {"input_tokens": 3, "output_tokens": 3, "total_tokens": 6}
