"""A chat model shaped like a hosted provider's stream, for the bench's realistic scenario.

OpenAI-style: every chunk carries the completion's id and a delta of 1-4 characters; a turn
that calls a tool streams the call's id and name first, then its JSON arguments in fragments
of 1-4 characters, all at index 0; the last chunk carries the finish reason, the model name
and usage. Chunks are due on a schedule, token k (k - 1) / tokens_per_s after the first, as a
provider's arrive whatever the server's loop does.

A run: a short sentence, a `calculator` call, then (after the tool's result) an answer of
about 120 tokens. The load generator recomputes the token sizes (`SIZES`, cycled from each
turn's first text token) to know which token a delta ends with.

    WS_AGENT=bench.provider_model:build WS_AGENT_TOOLS=server.agent.calculator:calculator_tool
    WS_DEMO_TOKENS_PER_S=80   (the pace; 0: no delay)
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from server.settings import Settings

MODEL_NAME = "bench-provider"
# Characters per streamed token, cycled: OpenAI's deltas are mostly 1-4 characters.
SIZES = (3, 1, 4, 2, 2, 4, 1, 3, 2, 4, 3, 1)
OPENING = "Let me work that out with the calculator first."
ARGS = '{"expression": "(1234 + 5678) * 3 / 2"}'
ANSWER = (
    "The result is 10368. To get there I added the two numbers inside the parentheses, "
    "which gives 6912, multiplied that by three for 20736, and halved it. Division comes "
    "last here because the parentheses are evaluated first and multiplication and division "
    "then run from left to right. If you want, I can show the same steps for other numbers, "
    "or check a longer calculation with several groups of parentheses."
)


def split(text: str) -> list[str]:
    """`text` in tokens of SIZES, cycled (the last one may be shorter)."""
    pieces: list[str] = []
    sizes = itertools.cycle(SIZES)
    start = 0
    while start < len(text):
        size = next(sizes)
        pieces.append(text[start : start + size])
        start += size
    return pieces


class ProviderShapedModel(BaseChatModel):
    tokens_per_s: float = Field(default=80.0, ge=0.0)

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise NotImplementedError("the bench model only streams")

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        delay = 1.0 / self.tokens_per_s if self.tokens_per_s > 0 else 0.0
        loop = asyncio.get_running_loop()
        start = loop.time()
        answering = bool(messages) and isinstance(messages[-1], ToolMessage)
        for position, chunk in enumerate(_turn(answering, len(messages))):
            if position and delay:
                await asyncio.sleep(max(0.0, start + position * delay - loop.time()))
            yield ChatGenerationChunk(message=chunk)


def _turn(answering: bool, turn: int) -> Iterator[AIMessageChunk]:
    completion = f"chatcmpl-bench-{turn}"
    meta = {"model_provider": "openai"}
    if answering:
        pieces, fragments = split(ANSWER), []
    else:
        pieces, fragments = split(OPENING), split(ARGS)
    for piece in pieces:
        yield AIMessageChunk(content=piece, id=completion, response_metadata=meta)
    if fragments:
        first = tool_call_chunk(name="calculator", args="", id=f"call_{turn}", index=0)
        yield AIMessageChunk(content="", id=completion, tool_call_chunks=[first])
        for fragment in fragments:
            call = tool_call_chunk(name=None, args=fragment, id=None, index=0)
            yield AIMessageChunk(content="", id=completion, tool_call_chunks=[call])
    output = len(pieces) + len(fragments)
    yield AIMessageChunk(
        content="",
        id=completion,
        chunk_position="last",
        response_metadata={
            **meta,
            "finish_reason": "stop" if answering else "tool_calls",
            "model_name": MODEL_NAME,
        },
        usage_metadata=UsageMetadata(
            input_tokens=10 * turn, output_tokens=output, total_tokens=10 * turn + output
        ),
    )


def build(settings: Settings) -> ProviderShapedModel:
    """WS_AGENT factory: the pace comes from WS_DEMO_TOKENS_PER_S."""
    return ProviderShapedModel(tokens_per_s=settings.demo_tokens_per_s)
