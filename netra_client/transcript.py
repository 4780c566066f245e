"""Everything one agent run sent, gathered for `NetraClient.run_prompt`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from netra_client.stream import Sequenced
from schemas.chat import (
    AgentDelta,
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunStarted,
    AgentRunStopped,
    AgentToolCall,
    AgentToolResult,
    ChatMessageEvent,
    RunError,
    SendResult,
    UserStreamPayload,
)

Outcome = Literal["completed", "failed", "stopped"]

_RUN_EVENTS = (
    AgentRunStarted,
    AgentDelta,
    AgentToolCall,
    AgentToolResult,
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunStopped,
)


@dataclass(frozen=True)
class RunTranscript:
    """One prompt and the run it started, as this client received it."""

    client_msg_id: str
    sent: SendResult
    outcome: Outcome
    # The stored answer when the run completed; otherwise whatever was streamed.
    text: str
    streamed_text: str
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
    def seqs(self) -> list[int]:
        return [item.seq for item in self.events]


class RunCollector:
    """Keeps the stream events of one run.

    The server emits `chat:message` and `agent:run_started` before it acks `chat:send`, so
    events are buffered until `bind` says which run they must belong to.
    """

    def __init__(self) -> None:
        self._sent: SendResult | None = None
        self._pending: list[Sequenced[UserStreamPayload]] = []
        self._events: list[Sequenced[UserStreamPayload]] = []
        self.finished = asyncio.Event()

    def feed(self, item: Sequenced[UserStreamPayload]) -> None:
        if self._sent is None:
            self._pending.append(item)
        elif self._belongs(item.event, self._sent):
            self._events.append(item)
            if isinstance(item.event, AgentRunCompleted | AgentRunFailed | AgentRunStopped):
                self.finished.set()

    def bind(self, sent: SendResult) -> None:
        self._sent = sent
        pending, self._pending = self._pending, []
        for item in pending:
            self.feed(item)

    @staticmethod
    def _belongs(event: UserStreamPayload, sent: SendResult) -> bool:
        if isinstance(event, ChatMessageEvent):
            return event.message.id == sent.message_id
        return isinstance(event, _RUN_EVENTS) and event.run_id == sent.run_id

    def transcript(self, client_msg_id: str) -> RunTranscript:
        if self._sent is None:
            raise RuntimeError("transcript() before bind()")
        events = list(self._events)
        payloads = [item.event for item in events]
        streamed = "".join(e.text for e in payloads if isinstance(e, AgentDelta))
        outcome: Outcome = "completed"
        text, error, assistant_id = streamed, None, None
        for event in payloads:
            if isinstance(event, AgentRunStarted):
                assistant_id = event.message_id
            elif isinstance(event, AgentRunCompleted):
                outcome, text = "completed", event.message.text
            elif isinstance(event, AgentRunFailed):
                outcome, error = "failed", event.error
            elif isinstance(event, AgentRunStopped):
                outcome = "stopped"
        return RunTranscript(
            client_msg_id=client_msg_id,
            sent=self._sent,
            outcome=outcome,
            text=text,
            streamed_text=streamed,
            tool_calls=[e for e in payloads if isinstance(e, AgentToolCall)],
            tool_results=[e for e in payloads if isinstance(e, AgentToolResult)],
            error=error,
            assistant_message_id=assistant_id,
            events=events,
        )
