"""A compiled LangGraph graph as the chat's agent: anything that takes `{"messages": [...]}`,
such as `langchain.agents.create_agent(...)`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    RemoveMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphRecursionError
from langgraph.graph.message import REMOVE_ALL_MESSAGES, add_messages
from langgraph.pregel import Pregel
from langgraph.types import Command, Interrupt

from schemas.chat import AgentToolCall, AgentToolResult
from server.agent.answer_stream import DEFAULT_COALESCE, AnswerStream, CoalescePolicy
from server.agent.contract import RunFailure, RunInput, RunOutcome
from server.agent.graph_approval import resume_value, reviews_of, verdict, without_edit_notice
from server.agent.reasoning import reasoning_text
from server.agent.stream_decode import (
    JsonValue,
    ParsedToolCall,
    StreamAccumulator,
    ToolArgsError,
    content_text,
    decode_tool_output,
)
from server.agent.usage import UsageTotal

# The tool node of create_agent and of LangGraph's prebuilt agents: a model called inside a
# tool is the tool's business, not part of the answer.
_TOOLS_NODE = "tools"
_INTERRUPT = "__interrupt__"
_YIELD_EVERY = 16


class GraphAgent:
    """Streams the graph with `stream_mode=["messages", "updates"]`: model tokens become
    text and reasoning as they come, a model turn's tool calls are announced once complete,
    the tool node's messages become results. Interrupts from HumanInTheLoopMiddleware are
    asked through the approval gate and the graph resumed with the answers, which needs a
    checkpointer; the checkpoint's thread is the chat thread."""

    def __init__(
        self, graph: Pregel[Any, Any, Any, Any], *, coalesce: CoalescePolicy = DEFAULT_COALESCE
    ) -> None:
        self._graph = graph
        self._coalesce = coalesce
        self._checkpointed = graph.checkpointer not in (None, False)
        channel = graph.channels.get("messages")
        # A thread's checkpoint keeps the last run's messages; the chat's own history (within
        # its context budget) replaces them rather than being appended a second time.
        self._replace_history = self._checkpointed and (
            getattr(channel, "operator", None) is add_messages
        )

    async def run(self, run: RunInput) -> RunOutcome:
        config: RunnableConfig = {
            "configurable": {"thread_id": run.thread_id, "user_id": run.user_id}
        }
        history: list[BaseMessage] = list(run.conversation)
        if self._replace_history:
            history.insert(0, RemoveMessage(id=REMOVE_ALL_MESSAGES))
        graph_input: dict[str, Any] | Command[Any] = {"messages": history}
        async with AnswerStream(run, self._coalesce) as out:
            turn = _GraphRun(run, out)
            while True:
                interrupts = await self._stream(graph_input, config, turn)
                if not interrupts:
                    break
                if not self._checkpointed:
                    raise RunFailure(
                        "checkpointer_missing",
                        "The agent asked for approval, but its graph has no checkpointer to "
                        "resume from: compile it with one (e.g. checkpointer=InMemorySaver())",
                    )
                graph_input = Command(resume=await turn.answer(interrupts))
        return RunOutcome(usage=turn.usage.total())

    async def _stream(
        self, graph_input: dict[str, Any] | Command[Any], config: RunnableConfig, turn: _GraphRun
    ) -> list[Interrupt]:
        interrupts: list[Interrupt] = []
        count = 0
        try:
            async for item in self._graph.astream(
                graph_input, config, stream_mode=["messages", "updates"]
            ):
                # With several modes, each item is (mode, data); messages come as
                # (message, metadata), updates as {node: update}.
                mode, data = item
                if mode == "messages":
                    await turn.on_message(*data)
                elif isinstance(data, Mapping):
                    interrupts += await turn.on_update(data)
                count += 1
                if not count % _YIELD_EVERY:
                    await asyncio.sleep(0)
        except GraphRecursionError as exc:
            raise RunFailure(
                "tool_loop_limit", "The agent stopped after too many steps (its recursion limit)"
            ) from exc
        return interrupts


