"""The bare-model agent: streams a chat model, runs the tools it asks for, and asks again."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from typing import Any

import orjson
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import add_ai_message_chunks
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from loguru import logger

from schemas.chat import AgentToolCall, AgentToolResult
from server.agent.answer_stream import DEFAULT_COALESCE, AnswerStream, CoalescePolicy
from server.agent.approval import needs_approval, refusal
from server.agent.contract import RunFailure, RunInput, RunOutcome
from server.agent.model_stream import ModelStream
from server.agent.reasoning import reasoning_text
from server.agent.stream_decode import (
    JsonValue,
    ParsedToolCall,
    StreamAccumulator,
    ToolArgsError,
    TurnResult,
    decode_tool_output,
)
from server.agent.usage import UsageTotal

__all__ = ["CoalescePolicy", "RunFailure", "ToolLoopAgent"]

# Chunks between forced yields to the event loop while streaming.
_YIELD_EVERY = 16


class ToolLoopAgent:
    """A `ChatAgent` over any LangChain chat model: each round streams the model's answer
    (text and reasoning), then runs the tools it called, asking the user first for those
    that need approval, until the model answers without a tool call."""

    def __init__(
        self,
        model: BaseChatModel,
        tools: Sequence[BaseTool] = (),
        *,
        coalesce: CoalescePolicy = DEFAULT_COALESCE,
        system_prompt: str = "",
        approval_tools: Collection[str] = (),
        max_tool_rounds: int = 5,
    ) -> None:
        self._model: Runnable[LanguageModelInput, BaseMessage] = model
        if tools:
            try:
                # Bound once: converting the tools to the provider's schema is not per-run work.
                self._model = model.bind_tools(list(tools))
            except NotImplementedError:
                names = ", ".join(tool.name for tool in tools)
                logger.warning(
                    "{} cannot call tools (it has no bind_tools): it answers without {}",
                    type(model).__name__,
                    names,
                )
                tools = ()
        self._stream = ModelStream(self._model)
        self._tools = {tool.name: tool for tool in tools}
        self._approval = frozenset(t.name for t in tools if needs_approval(t, approval_tools))
        self._prompt: list[BaseMessage] = [SystemMessage(system_prompt)] if system_prompt else []
        self._coalesce = coalesce
        self._max_tool_rounds = max_tool_rounds

    async def run(self, run: RunInput) -> RunOutcome:
        messages = [*self._prompt, *run.conversation]
        usage = UsageTotal()
        async with AnswerStream(run, self._coalesce) as out:
            for tool_round in range(self._max_tool_rounds + 1):
                turn, message = await self._stream_turn(messages, out, usage)
                if message is None:
                    return RunOutcome(usage=usage.total())
                if tool_round == self._max_tool_rounds:
                    break
                messages.append(message)
                for call in turn.tool_calls:
                    messages.append(await self._call_tool(run, out, call))
        raise RunFailure(
            "tool_loop_limit", f"Stopped after {self._max_tool_rounds} rounds of tool calls"
        )

    async def _stream_turn(
        self, messages: list[BaseMessage], out: AnswerStream, usage: UsageTotal
    ) -> tuple[TurnResult, AIMessage | None]:
        """The model's turn, and the message to continue from when it called tools."""
        accumulator = StreamAccumulator()
        chunks: list[AIMessage] = []
        seen = 0
        async for chunk in self._stream.astream(messages):
            if not isinstance(chunk, AIMessage):
                continue
            chunks.append(chunk)
            seen += 1
            if reasoning := reasoning_text(chunk):
                await out.reasoning(reasoning)
            if text := accumulator.feed(chunk):
                await out.text(text)
            usage.add(chunk.usage_metadata)
            if not seen % _YIELD_EVERY:
                # A model that never awaits would otherwise hold the loop for the whole run;
                # every few chunks is enough to let others in.
                await asyncio.sleep(0)
                chunks = _merged_so_far(chunks)
        try:
            turn = accumulator.finish()
        except ToolArgsError as exc:
            raise RunFailure(
                "tool_args_invalid", f"The model sent unreadable arguments for {exc.name}"
            ) from exc
        return turn, _turn_message(chunks, turn) if turn.tool_calls else None

    async def _call_tool(
        self, run: RunInput, out: AnswerStream, call: ParsedToolCall
    ) -> ToolMessage:
        await out.put(
            AgentToolCall(run_id=run.run_id, call_id=call.call_id, name=call.name, args=call.args)
        )
        tool = self._tools.get(call.name)
        args: dict[str, Any] = call.args
        if tool is not None and call.name in self._approval:
            answer = await run.approve(call.call_id, call.name, call.args)
            if not answer.approved:
                # The model is told plainly, not as an error of the tool's own.
                return await _result(run, out, call, refusal(answer.decision), True, refused=True)
            args = dict(answer.args)
        value: JsonValue
        if tool is None:
            return await _result(run, out, call, f"Unknown tool {call.name!r}", True)
        try:
            # Decoded exactly once: JSON text from the tool becomes a value here, and that
            # value is what the client and the model both get.
            value = decode_tool_output(await tool.ainvoke(args))
        except Exception as exc:
            # The model sees the failure and can explain it; the run goes on.
            return await _result(run, out, call, f"{type(exc).__name__}: {exc}", True)
        return await _result(run, out, call, value, False)


