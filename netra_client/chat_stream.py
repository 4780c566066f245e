"""The answer to the line just sent, shown as its events arrive, for `netra-ws chat`.

Events of other runs (another tab of the same user) are ignored. After a reset the stored
answer fills in what the stream could not replay, so the answer still ends plainly.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from rich.text import Text

from netra_client.chat_view import tool_call_text, value_text
from netra_client.client import NetraClient
from netra_client.errors import NetraError
from netra_client.stream import Sequenced
from netra_client.terminal_io import Screen
from netra_client.transcript import Outcome
from schemas.chat import (
    AgentDelta,
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunStarted,
    AgentRunStopped,
    AgentToolCall,
    AgentToolResult,
    ChatMessageEvent,
)

RECONNECTED_WITHIN_S = 10.0


@dataclass
class Turn:
    """One line sent and the run answering it, as far as this terminal has seen."""

    text: str
    client_msg_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    message_id: str | None = None
    run_id: str | None = None
    printed: str = ""
    # After a reset the stored text already holds every delta up to this seq.
    skip_through_seq: int = 0
    outcome: Outcome | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class AnswerStream:
    """Subscribes to the run events and prints the current turn's answer."""

    def __init__(self, client: NetraClient, screen: Screen) -> None:
        self.client = client
        self.screen = screen
        self.thread_id: str | None = None
        self.turn: Turn | None = None
        on = client.on
        on(ChatMessageEvent, self._on_message)
        on(AgentRunStarted, self._on_started)
        on(AgentDelta, self._on_delta)
        on(AgentToolCall, self._on_tool_call)
        on(AgentToolResult, self._on_tool_result)
        on(AgentRunCompleted, self._on_completed)
        on(AgentRunFailed, self._on_failed)
        on(AgentRunStopped, self._on_stopped)

    def _mine(self, run_id: str) -> Turn | None:
        turn = self.turn
        if turn is None or turn.run_id != run_id or turn.done.is_set():
            return None
        return turn

    # Handlers run one event at a time in arrival order (NetraClient's promise).

    def _on_message(self, item: Sequenced[ChatMessageEvent]) -> None:
        # The user message and run_started come before the ack: bind the run from them.
        if self.turn is not None and item.event.message.client_msg_id == self.turn.client_msg_id:
            self.turn.message_id = item.event.message.id

    def _on_started(self, item: Sequenced[AgentRunStarted]) -> None:
        if self.turn is not None and item.event.reply_to == self.turn.message_id:
            self.turn.run_id = item.event.run_id

    def _on_delta(self, item: Sequenced[AgentDelta]) -> None:
        if (turn := self._mine(item.event.run_id)) and item.seq > turn.skip_through_seq:
            turn.printed += item.event.text
            self.screen.stream(item.event.text)

    def _on_tool_call(self, item: Sequenced[AgentToolCall]) -> None:
        if self._mine(item.event.run_id):
            self.screen.tool_call(item.event.call_id, tool_call_text(item.event))

    def _on_tool_result(self, item: Sequenced[AgentToolResult]) -> None:
        event = item.event
        if self._mine(event.run_id):
            tail = value_text(event.result, event.is_error)
            self.screen.tool_result(event.call_id, f"⚙ {event.name}", tail)

    def _on_completed(self, item: Sequenced[AgentRunCompleted]) -> None:
        if turn := self._mine(item.event.run_id):
            self._catch_up(turn, item.event.message.text)
            self.end(turn, "completed")

    def _on_failed(self, item: Sequenced[AgentRunFailed]) -> None:
        if turn := self._mine(item.event.run_id):
            error = item.event.error
            self.end(turn, "failed", f"✗ {error.code}: {error.message}")

    def _on_stopped(self, item: Sequenced[AgentRunStopped]) -> None:
        if turn := self._mine(item.event.run_id):
            self.end(turn, "stopped", "⏹ stopped")

    # Turn bookkeeping

    def end(self, turn: Turn, outcome: Outcome, note: str = "") -> None:
        if turn.done.is_set():
            return
        self.screen.end_line()
        if note:
            self.screen.say(Text(note, style="red" if outcome == "failed" else "dim"))
        turn.outcome = outcome
        turn.done.set()

    def _catch_up(self, turn: Turn, stored: str) -> None:
        # Text the stream did not bring (missed across a reset) but the server stored.
        if stored.startswith(turn.printed) and len(stored) > len(turn.printed):
            self.screen.stream(stored[len(turn.printed) :])
            turn.printed = stored

    async def reconcile(self) -> None:
        """Bring the running turn up to date from the stored answer; end it if that ended."""
        turn = self.turn
        if turn is None or turn.done.is_set() or turn.run_id is None or self.thread_id is None:
            return  # nothing running, or not acked yet (the send is retried)
        try:
            # chat:ready comes before the client counts itself connected again.
            async with asyncio.timeout(RECONNECTED_WITHIN_S):
                while not self.client.connected:  # noqa: ASYNC110 (the client has no such event)
                    await asyncio.sleep(0.05)
            messages = (await self.client.history(self.thread_id, limit=20)).messages
        except TimeoutError:
            self.screen.status("could not reload the answer: not connected", "red")
            return
        except NetraError as exc:
            self.screen.status(f"could not reload the answer: {exc}", "red")
            return
        answer = next(
            (m for m in messages if m.role == "assistant" and m.run_id == turn.run_id), None
        )
        if answer is None:
            return
        self._catch_up(turn, answer.text)
        if answer.status == "streaming":
            turn.skip_through_seq = answer.seq or 0
        elif answer.status == "failed":
            self.end(turn, "failed", "✗ the answer was interrupted")
        elif answer.status == "stopped":
            self.end(turn, "stopped", "⏹ stopped")
        else:
            self.end(turn, "completed")
