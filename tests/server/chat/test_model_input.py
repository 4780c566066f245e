"""The model's input is rebuilt from parts: tool calls and results included, newest turns
first within the budget, the newest regenerated answer the one that counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from schemas.parts import MessagePart, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from server.chat.model_input import NO_RESULT, answer_messages, model_input
from server.stores.chat_records import MessageRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _user(id: str, text: str) -> MessageRecord:
    return _record(id=id, role="user", text=text, parts=[])


def _answer(id: str, reply_to: str, parts: list[MessagePart], **kw: Any) -> MessageRecord:
    text = "".join(p.text for p in parts if isinstance(p, TextPart))
    return _record(id=id, role="assistant", text=text, parts=parts, reply_to=reply_to, **kw)


def _record(**fields: Any) -> MessageRecord:
    base: dict[str, Any] = {
        "thread_id": "t",
        "user_id": "u",
        "status": "complete",
        "client_msg_id": None,
        "run_id": None,
        "reply_to": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return MessageRecord(**(base | fields))


CALL = ToolCallPart(call_id="c1", name="calculator", args={"expression": "2+3"})
RESULT = ToolResultPart(call_id="c1", name="calculator", result=5, is_error=False)


def test_an_answer_with_a_tool_becomes_the_call_its_result_then_the_text() -> None:
    messages = answer_messages(
        [
            ReasoningPart(text="hmm"),
            TextPart(text="Let me see. "),
            CALL,
            RESULT,
            TextPart(text="It is 5."),
        ]
    )
    first, tool, last = messages
    assert isinstance(first, AIMessage)
    assert first.content == "Let me see. "
    assert first.tool_calls == [
        {"name": "calculator", "args": {"expression": "2+3"}, "id": "c1", "type": "tool_call"}
    ]
    assert isinstance(tool, ToolMessage)
    assert (tool.content, tool.tool_call_id, tool.status) == ("5", "c1", "success")
    assert isinstance(last, AIMessage)
    assert (last.content, last.tool_calls) == ("It is 5.", [])


def test_a_call_left_without_a_result_is_answered_as_an_error() -> None:
    _, tool = answer_messages([CALL])
    assert isinstance(tool, ToolMessage)
    assert (tool.content, tool.status) == (NO_RESULT, "error")


def test_turn_two_sees_turn_ones_tool_call_and_result() -> None:
    records = [
        _user("m1", "calculate 2+3"),
        _answer("a1", "m1", [CALL, RESULT, TextPart(text="It is 5.")]),
        _user("m2", "and doubled?"),
    ]
    given = model_input(records, budget_chars=10_000)
    assert [type(m).__name__ for m in given] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
        "HumanMessage",
    ]
    assert given[-1].content == "and doubled?"


def test_the_oldest_turns_go_first_and_the_current_message_always_stays() -> None:
    records = [
        _user("m1", "x" * 100),
        _answer("a1", "m1", [TextPart(text="y" * 100)]),
        _user("m2", "short"),
        _answer("a2", "m2", [TextPart(text="ok")]),
        _user("m3", "z" * 500),
    ]
    assert [m.content for m in model_input(records, budget_chars=510)] == ["short", "ok", "z" * 500]
    assert [m.content for m in model_input(records, budget_chars=1)] == ["z" * 500]


def test_the_newest_regenerated_answer_counts_and_a_regeneration_has_none() -> None:
    records = [
        _user("m1", "hi"),
        _answer("a1", "m1", [TextPart(text="first")]),
        _answer("a2", "m1", [TextPart(text="second")]),
        _answer("a3", "m1", [TextPart(text="third, streaming")], status="streaming"),
        _user("m2", "again"),
    ]
    assert [m.content for m in model_input(records, 10_000)] == ["hi", "second", "again"]
    # Answering m1 again: the earlier answers are not input.
    assert [m.content for m in model_input(records[:3], 10_000)] == ["hi"]
    assert isinstance(model_input(records[:1], 10_000)[0], HumanMessage)
