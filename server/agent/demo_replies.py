"""What the demo model answers: a reply planned from the conversation, deterministically.

`count to N` counts, `calculate X` calls the calculator tool (or answers inline when the tool
is not bound), `remind me to X` calls `create_reminder`, `call TOOL {json}` calls any bound
tool, `think about X` reasons before answering, `show markdown` shows what answers may hold,
a tool result is explained, anything else gets a fixed friendly text. The model
(server/agent/demo_model.py) streams the plan.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from server.agent import demo_texts
from server.agent.calculator import CalculatorError, evaluate
from server.agent.reminder import REMINDER_TOOL_NAME

CALCULATOR_TOOL_NAME = "calculator"
MAX_COUNT = 10_000

_COUNT_RE = re.compile(r"^\s*count\s+to\s+([+-]?\d+)\s*[.!]?\s*$", re.IGNORECASE)
_CALCULATE_RE = re.compile(r"^\s*calculate\s+(.+?)\s*$", re.IGNORECASE | re.DOTALL)
_REMIND_RE = re.compile(r"^\s*remind\s+me\s+to\s+(.+?)[\s.!]*$", re.IGNORECASE | re.DOTALL)
_THINK_RE = re.compile(r"^\s*think\s+about\s+(.+?)[\s.!?]*$", re.IGNORECASE | re.DOTALL)
_MARKDOWN_RE = re.compile(r"^\s*show\s+markdown\s*[.!]?\s*$", re.IGNORECASE)
_CALL_RE = re.compile(r"^\s*call\s+([A-Za-z_][\w-]*)\s*(\{.*\})?\s*$", re.DOTALL)
# A word plus the whitespace before it, so concatenated chunks reproduce the text exactly.
_WORD_RE = re.compile(r"\s*\S+")
_ERROR_PREFIX_RE = re.compile(r"^Error\b:?\s*")
_WRAPPED_EXCEPTION_RE = re.compile(r"^\w+\((['\"])(.*)\1\)$")
_OPENERS = ("Hello there,", "Hi,", "Thanks for the message,", "Good to hear from you,")


@dataclass(frozen=True)
class PlannedToolCall:
    name: str
    args: dict[str, Any]
    id: str


@dataclass(frozen=True)
class Reply:
    pieces: tuple[str, ...] = ()
    tool_call: PlannedToolCall | None = None
    # Streamed before the text, as the model's reasoning.
    reasoning: tuple[str, ...] = ()


def plan_reply(messages: Sequence[BaseMessage], bound: Collection[str]) -> Reply:
    """`bound`: the names of the tools bound to the model."""
    last = messages[-1] if messages else None
    if isinstance(last, ToolMessage):
        return _text_reply(_tool_result_text(messages, last))
    if not isinstance(last, HumanMessage):
        return _text_reply(_chat_text(""))

    text = last.text
    if count_match := _COUNT_RE.match(text):
        return _count_reply(count_match.group(1))
    if calc_match := _CALCULATE_RE.match(text):
        expression = calc_match.group(1)
        if CALCULATOR_TOOL_NAME not in bound:
            # Without the tool the model still answers, using the same evaluator.
            return _text_reply(_inline_calculation(expression))
        return _call(messages, CALCULATOR_TOOL_NAME, {"expression": expression}, expression)
    if remind_match := _REMIND_RE.match(text):
        if REMINDER_TOOL_NAME not in bound:
            return _text_reply("I cannot set reminders here: the reminder tool is not available.")
        return _call(messages, REMINDER_TOOL_NAME, {"text": remind_match.group(1)})
    if think_match := _THINK_RE.match(text):
        topic = think_match.group(1)
        return Reply(
            pieces=_words(demo_texts.thought(topic)),
            reasoning=_words(demo_texts.thinking(topic)),
        )
    if _MARKDOWN_RE.match(text):
        return _text_reply(demo_texts.MARKDOWN)
    if call_match := _CALL_RE.match(text):
        return _any_tool_call(messages, call_match.group(1), call_match.group(2), bound)
    return _text_reply(_chat_text(text))


def _call(messages: Sequence[BaseMessage], name: str, args: dict[str, Any], key: str = "") -> Reply:
    key = key or f"{name}:{json.dumps(args, sort_keys=True)}"
    # Message count keeps ids unique when the same call is asked for twice.
    digest = hashlib.sha256(f"{len(messages)}:{key}".encode()).hexdigest()
    return Reply(tool_call=PlannedToolCall(name=name, args=args, id=f"call_{digest[:12]}"))


def _any_tool_call(
    messages: Sequence[BaseMessage], name: str, raw_args: str | None, bound: Collection[str]
) -> Reply:
    if name not in bound:
        return _text_reply(f"I have no tool named {name}.")
    try:
        args = json.loads(raw_args) if raw_args else {}
    except ValueError:
        return _text_reply(f"The arguments for {name} must be a JSON object.")
    return _call(messages, name, args)


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD_RE.findall(text))


def _text_reply(text: str) -> Reply:
    return Reply(pieces=_words(text))


def _count_reply(raw_number: str) -> Reply:
    digits = raw_number.lstrip("+-")
    # Length check first: int() on thousands of digits is slow and may raise.
    number = int(raw_number) if len(digits) <= len(str(MAX_COUNT)) else MAX_COUNT + 1
    if not 1 <= number <= MAX_COUNT:
        return _text_reply(
            f"I can only count from 1 to {MAX_COUNT}, so please pick a number in that range."
        )
    return Reply(pieces=("1", *(f" {i}" for i in range(2, number + 1))))


def _inline_calculation(expression: str) -> str:
    try:
        result = evaluate(expression)
    except CalculatorError as exc:
        return f"Sorry, I could not calculate {expression}: {exc}."
    return f"{expression} = {result}."


def _tool_result_text(messages: Sequence[BaseMessage], result: ToolMessage) -> str:
    name, args = _find_call(messages, result.tool_call_id)
    content = result.text.strip()
    failed = result.status == "error" or content.startswith("Error")
    if name == REMINDER_TOOL_NAME:
        reminder = args.get("text", "")
        if failed:
            reason = _sentence(_error_reason(content, "the tool reported an error"))
            return f"The reminder to {reminder} was not set: {reason}."
        return f"Reminder set: {reminder}"
    expression = args.get("expression") if name == CALCULATOR_TOOL_NAME else None
    if not isinstance(expression, str):
        expression = None
    if failed:
        subject = f"calculate {expression}" if expression else "complete that calculation"
        fallback = "the calculator reported an error"
        if name not in (None, CALCULATOR_TOOL_NAME):
            subject, fallback = f"use {name}", "the tool reported an error"
        return f"Sorry, I could not {subject}: {_error_reason(content, fallback)}."
    if expression is None:
        return f"The tool returned {content}."
    return f"{expression} = {content}."


def _find_call(
    messages: Sequence[BaseMessage], tool_call_id: str
) -> tuple[str | None, dict[str, Any]]:
    for message in reversed(messages):
        if not isinstance(message, AIMessage):
            continue
        for call in message.tool_calls:
            if call["id"] == tool_call_id:
                return call["name"], call["args"]
    return None, {}


def _error_reason(content: str, fallback: str) -> str:
    reason = _ERROR_PREFIX_RE.sub("", content).strip()
    reason = reason.splitlines()[0].strip() if reason else ""
    # Tool runners often report errors as repr(exc), e.g. "CalculatorError('division by zero')".
    if wrapped := _WRAPPED_EXCEPTION_RE.match(reason):
        reason = wrapped.group(2)
    return reason.rstrip(".") or fallback


def _sentence(reason: str) -> str:
    # "The user denied this call" reads on after a colon as "the user denied this call".
    if len(reason) > 1 and reason[0].isupper() and reason[1].islower():
        return reason[0].lower() + reason[1:]
    return reason


def _chat_text(user_text: str) -> str:
    snippet = " ".join(user_text.split())
    if len(snippet) > 60:
        snippet = snippet[:57].rstrip() + "..."
    # A stable hash (unlike built-in hash()) keeps the reply identical across processes.
    opener = _OPENERS[hashlib.sha256(user_text.encode()).digest()[0] % len(_OPENERS)]
    return demo_texts.chat(opener, snippet)