async def _result(
    run: RunInput,
    out: AnswerStream,
    call: ParsedToolCall,
    value: JsonValue,
    is_error: bool,
    *,
    refused: bool = False,
) -> ToolMessage:
    await out.put(
        AgentToolResult(
            run_id=run.run_id, call_id=call.call_id, name=call.name, result=value, is_error=is_error
        )
    )
    content = value if isinstance(value, str) else orjson.dumps(value).decode()
    if is_error and not refused:
        content = f"Error: {content}"
    return ToolMessage(
        content=content,
        tool_call_id=call.call_id,
        name=call.name,
        status="error" if is_error else "success",
    )


def _merged_so_far(chunks: list[AIMessage]) -> list[AIMessage]:
    """The turn's chunks so far as one, merged as `_turn_message` would merge them.

    Kept whole, a turn's chunks (each a handful of objects) outlive the collector's young
    collections and are promoted, 200 streams' worth at every one, which makes the middle
    collections long pauses of every stream at once. Merging every few chunks keeps only
    what the turn's message needs. Merging is a left fold, so merging in steps gives the
    same message as merging all chunks at the end."""
    if len(chunks) < 2 or not all(isinstance(chunk, AIMessageChunk) for chunk in chunks):
        return chunks  # a model that does not stream: kept as it came
    streamed = [chunk for chunk in chunks if isinstance(chunk, AIMessageChunk)]
    return [add_ai_message_chunks(streamed[0], *streamed[1:])]


def _turn_message(chunks: list[AIMessage], turn: TurnResult) -> AIMessage:
    """The model's turn as the next request's history: its content as streamed (reasoning
    blocks included, which providers such as Anthropic need back beside tool results) with
    the tool calls as parsed here."""
    calls = turn.as_ai_message().tool_calls
    streamed = [chunk for chunk in chunks if isinstance(chunk, AIMessageChunk)]
    if not streamed or len(streamed) != len(chunks):
        # A model that does not stream gives one whole message.
        whole = chunks[-1] if chunks else AIMessage(content="")
        return AIMessage(content=whole.content, tool_calls=calls, id=whole.id)
    merged = add_ai_message_chunks(streamed[0], *streamed[1:])
    extra = {k: v for k, v in merged.additional_kwargs.items() if k != "tool_calls"}
    return AIMessage(
        content=merged.content,
        additional_kwargs=extra,
        response_metadata=merged.response_metadata,
        tool_calls=calls,
        id=merged.id,
    )
