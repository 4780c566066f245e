"""What the demo model answers: a reply planned from the conversation, deterministically.

`count to N` counts, `calculate X` calls the calculator tool (or answers inline when the tool
is not bound), a tool result is explained, anything else gets a fixed friendly text. The model
(server/agent/demo_model.py) streams the plan.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from server.agent.calculator import CalculatorError, evaluate

CALCULATOR_TOOL_NAME = "calculator"
MAX_COUNT = 10_000

_COUNT_RE = re.compile(r"^\s*count\s+to\s+([+-]?\d+)\s*[.!]?\s*$", re.IGNORECASE)
_CALCULATE_RE = re.compile(r"^\s*calculate\s+(.+?)\s*$", re.IGNORECASE | re.DOTALL)
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


def plan_reply(messages: Sequence[BaseMessage], calculator_bound: bool) -> Reply:
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
        if not calculator_bound:
            # Without the tool the model still answers, using the same evaluator.
            return _text_reply(_inline_calculation(expression))
        # Message count keeps ids unique when the same expression is asked twice.
        digest = hashlib.sha256(f"{len(messages)}:{expression}".encode()).hexdigest()
        planned = PlannedToolCall(
            name=CALCULATOR_TOOL_NAME, args={"expression": expression}, id=f"call_{digest[:12]}"
        )
        return Reply(tool_call=planned)
    return _text_reply(_chat_text(text))


def _text_reply(text: str) -> Reply:
    return Reply(pieces=tuple(_WORD_RE.findall(text)))


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
    expression = _find_expression(messages, result.tool_call_id)
    content = result.text.strip()
    if result.status == "error" or content.startswith("Error"):
        subject = f"calculate {expression}" if expression else "complete that calculation"
        return f"Sorry, I could not {subject}: {_error_reason(content)}."
    if expression is None:
        return f"The tool returned {content}."
    return f"{expression} = {content}."


def _find_expression(messages: Sequence[BaseMessage], tool_call_id: str) -> str | None:
    for message in reversed(messages):
        if not isinstance(message, AIMessage):
            continue
        for call in message.tool_calls:
            if call["id"] == tool_call_id and call["name"] == CALCULATOR_TOOL_NAME:
                expression = call["args"].get("expression")
                return expression if isinstance(expression, str) else None
    return None


def _error_reason(content: str) -> str:
    reason = _ERROR_PREFIX_RE.sub("", content).strip()
    reason = reason.splitlines()[0].strip() if reason else ""
    # Tool runners often report errors as repr(exc), e.g. "CalculatorError('division by zero')".
    if wrapped := _WRAPPED_EXCEPTION_RE.match(reason):
        reason = wrapped.group(2)
    return reason.rstrip(".") or "the calculator reported an error"


def _chat_text(user_text: str) -> str:
    snippet = " ".join(user_text.split())
    if len(snippet) > 60:
        snippet = snippet[:57].rstrip() + "..."
    # A stable hash (unlike built-in hash()) keeps the reply identical across processes.
    opener = _OPENERS[hashlib.sha256(user_text.encode()).digest()[0] % len(_OPENERS)]
    echo = f'You wrote: "{snippet}". ' if snippet else ""
    return (
        f"{opener} this is the Netra demo model, running entirely offline. {echo}"
        'Try "count to 20" to watch streaming, or "calculate 2*(3+4)" to see a tool call. '
        "The same message always gets the same reply, which keeps demos predictable."
    )
