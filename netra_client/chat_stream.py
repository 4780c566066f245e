"""The answer to the line just sent, shown as its events arrive, for `netra-ws chat`.

Events of other runs (another tab of the same user) are ignored. After a reset the stored
answer fills in what the stream could not replay, so the answer still ends plainly.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from dataclasses import dataclass, field

from rich.text import Text

from netra_client.chat_view import decision_text, tool_call_text, value_text
from netra_client.client import NetraClient
from netra_client.errors import NetraError
from netra_client.stream import Sequenced
from netra_client.terminal_io import Screen
from netra_client.transcript import Outcome
from schemas.chat import (
    AgentApprovalRequested,
    AgentApprovalResolved,
    AgentDelta,
    AgentReasoning,
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunStarted,
    AgentRunStopped,
    AgentToolCall,
    AgentToolResult,
    ChatMessageEvent,
    ChatThreadDeleted,
)
from schemas.parts import ApprovalPart

RECONNECTED_WITHIN_S = 10.0


@dataclass
class Turn:
    """One line sent (or one answer regenerated) and the run answering it, as far as this
    terminal has seen."""

    text: str
    # Set for /regenerate: the answer to write again.
    regenerate: str | None = None
    client_msg_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # The user message being answered.
    message_id: str | None = None
    run_id: str | None = None
    printed: str = ""
    # After a reset the stored text already holds every delta up to this seq.
    skip_through_seq: int = 0
    # Approval requests not resolved yet, oldest first; `asking` is the one put to the user
    # and `answered` those this terminal has answered.
    approvals: deque[ApprovalPart] = field(default_factory=deque)
    asking: str | None = None
    answered: set[str] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    outcome: Outcome | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def question(self) -> ApprovalPart | None:
        """The oldest request still to be put to the user."""
        return next((a for a in self.approvals if a.call_id not in self.answered), None)


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
        on(AgentReasoning, self._on_reasoning)
        on(AgentToolCall, self._on_tool_call)
        on(AgentToolResult, self._on_tool_result)
        on(AgentApprovalRequested, self._on_approval_requested)
        on(AgentApprovalResolved, self._on_approval_resolved)
        on(AgentRunCompleted, self._on_completed)
        on(AgentRunFailed, self._on_failed)
        on(AgentRunStopped, self._on_stopped)
        on(ChatThreadDeleted, self._on_thread_deleted)

    def _mine(self, run_id: str, seq: int | None = None) -> Turn | None:
        """The running turn when the event is of its run (and, given its seq, not yet shown)."""
        turn = self.turn
        if turn is None or turn.run_id != run_id or turn.done.is_set():
            return None
        return turn if seq is None or seq > turn.skip_through_seq else None

    # Handlers run one event at a time in arrival order (NetraClient's promise).

    def _on_message(self, item: Sequenced[ChatMessageEvent]) -> None:
        # The user message and run_started come before the ack: bind the run from them.
        if self.turn is not None and item.event.message.client_msg_id == self.turn.client_msg_id:
            self.turn.message_id = item.event.message.id

    def _on_started(self, item: Sequenced[AgentRunStarted]) -> None:
        turn = self.turn
        if turn is not None and turn.run_id is None and item.event.reply_to == turn.message_id:
            turn.run_id = item.event.run_id

    def _on_delta(self, item: Sequenced[AgentDelta]) -> None:
        if turn := self._mine(item.event.run_id, item.seq):
            turn.printed += item.event.text
            self.screen.stream(item.event.text)

    def _on_reasoning(self, item: Sequenced[AgentReasoning]) -> None:
        if self._mine(item.event.run_id, item.seq):
            self.screen.reasoning(item.event.text)

    def _on_tool_call(self, item: Sequenced[AgentToolCall]) -> None:
        event = item.event
        if self._mine(event.run_id, item.seq):
            self.screen.tool_call(event.call_id, tool_call_text(event.name, event.args))

    def _on_tool_result(self, item: Sequenced[AgentToolResult]) -> None:
        event = item.event
        if self._mine(event.run_id, item.seq):
            tail = value_text(event.result, event.is_error)
            self.screen.tool_result(event.call_id, f"⚙ {event.name}", tail)

    def _on_approval_requested(self, item: Sequenced[AgentApprovalRequested]) -> None:
        event = item.event
        if turn := self._mine(event.run_id, item.seq):
            self.screen.tool_result(event.call_id, f"⚙ {event.name}", decision_text("pending"))
            self.wait_for_approval(
                turn,
                ApprovalPart(
                    call_id=event.call_id, name=event.name, args=event.args, decision="pending"
                ),
            )

    def _on_approval_resolved(self, item: Sequenced[AgentApprovalResolved]) -> None:
        event = item.event
        if turn := self._mine(event.run_id, item.seq):
            waiting = [a for a in turn.approvals if a.call_id == event.call_id]
            for approval in waiting:
                turn.approvals.remove(approval)
            name = waiting[0].name if waiting else "the call"
            line = Text.assemble((f"⚙ {name}", "dim"), decision_text(event.decision))
            if turn.asking == event.call_id:  # not by this terminal: another tab, or time
                turn.asking = None
                line.append(" (answered elsewhere)" if event.decision != "expired" else "")
            self.screen.say(line)
            turn.changed.set()

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

    def _on_thread_deleted(self, item: Sequenced[ChatThreadDeleted]) -> None:
        if item.event.thread_id == self.thread_id:
            self.thread_id = None
            self.screen.status("this thread was deleted; the next message starts a new one")

    # Turn bookkeeping

    def wait_for_approval(self, turn: Turn, approval: ApprovalPart) -> None:
        if all(a.call_id != approval.call_id for a in turn.approvals):
            turn.approvals.append(approval)
            turn.changed.set()

    def end(self, turn: Turn, outcome: Outcome, note: str = "") -> None:
        if turn.done.is_set():
            return
        self.screen.end_line()
        if note:
            self.screen.say(Text(note, style="red" if outcome == "failed" else "dim"))
        turn.outcome = outcome
        turn.approvals.clear()
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
            # A request the reset kept from us is still waiting for an answer.
            for part in answer.parts:
                if isinstance(part, ApprovalPart) and part.decision == "pending":
                    self.wait_for_approval(turn, part)
        elif answer.status == "failed":
            self.end(turn, "failed", "✗ the answer was interrupted")
        elif answer.status == "stopped":
            self.end(turn, "stopped", "⏹ stopped")
        else:
            self.end(turn, "completed")