class _GraphRun:
    """What one run has seen of the graph's stream, so each part is sent exactly once."""

    def __init__(self, run: RunInput, out: AnswerStream) -> None:
        self._run = run
        self._out = out
        self.usage = UsageTotal()
        # By model message id: tool-call fragments being assembled, messages whose text was
        # streamed, messages whose calls were announced, messages finished by an update.
        self._fragments: dict[str, StreamAccumulator] = {}
        self._streamed: set[str] = set()
        self._called: set[str] = set()
        self._finished: set[str] = set()
        # By tool call id, in the order announced.
        self._calls: dict[str, ParsedToolCall] = {}
        self._answered: set[str] = set()
        self._edited: set[str] = set()

    async def on_message(self, message: object, metadata: object) -> None:
        if not isinstance(message, AIMessage):
            return
        if isinstance(metadata, Mapping) and metadata.get("langgraph_node") == _TOOLS_NODE:
            return
        key = message.id or ""
        if key in self._finished:
            return
        self._streamed.add(key)
        accumulator = self._fragments.setdefault(key, StreamAccumulator())
        if reasoning := reasoning_text(message):
            await self._out.reasoning(reasoning)
        if text := accumulator.feed(message):
            await self._out.text(text)
        if not isinstance(message, AIMessageChunk) or message.chunk_position == "last":
            # The model's stream ended: its calls are complete before the node's update.
            await self._announce(key, self._fragments.pop(key))

    async def on_update(self, update: Mapping[str, Any]) -> list[Interrupt]:
        interrupts: list[Interrupt] = []
        for node, value in update.items():
            if node == _INTERRUPT:
                interrupts += [i for i in value if isinstance(i, Interrupt)]
                continue
            for message in _messages_in(value):
                if isinstance(message, AIMessage):
                    await self._on_ai_message(message)
                elif isinstance(message, ToolMessage):
                    await self._on_tool_message(message)
        return interrupts

    async def answer(self, interrupts: list[Interrupt]) -> dict[str, Any]:
        """Asks the user about each call an interrupt holds; the graph's resume values."""
        resume: dict[str, Any] = {}
        for interrupt in interrupts:
            pending = [c for c in self._calls.values() if c.call_id not in self._answered]
            verdicts = []
            for review in reviews_of(interrupt, pending):
                if review.call_id not in self._calls:
                    await self._send_call(ParsedToolCall(review.call_id, review.name, review.args))
                answer = await self._run.approve(review.call_id, review.name, review.args)
                decided = verdict(review, answer)
                if decided.refused is not None:
                    await self._send_result(review.call_id, review.name, decided.refused, True)
                elif decided.edited:
                    self._edited.add(review.call_id)
                verdicts.append(decided)
            resume[interrupt.id] = resume_value(interrupt, verdicts)
        return resume

    async def _on_ai_message(self, message: AIMessage) -> None:
        key = message.id or ""
        if key in self._finished:
            # The middleware sends the turn's message again with its decisions.
            return
        self._finished.add(key)
        self.usage.add(message.usage_metadata)
        if key not in self._streamed:
            # Made by a node without streaming a model: sent whole.
            await self._out.reasoning(reasoning_text(message))
            await self._out.text(content_text(message.content))
        accumulator = self._fragments.pop(key, None)
        if accumulator is None:
            accumulator = StreamAccumulator()
            accumulator.feed(message)
        await self._announce(key, accumulator)

    async def _on_tool_message(self, message: ToolMessage) -> None:
        call_id = message.tool_call_id
        if call_id in self._answered:
            return
        call = self._calls.get(call_id)
        name = message.name or (call.name if call is not None else "")
        output = without_edit_notice(message) if call_id in self._edited else message
        # Decoded exactly once: a JSON string from the tool arrives as the value it holds.
        await self._send_result(
            call_id, name, decode_tool_output(output), message.status == "error"
        )

    async def _announce(self, key: str, accumulator: StreamAccumulator) -> None:
        if key in self._called:
            return
        self._called.add(key)
        try:
            turn = accumulator.finish()
        except ToolArgsError as exc:
            raise RunFailure(
                "tool_args_invalid", f"The model sent unreadable arguments for {exc.name}"
            ) from exc
        for call in turn.tool_calls:
            if call.call_id not in self._calls:
                await self._send_call(call)

    async def _send_call(self, call: ParsedToolCall) -> None:
        self._calls[call.call_id] = call
        await self._out.put(
            AgentToolCall(
                run_id=self._run.run_id, call_id=call.call_id, name=call.name, args=call.args
            )
        )

    async def _send_result(self, call_id: str, name: str, value: JsonValue, is_error: bool) -> None:
        self._answered.add(call_id)
        await self._out.put(
            AgentToolResult(
                run_id=self._run.run_id,
                call_id=call_id,
                name=name,
                result=value,
                is_error=is_error,
            )
        )


def _messages_in(value: object) -> Iterator[BaseMessage]:
    """The messages a node's update writes (a node run several times gives a list)."""
    if isinstance(value, list):
        for item in value:
            yield from _messages_in(item)
        return
    if not isinstance(value, Mapping):
        return
    messages = value.get("messages")
    if isinstance(messages, BaseMessage):
        yield messages
    elif isinstance(messages, list | tuple):
        yield from (m for m in messages if isinstance(m, BaseMessage))
