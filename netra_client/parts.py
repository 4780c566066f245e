"""An answer's parts as the client builds them from the live stream.

The contract's rule ("Messages are made of parts"): consecutive `agent:delta`s make one text
part and consecutive `agent:reasoning`s one reasoning part; each tool call, tool result and
approval request is a part of its own; `agent:approval_resolved` settles its approval part.
Folded this way, the live events give the same parts as `agent:run_completed` and
`chat:history`, so one renderer serves both.
"""

from __future__ import annotations

from collections.abc import Iterable

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

PART_EVENTS = (
    AgentDelta,
    AgentReasoning,
    AgentToolCall,
    AgentToolResult,
    AgentApprovalRequested,
    AgentApprovalResolved,
)


class PartsFold:
    """Parts of one answer; `apply` each event of its run in seq order.

    Start from a streaming history message's `parts` to go on with the live events whose seq
    is greater than its `seq`.
    """

    def __init__(self, parts: Iterable[MessagePart] = ()) -> None:
        self._done: list[MessagePart] = list(parts)
        # The text or reasoning part being streamed, kept as chunks until read.
        self._open: tuple[type[TextPart] | type[ReasoningPart], list[str]] | None = None
        last = self._done[-1] if self._done else None
        # A streamed part goes on growing with the next deltas of its kind.
        if isinstance(last, TextPart):
            self._open = (TextPart, [last.text])
        elif isinstance(last, ReasoningPart):
            self._open = (ReasoningPart, [last.text])
        if self._open is not None:
            self._done.pop()

    @property
    def parts(self) -> list[MessagePart]:
        if self._open is None:
            return list(self._done)
        kind, chunks = self._open
        return [*self._done, kind(text="".join(chunks))]

    @property
    def text(self) -> str:
        return joined_text(self.parts)

    def apply(self, event: UserStreamPayload) -> bool:
        """Fold one event in; False when it is not part of a message (run_started, ...)."""
        if isinstance(event, AgentDelta | AgentReasoning):
            kind = TextPart if isinstance(event, AgentDelta) else ReasoningPart
            if self._open is not None and self._open[0] is kind:
                self._open[1].append(event.text)
            else:
                self._close()
                self._open = (kind, [event.text])
            return True
        if isinstance(event, AgentApprovalResolved):
            self._resolve(event)
            return True
        part: MessagePart
        if isinstance(event, AgentToolCall):
            part = ToolCallPart(call_id=event.call_id, name=event.name, args=event.args)
        elif isinstance(event, AgentToolResult):
            part = ToolResultPart(
                call_id=event.call_id, name=event.name, result=event.result, is_error=event.is_error
            )
        elif isinstance(event, AgentApprovalRequested):
            part = ApprovalPart(
                call_id=event.call_id, name=event.name, args=event.args, decision="pending"
            )
        else:
            return False
        self._close()
        self._done.append(part)
        return True

    def _close(self) -> None:
        if self._open is not None:
            kind, chunks = self._open
            self._done.append(kind(text="".join(chunks)))
            self._open = None

    def _resolve(self, event: AgentApprovalResolved) -> None:
        for index, part in enumerate(self._done):
            if isinstance(part, ApprovalPart) and part.call_id == event.call_id:
                args = part.args if event.args is None else event.args
                self._done[index] = part.model_copy(
                    update={"decision": event.decision, "args": args}
                )


def fold_parts(events: Iterable[UserStreamPayload]) -> list[MessagePart]:
    """The parts a run's events make, from its first event on."""
    fold = PartsFold()
    for event in events:
        fold.apply(event)
    return fold.parts
