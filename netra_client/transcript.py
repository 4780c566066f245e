"""Everything one agent run sent, gathered for `NetraClient.run_prompt` and `run_regenerate`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from netra_client.parts import PART_EVENTS, fold_parts
from netra_client.stream import Sequenced
from schemas.chat import (
    AgentApprovalRequested,
    AgentDelta,
    AgentReasoning,
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunStarted,
    AgentRunStopped,
    AgentToolCall,
    AgentToolResult,
    AssistantMessageView,
    ChatMessageEvent,
    RegenerateResult,
    RunError,
    SendResult,
    Usage,
    UserStreamPayload,
)
from schemas.parts import ApprovalPart, MessagePart

Outcome = Literal["completed", "failed", "stopped"]

_RUN_EVENTS = (AgentRunStarted, AgentRunCompleted, AgentRunFailed, AgentRunStopped, *PART_EVENTS)
_ENDS = (AgentRunCompleted, AgentRunFailed, AgentRunStopped)


@dataclass(frozen=True)
class RunTranscript:
    """One prompt (or regenerate) and the run it started, as this client received it."""

    client_msg_id: str
    sent: SendResult | RegenerateResult
    outcome: Outcome
    # The stored answer's text when the outcome carried it; otherwise whatever was streamed.
    text: str
    streamed_text: str
    # Folded from the live events; equal to `message.parts` when the outcome carried them.
    parts: list[MessagePart]
    # The answer as the outcome event carried it (a stopped or failed run without any part
    # carries none).
    message: AssistantMessageView | None
    usage: Usage | None
    tool_calls: list[AgentToolCall]
    tool_results: list[AgentToolResult]
    error: RunError | None
    assistant_message_id: str | None
    events: list[Sequenced[UserStreamPayload]]

    @property
    def run_id(self) -> str:
        return self.sent.run_id

    @property
    def thread_id(self) -> str:
        return self.sent.thread_id

    @property
    def reply_to(self) -> str:
        """The id of the user message this run answers."""
        return self.sent.message_id if isinstance(self.sent, SendResult) else self.sent.reply_to

    @property
    def reasoning(self) -> str:
        return "".join(e.event.text for e in self.events if isinstance(e.event, AgentReasoning))

    @property
    def approvals(self) -> list[ApprovalPart]:
        """The approval parts, each with its final decision."""
        return [part for part in self.parts if isinstance(part, ApprovalPart)]

    @property
    def seqs(self) -> list[int]:
        return [item.seq for item in self.events]


class RunCollector:
    """Keeps the stream events of one run.

    The server emits `chat:message` and `agent:run_started` before it acks `chat:send` (and
    the answer may be under way before `chat:regenerate` is acked), so events are buffered
    until `bind` says which run they must belong to. Approval requests of the run are queued
    for `next_request`, which gives None once the run has ended.
    """

    def __init__(self) -> None:
        self._sent: SendResult | RegenerateResult | None = None
        self._pending: list[Sequenced[UserStreamPayload]] = []
        self._events: list[Sequenced[UserStreamPayload]] = []
        self._requests: asyncio.Queue[AgentApprovalRequested | None] = asyncio.Queue()
        self.finished = asyncio.Event()

    def feed(self, item: Sequenced[UserStreamPayload]) -> None:
        if self._sent is None:
            self._pending.append(item)
        elif self._belongs(item.event, self._sent):
            self._events.append(item)
            if isinstance(item.event, AgentApprovalRequested):
                self._requests.put_nowait(item.event)
            elif isinstance(item.event, _ENDS):
                self.finished.set()
                self._requests.put_nowait(None)

    def bind(self, sent: SendResult | RegenerateResult) -> None:
        self._sent = sent
        pending, self._pending = self._pending, []
        for item in pending:
            self.feed(item)

    async def next_request(self) -> AgentApprovalRequested | None:
        """The run's next approval request, or None when the run has ended."""
        if self.finished.is_set() and self._requests.empty():
            return None
        return await self._requests.get()

    @staticmethod
    def _belongs(event: UserStreamPayload, sent: SendResult | RegenerateResult) -> bool:
        if isinstance(event, ChatMessageEvent):
            return isinstance(sent, SendResult) and event.message.id == sent.message_id
        return isinstance(event, _RUN_EVENTS) and event.run_id == sent.run_id

    def transcript(self, client_msg_id: str) -> RunTranscript:
        if self._sent is None:
            raise RuntimeError("transcript() before bind()")
        events = list(self._events)
        payloads = [item.event for item in events]
        streamed = "".join(e.text for e in payloads if isinstance(e, AgentDelta))
        outcome: Outcome = "completed"
        error, assistant_id = None, None
        message: AssistantMessageView | None = None
        usage: Usage | None = None
        for event in payloads:
            if isinstance(event, AgentRunStarted):
                assistant_id = event.message_id
            elif isinstance(event, AgentRunCompleted):
                outcome, message, usage = "completed", event.message, event.usage
            elif isinstance(event, AgentRunFailed):
                outcome, error, message = "failed", event.error, event.message
            elif isinstance(event, AgentRunStopped):
                outcome, message = "stopped", event.message
        return RunTranscript(
            client_msg_id=client_msg_id,
            sent=self._sent,
            outcome=outcome,
            text=message.text if message is not None else streamed,
            streamed_text=streamed,
            parts=fold_parts(payloads),
            message=message,
            usage=usage,
            tool_calls=[e for e in payloads if isinstance(e, AgentToolCall)],
            tool_results=[e for e in payloads if isinstance(e, AgentToolResult)],
            error=error,
            assistant_message_id=assistant_id,
            events=events,
        )
