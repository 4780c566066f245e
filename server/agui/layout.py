"""Where the parts of one of our assistant messages go among AG-UI messages, and the ids
that tie AG-UI requests to our runs.

AG-UI splits what we keep as one message of parts: an assistant message holds text and tool
calls, each tool result is a tool message of its own, and reasoning is a reasoning message.
Text and tool calls join the current assistant message until a tool result ends it; the next
one starts with the part after. Ids come from the message id and a part's index, so the live
stream and a snapshot of the same parts name the same messages.
"""

from __future__ import annotations

import uuid
from typing import Literal

PartKind = Literal["text", "reasoning", "tool_call", "tool_result", "approval"]

# Our client_msg_id of an AG-UI run: the same threadId and runId send nothing twice.
_RUN_NAMESPACE = uuid.UUID("6f1d2b9e-5c3a-4e7b-9a0d-2f8e4c1b7a63")


def client_msg_id(thread_id: str, run_id: str) -> uuid.UUID:
    return uuid.uuid5(_RUN_NAMESPACE, f"{thread_id}\n{run_id}")


def interrupt_id(run_id: str, call_id: str) -> str:
    """The AG-UI interrupt of a tool call waiting for approval in our run."""
    return f"{run_id}:{call_id}"


def parse_interrupt_id(value: str) -> tuple[str, str] | None:
    """(our run id, call id), or None when `value` is not an interrupt id of ours."""
    run_id, sep, call_id = value.partition(":")
    return (run_id, call_id) if sep and run_id and call_id else None


class Layout:
    """Gives each new part of one answer its AG-UI message id, in order."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.count = 0  # parts placed so far
        self.last: PartKind | None = None
        self.segment: str | None = None  # the assistant message text and tool calls join
        self._segments = 0

    def continues(self, kind: PartKind) -> bool:
        """A delta of `kind` extends the last part (the fold joins consecutive deltas)."""
        return kind in ("text", "reasoning") and self.last == kind

    def place(self, kind: PartKind) -> str:
        """A new part of `kind`: the id of the AG-UI message it belongs to or becomes."""
        index = self.count
        self.count += 1
        self.last = kind
        if kind in ("text", "tool_call"):
            if self.segment is None:
                first = self._segments == 0
                self.segment = self.message_id if first else f"{self.message_id}.{index}"
                self._segments += 1
            return self.segment
        if kind == "tool_result":
            self.segment = None
            return f"{self.message_id}.{index}.result"
        if kind == "reasoning":
            return f"{self.message_id}.{index}.reasoning"
        return f"{self.message_id}.{index}.approval"
