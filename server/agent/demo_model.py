"""Deterministic, offline LangChain chat model used for demos and tests."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.messages.tool import ToolCallChunk, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from server.agent.calculator import CalculatorError, evaluate

MODEL_NAME = "netra-demo"
CALCULATOR_TOOL_NAME = "calculator"
MAX_COUNT = 10_000

_COUNT_RE = re.compile(r"^\s*count\s+to\s+([+-]?\d+)\s*[.!]?\s*$", re.IGNORECASE)
_CALCULATE_RE = re.compile(r"^\s*calculate\s+(.+?)\s*$", re.IGNORECASE | re.DOTALL)
# A word plus the whitespace before it, so concatenated chunks reproduce the text exactly.
_WORD_RE = re.compile(r"\s*\S+")
_ERROR_PREFIX_RE = re.compile(r"^Error\b:?\s*")
_WRAPPED_EXCEPTION_RE = re.compile(r"^\w+\((['\"])(.*)\1\)$")
# Uneven fragment sizes mimic how providers split streamed tool-call arguments.
_ARG_FRAGMENT_SIZES = (5, 3, 7, 4, 8, 6)
_OPENERS = ("Hello there,", "Hi,", "Thanks for the message,", "Good to hear from you,")


@dataclass(frozen=True)
class _PlannedToolCall:
    name: str
    args: dict[str, Any]
    id: str


@dataclass(frozen=True)
class _Reply:
    pieces: tuple[str, ...] = ()
    tool_call: _PlannedToolCall | None = None


class DemoChatModel(BaseChatModel):
    """Chat model that answers deterministically without any network access.

    Counts ("count to N"), requests the ``calculator`` tool ("calculate EXPR"),
    reports tool results, and otherwise replies with a few canned sentences,
    streaming word-sized chunks on a schedule of ``tokens_per_s`` (0 disables the delay).
    """

    tokens_per_s: float = Field(default=40.0, ge=0.0)

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": MODEL_NAME, "tokens_per_s": self.tokens_per_s}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (converted to the OpenAI tool schema) like real providers do."""
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = _plan_reply(messages, _has_calculator(kwargs.get("tools")))
        return ChatResult(generations=[ChatGeneration(message=_to_message(reply))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Overridden so async calls do not hop to a thread executor.
        return self._generate(messages, stop, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = _plan_reply(messages, _has_calculator(kwargs.get("tools")))
        delay = self._delay()
        start = time.monotonic()
        for position, chunk in enumerate(_to_chunks(reply)):
            if position and delay:
                time.sleep(max(0.0, start + position * delay - time.monotonic()))
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        reply = _plan_reply(messages, _has_calculator(kwargs.get("tools")))
        delay = self._delay()
        loop = asyncio.get_running_loop()
        start = loop.time()
        for position, chunk in enumerate(_to_chunks(reply)):
            if position and delay:
                # Token k is due (k - 1) / tokens_per_s after the first, as a provider streams
                # at its own pace: a late wake-up is made up, not carried into every later token.
                await asyncio.sleep(max(0.0, start + position * delay - loop.time()))
            yield ChatGenerationChunk(message=chunk)

    def _delay(self) -> float:
        return 1.0 / self.tokens_per_s if self.tokens_per_s > 0 else 0.0


def _has_calculator(tools: object) -> bool:
    if not isinstance(tools, list | tuple):
        return False
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else tool.get("name")
        if name == CALCULATOR_TOOL_NAME:
            return True
    return False


def _plan_reply(messages: Sequence[BaseMessage], calculator_bound: bool) -> _Reply:
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
        planned = _PlannedToolCall(
            name=CALCULATOR_TOOL_NAME, args={"expression": expression}, id=f"call_{digest[:12]}"
        )
        return _Reply(tool_call=planned)
    return _text_reply(_chat_text(text))


def _text_reply(text: str) -> _Reply:
    return _Reply(pieces=tuple(_WORD_RE.findall(text)))


def _count_reply(raw_number: str) -> _Reply:
    digits = raw_number.lstrip("+-")
    # Length check first: int() on thousands of digits is slow and may raise.
    number = int(raw_number) if len(digits) <= len(str(MAX_COUNT)) else MAX_COUNT + 1
    if not 1 <= number <= MAX_COUNT:
        return _text_reply(
            f"I can only count from 1 to {MAX_COUNT}, so please pick a number in that range."
        )
    return _Reply(pieces=("1", *(f" {i}" for i in range(2, number + 1))))


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


def _final_metadata(reply: _Reply) -> dict[str, Any]:
    finish_reason = "tool_calls" if reply.tool_call else "stop"
    return {"finish_reason": finish_reason, "model_name": MODEL_NAME}


def _to_message(reply: _Reply) -> AIMessage:
    calls = []
    if reply.tool_call is not None:
        planned = reply.tool_call
        calls.append(tool_call(name=planned.name, args=planned.args, id=planned.id))
    return AIMessage(
        content="".join(reply.pieces),
        tool_calls=calls,
        response_metadata=_final_metadata(reply),
    )


def _to_chunks(reply: _Reply) -> Iterator[AIMessageChunk]:
    """The reply's chunks, each built only when it is streamed."""
    specs: Iterable[tuple[str, list[ToolCallChunk]]]
    if reply.tool_call is None:
        pieces = reply.pieces or ("",)
        specs, count = ((piece, []) for piece in pieces), len(pieces)
    else:
        planned = reply.tool_call
        # Like streaming providers: name and id first, then the JSON args in fragments.
        fragments = _split_args(json.dumps(planned.args))
        first = tool_call_chunk(name=planned.name, args="", id=planned.id, index=0)
        specs = [("", [first])]
        specs += [
            ("", [tool_call_chunk(name=None, args=fragment, id=None, index=0)])
            for fragment in fragments
        ]
        count = len(specs)
    for position, (content, calls) in enumerate(specs, 1):
        if position == count:
            # Marking the final chunk lets aggregators finalize tool calls without an extra one.
            yield AIMessageChunk(
                content=content,
                tool_call_chunks=calls,
                chunk_position="last",
                response_metadata=_final_metadata(reply),
            )
        elif calls:
            yield AIMessageChunk(content=content, tool_call_chunks=calls)
        else:
            yield AIMessageChunk(content=content)


def _split_args(args_json: str) -> list[str]:
    fragments: list[str] = []
    start = 0
    while start < len(args_json):
        size = _ARG_FRAGMENT_SIZES[len(fragments) % len(_ARG_FRAGMENT_SIZES)]
        fragments.append(args_json[start : start + size])
        start += size
    return fragments
