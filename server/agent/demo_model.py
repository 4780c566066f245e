"""Deterministic, offline LangChain chat model used for demos and tests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import ToolCallChunk, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from server.agent.demo_replies import Reply, plan_reply

MODEL_NAME = "netra-demo"
# Uneven fragment sizes mimic how providers split streamed tool-call arguments.
_ARG_FRAGMENT_SIZES = (5, 3, 7, 4, 8, 6)


class DemoChatModel(BaseChatModel):
    """Chat model that answers deterministically without any network access.

    Counts ("count to N"), requests the ``calculator`` tool ("calculate EXPR") and
    ``create_reminder`` ("remind me to X"), reasons before answering ("think about X"),
    reports tool results, and otherwise replies with a few canned sentences (see
    demo_replies.py), streaming word-sized chunks on a schedule of ``tokens_per_s`` (0
    disables the delay). Its last chunk reports token usage, counted in words.
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
        reply = plan_reply(messages, _bound_names(kwargs.get("tools")))
        message = _to_message(reply, _input_tokens(messages))
        return ChatResult(generations=[ChatGeneration(message=message)])

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
        reply = plan_reply(messages, _bound_names(kwargs.get("tools")))
        delay = self._delay()
        start = time.monotonic()
        for position, chunk in enumerate(_to_chunks(reply, _input_tokens(messages))):
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
        reply = plan_reply(messages, _bound_names(kwargs.get("tools")))
        delay = self._delay()
        loop = asyncio.get_running_loop()
        start = loop.time()
        for position, chunk in enumerate(_to_chunks(reply, _input_tokens(messages))):
            if position and delay:
                # Token k is due (k - 1) / tokens_per_s after the first, as a provider streams
                # at its own pace: a late wake-up is made up, not carried into every later token.
                await asyncio.sleep(max(0.0, start + position * delay - loop.time()))
            yield ChatGenerationChunk(message=chunk)

    def _delay(self) -> float:
        return 1.0 / self.tokens_per_s if self.tokens_per_s > 0 else 0.0


def _bound_names(tools: object) -> frozenset[str]:
    if not isinstance(tools, list | tuple):
        return frozenset()
    names = set()
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else tool.get("name")
        if isinstance(name, str):
            names.add(name)
    return frozenset(names)


def _input_tokens(messages: list[BaseMessage]) -> int:
    # Words stand in for tokens: deterministic, and close enough to show usage offline.
    return sum(len(message.text.split()) for message in messages)


def _usage(input_tokens: int, output_tokens: int) -> UsageMetadata:
    return UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )


def _final_metadata(reply: Reply) -> dict[str, Any]:
    finish_reason = "tool_calls" if reply.tool_call else "stop"
    return {"finish_reason": finish_reason, "model_name": MODEL_NAME}


def _to_message(reply: Reply, input_tokens: int) -> AIMessage:
    calls = []
    if reply.tool_call is not None:
        planned = reply.tool_call
        calls.append(tool_call(name=planned.name, args=planned.args, id=planned.id))
    text = "".join(reply.pieces)
    content: str | list[str | dict[str, Any]] = text
    if reply.reasoning:
        content = [
            {"type": "thinking", "thinking": "".join(reply.reasoning)},
            {"type": "text", "text": text},
        ]
    output_tokens = len(reply.pieces) + len(reply.reasoning) + len(calls)
    return AIMessage(
        content=content,
        tool_calls=calls,
        response_metadata=_final_metadata(reply),
        usage_metadata=_usage(input_tokens, output_tokens),
    )


# A chunk's content and tool-call fragments.
_Spec = tuple[str | list[str | dict[str, Any]], list[ToolCallChunk]]


def _to_chunks(reply: Reply, input_tokens: int) -> Iterator[AIMessageChunk]:
    """The reply's chunks, each built only when it is streamed."""
    specs: Iterable[_Spec]
    if reply.tool_call is None and reply.reasoning:
        # Shaped as Anthropic streams extended thinking: a thinking block, then a text block.
        blocks: list[_Spec] = [([_block(0, "thinking", piece)], []) for piece in reply.reasoning]
        blocks += [([_block(1, "text", piece)], []) for piece in reply.pieces]
        specs, count = blocks, len(blocks)
    elif reply.tool_call is None:
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
                usage_metadata=_usage(input_tokens, count),
            )
        elif calls:
            yield AIMessageChunk(content=content, tool_call_chunks=calls)
        else:
            yield AIMessageChunk(content=content)


def _block(index: int, kind: str, piece: str) -> dict[str, Any]:
    return {"type": kind, kind: piece, "index": index}


def _split_args(args_json: str) -> list[str]:
    fragments: list[str] = []
    start = 0
    while start < len(args_json):
        size = _ARG_FRAGMENT_SIZES[len(fragments) % len(_ARG_FRAGMENT_SIZES)]
        fragments.append(args_json[start : start + size])
        start += size
    return fragments
