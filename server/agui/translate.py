"""One of our runs, event by event, as AG-UI events (the mapping is docs/interop.md's table).

The translator follows the same fold as the answer's parts (server/chat/answer.py): it is
seeded with the parts a snapshot already showed, and each later event of the run becomes
the AG-UI events that extend them. A run's AG-UI stream ends at its outcome, or at an
approval request: AG-UI ends that run with an interrupt, and the client answers it with a
new run that resumes ours.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    Interrupt,
    ReasoningEndEvent,
    ReasoningMessageContentEvent,
    ReasoningMessageEndEvent,
    ReasoningMessageStartEvent,
    ReasoningStartEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    RunFinishedSuccessOutcome,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    TokenUsage,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from pydantic import JsonValue

from schemas.chat import (
    AgentApprovalRequested,
    AgentApprovalResolved,
    AgentDelta,
    AgentReasoning,
    AgentRunCompleted,
    AgentRunFailed,
    AgentRunStopped,
    AgentToolCall,
    AgentToolResult,
    UserStreamPayload,
)
from schemas.parts import (
    ApprovalPart,
    MessagePart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from server.agui.layout import Layout, PartKind, interrupt_id
from server.stores.replay_store import StoredEvent

APPROVAL_REASON = "tool_approval"
# Our fields AG-UI has no place for travel in metadata under this key.
METADATA_KEY = "netra"

_RUN_EVENTS: dict[str, type[UserStreamPayload]] = {
    "agent:delta": AgentDelta,
    "agent:reasoning": AgentReasoning,
    "agent:tool_call": AgentToolCall,
    "agent:tool_result": AgentToolResult,
    "agent:approval_requested": AgentApprovalRequested,
    "agent:approval_resolved": AgentApprovalResolved,
    "agent:run_completed": AgentRunCompleted,
    "agent:run_failed": AgentRunFailed,
    "agent:run_stopped": AgentRunStopped,
}


def json_text(value: JsonValue) -> str:
    """A tool's arguments or result as AG-UI carries them: text (a string stays as it is)."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _kind(part: MessagePart) -> PartKind:
    kinds: dict[type[Any], PartKind] = {
        TextPart: "text",
        ReasoningPart: "reasoning",
        ToolCallPart: "tool_call",
        ToolResultPart: "tool_result",
        ApprovalPart: "approval",
    }
    return kinds[type(part)]


