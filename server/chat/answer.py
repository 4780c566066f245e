"""An answer as its user has been sent it: the run's events folded into message parts.

The fold is the one place parts are made: the live events a client receives, the history a
reload reads and the checkpoints a crash leaves all come from the same events through it, so
they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas.chat import (
    AgentApprovalRequested,
    AgentApprovalResolved,
    AgentDelta,
    AgentReasoning,
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
    joined_text,
)


class _Run:
    """Consecutive text (or reasoning) deltas, joined only when the parts are read."""

    __slots__ = ("chunks", "kind")

    def __init__(self, kind: type[TextPart] | type[ReasoningPart], text: str) -> None:
        self.kind = kind
        self.chunks = [text]

    def part(self) -> MessagePart:
        return self.kind.model_construct(text="".join(self.chunks))


class Answer:
    """The parts of one streaming answer and the seq of the last event folded into them."""

    __slots__ = ("_items", "on_change", "seq")

    def __init__(self) -> None:
        # Deltas are appended to a _Run; every other part is kept as its model.
        self._items: list[_Run | MessagePart] = []
        self.seq: int | None = None
        # Told the size of each change: how checkpoints learn an answer grew.
        self.on_change: Callable[[int], None] | None = None

    @property
    def parts(self) -> list[MessagePart]:
        return [item.part() if isinstance(item, _Run) else item for item in self._items]

    @property
    def text(self) -> str:
        return joined_text(self.parts)

    def apply(self, payload: UserStreamPayload, seq: int) -> None:
        """Fold one event the user was sent (as `seq`) into the parts."""
        size = self._fold(payload)
        self.seq = seq
        if size and self.on_change is not None:
            self.on_change(size)

    def _fold(self, payload: UserStreamPayload) -> int:
        """Apply one event; returns how much it added (0 when not part of a message)."""
        if isinstance(payload, AgentDelta | AgentReasoning):
            kind = TextPart if isinstance(payload, AgentDelta) else ReasoningPart
            last = self._items[-1] if self._items else None
            if isinstance(last, _Run) and last.kind is kind:
                last.chunks.append(payload.text)
            else:
                self._items.append(_Run(kind, payload.text))
            return len(payload.text)
        if isinstance(payload, AgentToolCall):
            self._items.append(
                ToolCallPart(call_id=payload.call_id, name=payload.name, args=payload.args)
            )
        elif isinstance(payload, AgentToolResult):
            self._items.append(
                ToolResultPart(
                    call_id=payload.call_id,
                    name=payload.name,
                    result=payload.result,
                    is_error=payload.is_error,
                )
            )
        elif isinstance(payload, AgentApprovalRequested):
            self._items.append(
                ApprovalPart(
                    call_id=payload.call_id,
                    name=payload.name,
                    args=payload.args,
                    decision="pending",
                )
            )
        elif isinstance(payload, AgentApprovalResolved):
            self._resolve(payload)
        else:
            return 0
        return 1

    def _resolve(self, payload: AgentApprovalResolved) -> None:
        for index, item in enumerate(self._items):
            if isinstance(item, ApprovalPart) and item.call_id == payload.call_id:
                args = item.args if payload.args is None else payload.args
                self._items[index] = item.model_copy(
                    update={"decision": payload.decision, "args": args}
                )
