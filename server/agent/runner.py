"""Runs one agent turn loop: streams the model, calls tools, emits what happens."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool

from schemas.chat import AgentDelta, AgentToolCall, AgentToolResult, UserStreamPayload
from server.agent.coalescer import DeltaCoalescer
from server.agent.stream_decode import (
    JsonValue,
    ParsedToolCall,
    StreamAccumulator,
    ToolArgsError,
    decode_tool_output,
)


class RunSink(Protocol):
    """Emits one event of the run to the user's stream and returns its seq."""

    async def __call__(self, payload: UserStreamPayload) -> int: ...


@dataclass
class RunProgress:
    """What the user has been sent so far: the text, and the seq of its last delta."""

    text: str = ""
    seq: int | None = None
    # Told the size of each delta once it is in `text`: how checkpoints learn of new text.
    on_text: Callable[[int], None] | None = None


class RunFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Chunks between forced yields to the event loop while streaming.
_YIELD_EVERY = 16


@dataclass(frozen=True, slots=True)
class CoalescePolicy:
    interval_s: float = 0.025
    max_chars: int = 64


class AgentRunner:
    def __init__(
        self,
        model: BaseChatModel,
        tools: Sequence[BaseTool],
        coalesce: CoalescePolicy = CoalescePolicy(),
        max_tool_rounds: int = 5,
    ) -> None:
        self._tools = {tool.name: tool for tool in tools}
        # Bound once: converting the tools to the provider's schema is not per-run work.
        self._model: Runnable[LanguageModelInput, AIMessage] = (
            model.bind_tools(list(self._tools.values())) if self._tools else model
        )
        self._coalesce = coalesce
        self._max_tool_rounds = max_tool_rounds

    async def run(
        self,
        run_id: str,
        conversation: Sequence[BaseMessage],
        sink: RunSink,
        progress: RunProgress,
    ) -> str:
        """Returns the answer's whole text. Cancelling it sends what was buffered first."""
        messages = list(conversation)

        run_task = asyncio.current_task()

        async def record(text: str) -> None:
            progress.seq = await sink(AgentDelta(run_id=run_id, text=text))
            progress.text += text
            if progress.on_text is not None:
                progress.on_text(len(text))

        async def send_delta(text: str) -> None:
            if asyncio.current_task() is run_task:
                # A stop cancels this task: the send and the progress update finish anyway,
                # so the stored text is never short of what the user was sent.
                await asyncio.shield(record(text))
            else:
                # The coalescer's timer task, which a stop never cancels.
                await record(text)

        coalescer = DeltaCoalescer(send_delta, self._coalesce.interval_s, self._coalesce.max_chars)
        try:
            for tool_round in range(self._max_tool_rounds + 1):
                accumulator = StreamAccumulator()
                chunks = 0
                async for chunk in self._model.astream(messages):
                    await coalescer.add(accumulator.feed(chunk))
                    chunks += 1
                    if not chunks % _YIELD_EVERY:
                        # A model that never awaits would otherwise hold the loop for the
                        # whole run; every few chunks is enough to let others in.
                        await asyncio.sleep(0)
                await coalescer.flush()
                try:
                    turn = accumulator.finish()
                except ToolArgsError as exc:
                    raise RunFailure(
                        "tool_args_invalid", f"The model sent unreadable arguments for {exc.name}"
                    ) from exc
                if not turn.tool_calls:
                    return progress.text
                if tool_round == self._max_tool_rounds:
                    break
                messages.append(turn.as_ai_message())
                for call in turn.tool_calls:
                    messages.append(await self._call_tool(run_id, call, sink))
            raise RunFailure(
                "tool_loop_limit", f"Stopped after {self._max_tool_rounds} rounds of tool calls"
            )
        except asyncio.CancelledError:
            await coalescer.flush()
            raise
        finally:
            await coalescer.aclose()

    async def _call_tool(self, run_id: str, call: ParsedToolCall, sink: RunSink) -> ToolMessage:
        await sink(
            AgentToolCall(run_id=run_id, call_id=call.call_id, name=call.name, args=call.args)
        )
        tool = self._tools.get(call.name)
        is_error = True
        value: JsonValue
        if tool is None:
            value = f"Unknown tool {call.name!r}"
        else:
            try:
                # Decoded exactly once: JSON text from the tool becomes a value here, and
                # that value is what the client and the model both get.
                value = decode_tool_output(await tool.ainvoke(call.args))
                is_error = False
            except Exception as exc:
                # The model sees the failure and can explain it; the run goes on.
                value = f"{type(exc).__name__}: {exc}"
        await sink(
            AgentToolResult(
                run_id=run_id, call_id=call.call_id, name=call.name, result=value, is_error=is_error
            )
        )
        content = value if isinstance(value, str) else orjson.dumps(value).decode()
        if is_error:
            content = f"Error: {content}"
        return ToolMessage(
            content=content,
            tool_call_id=call.call_id,
            name=call.name,
            status="error" if is_error else "success",
        )