class RunTranslator:
    """Our events of one run (`run_id`, answered as `message_id`) into one AG-UI run's."""

    def __init__(self, thread_id: str, agui_run_id: str, run_id: str, message_id: str) -> None:
        self.thread_id = thread_id
        self.agui_run_id = agui_run_id
        self.run_id = run_id
        self.layout = Layout(message_id)
        self.ended = False
        self._text: str | None = None  # the text message open in this stream
        self._reasoning: str | None = None  # the reasoning message open in this stream
        self._pending: dict[str, ApprovalPart] = {}

    def seed(self, parts: list[MessagePart]) -> None:
        """The parts the client already has (from a snapshot): later events extend them."""
        for part in parts:
            self.layout.place(_kind(part))
            if isinstance(part, ApprovalPart):
                if part.decision == "pending":
                    self._pending[part.call_id] = part
                else:
                    self._pending.pop(part.call_id, None)

    def waiting(self, answered: set[str]) -> list[BaseEvent]:
        """When the seeded answer waits for approvals nobody answered: the interrupt."""
        waiting = [part for call, part in self._pending.items() if call not in answered]
        if not waiting:
            return []
        return self._end_with_interrupt(
            [(part.call_id, part.name, part.args, None) for part in waiting], None
        )

    def translate(self, stored: StoredEvent) -> list[BaseEvent]:
        """The AG-UI events of one of our stream's events (none for other runs' events)."""
        model = _RUN_EVENTS.get(stored.name)
        if model is None or self.ended or stored.data.get("run_id") != self.run_id:
            return []
        body = {k: v for k, v in stored.data.items() if k not in ("seq", "ts")}
        payload = model.model_validate(body)
        ts = _millis(stored.data.get("ts"))
        if isinstance(payload, AgentDelta):
            return self._text_delta(payload.text, ts)
        if isinstance(payload, AgentReasoning):
            return self._reasoning_delta(payload.text, ts)
        if isinstance(payload, AgentToolCall):
            return self._tool_call(payload, ts)
        if isinstance(payload, AgentToolResult):
            return self._tool_result(payload, ts)
        if isinstance(payload, AgentApprovalRequested):
            self.layout.place("approval")
            expires = payload.expires_at.isoformat().replace("+00:00", "Z")
            call = (payload.call_id, payload.name, payload.args, expires)
            return self._end_with_interrupt([call], ts)
        if isinstance(payload, AgentApprovalResolved):
            self._pending.pop(payload.call_id, None)
            value = {"callId": payload.call_id, "decision": payload.decision}
            if payload.args is not None:
                value["args"] = payload.args  # type: ignore[assignment]
            return [CustomEvent(name="netra.approval_resolved", value=value, timestamp=ts)]
        return self._outcome(payload, ts)

    def _text_delta(self, text: str, ts: int | None) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        if not self.layout.continues("text"):
            out += self._close()
            self._text = self.layout.place("text")
            out.append(TextMessageStartEvent(message_id=self._text, role="assistant", timestamp=ts))
        elif self._text is None:
            # The part began before this stream (seeded): the client has it; go on with it.
            self._text = self.layout.segment or self.layout.message_id
            out.append(TextMessageStartEvent(message_id=self._text, role="assistant", timestamp=ts))
        out.append(TextMessageContentEvent(message_id=self._text, delta=text, timestamp=ts))
        return out

    def _reasoning_delta(self, text: str, ts: int | None) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        if not self.layout.continues("reasoning"):
            out += self._close()
            self._reasoning = self.layout.place("reasoning")
            out += self._open_reasoning(self._reasoning, ts)
        elif self._reasoning is None:
            index = self.layout.count - 1
            self._reasoning = f"{self.layout.message_id}.{index}.reasoning"
            out += self._open_reasoning(self._reasoning, ts)
        out.append(
            ReasoningMessageContentEvent(message_id=self._reasoning, delta=text, timestamp=ts)
        )
        return out

    @staticmethod
    def _open_reasoning(message_id: str, ts: int | None) -> list[BaseEvent]:
        return [
            ReasoningStartEvent(message_id=message_id, timestamp=ts),
            ReasoningMessageStartEvent(message_id=message_id, role="reasoning", timestamp=ts),
        ]

    def _tool_call(self, call: AgentToolCall, ts: int | None) -> list[BaseEvent]:
        out = self._close()
        parent = self.layout.place("tool_call")
        return [
            *out,
            ToolCallStartEvent(
                tool_call_id=call.call_id,
                tool_call_name=call.name,
                parent_message_id=parent,
                timestamp=ts,
            ),
            ToolCallArgsEvent(tool_call_id=call.call_id, delta=json_text(call.args), timestamp=ts),
            ToolCallEndEvent(tool_call_id=call.call_id, timestamp=ts),
        ]

    def _tool_result(self, result: AgentToolResult, ts: int | None) -> list[BaseEvent]:
        out = self._close()
        message_id = self.layout.place("tool_result")
        out.append(
            ToolCallResultEvent(
                message_id=message_id,
                tool_call_id=result.call_id,
                content=json_text(result.result),
                role="tool",
                timestamp=ts,
                metadata={METADATA_KEY: {"isError": True}} if result.is_error else None,
            )
        )
        return out

    def _end_with_interrupt(
        self,
        calls: list[tuple[str, str, dict[str, JsonValue], str | None]],
        ts: int | None,
    ) -> list[BaseEvent]:
        interrupts = [
            Interrupt(
                id=interrupt_id(self.run_id, call_id),
                reason=APPROVAL_REASON,
                message=f"Allow {name}?",
                tool_call_id=call_id,
                expires_at=expires,
                metadata={METADATA_KEY: {"name": name, "args": args}},
            )
            for call_id, name, args, expires in calls
        ]
        self.ended = True
        return [
            *self._close(),
            RunFinishedEvent(
                thread_id=self.thread_id,
                run_id=self.agui_run_id,
                outcome=RunFinishedInterruptOutcome(interrupts=interrupts),
                timestamp=ts,
            ),
        ]

    def _outcome(self, payload: UserStreamPayload, ts: int | None) -> list[BaseEvent]:
        self.ended = True
        out = self._close()
        if isinstance(payload, AgentRunFailed):
            out.append(
                RunErrorEvent(message=payload.error.message, code=payload.error.code, timestamp=ts)
            )
            return out
        finished = RunFinishedEvent(
            thread_id=self.thread_id,
            run_id=self.agui_run_id,
            outcome=RunFinishedSuccessOutcome()
            if isinstance(payload, AgentRunCompleted)
            else RunFinishedCancelledOutcome(),
            timestamp=ts,
        )
        if isinstance(payload, AgentRunCompleted) and payload.usage is not None:
            usage = payload.usage
            finished.usage = [
                TokenUsage(
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    total_tokens=usage.total_tokens,
                )
            ]
        out.append(finished)
        return out

    def finish(self, status: str, message: str | None = None) -> list[BaseEvent]:
        """The end of a run that ended before this stream began (its stored status)."""
        self.ended = True
        out = self._close()
        if status == "failed":
            out.append(RunErrorEvent(message=message or "The answer failed", code="run_failed"))
            return out
        outcome = RunFinishedSuccessOutcome() if status == "complete" else None
        out.append(
            RunFinishedEvent(
                thread_id=self.thread_id,
                run_id=self.agui_run_id,
                outcome=outcome or RunFinishedCancelledOutcome(),
            )
        )
        return out

    def _close(self) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        if self._text is not None:
            out.append(TextMessageEndEvent(message_id=self._text))
            self._text = None
        if self._reasoning is not None:
            out.append(ReasoningMessageEndEvent(message_id=self._reasoning))
            out.append(ReasoningEndEvent(message_id=self._reasoning))
            self._reasoning = None
        return out


def _millis(ts: object) -> int | None:
    if not isinstance(ts, str):
        return None
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)
