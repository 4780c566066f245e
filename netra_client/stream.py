"""The user's event stream as the client sees it: seq/ts envelopes and the resume cursor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from schemas.auth import ResumePosition
from schemas.chat import ChatReady, UserStreamPayload
from schemas.events import StreamEnvelope

S = TypeVar("S", bound=UserStreamPayload)

_ENVELOPE_FIELDS = frozenset(StreamEnvelope.model_fields)


@dataclass(frozen=True, slots=True)
class Sequenced(Generic[S]):
    """A user-stream event: the payload model plus the `seq` and `ts` the server stamped on it."""

    seq: int
    ts: datetime
    event: S


def decode_stream_event(model: type[S], data: Any) -> Sequenced[S]:
    """Split a wire payload into its envelope and its model; ValidationError on a bad one."""
    if not isinstance(data, dict):
        data = {}
    envelope = StreamEnvelope.model_validate({k: data.get(k) for k in _ENVELOPE_FIELDS})
    body = {k: v for k, v in data.items() if k not in _ENVELOPE_FIELDS}
    return Sequenced(seq=envelope.seq, ts=envelope.ts, event=model.model_validate(body))


@dataclass
class StreamCursor:
    """Where the client is in the user's stream, and what it noticed on the way.

    `epoch` and `last_seq` are what a reconnect sends as `resume`. Every seq at or below
    `last_seq` has been seen, so it is dropped as a duplicate (a replay overlapping live events).
    """

    epoch: str | None = None
    last_seq: int = 0
    duplicates: int = 0
    # (expected seq, seq that arrived instead): the server promises none, so any is a fault.
    gaps: list[tuple[int, int]] = field(default_factory=list)

    def accept(self, seq: int) -> bool:
        """True when the event is new; advances the cursor."""
        if seq <= self.last_seq:
            self.duplicates += 1
            return False
        if self.epoch is not None and seq != self.last_seq + 1:
            self.gaps.append((self.last_seq + 1, seq))
        self.last_seq = seq
        return True

    def on_ready(self, ready: ChatReady) -> None:
        """`chat:ready` ends a (re)connect: from here on the next event is `head_seq + 1`."""
        if ready.recovery == "recovered" and ready.head_seq > self.last_seq:
            self.gaps.append((self.last_seq + 1, ready.head_seq + 1))
        # On a reset the new epoch may count from below our old position, so never keep max().
        self.epoch = ready.epoch
        self.last_seq = ready.head_seq

    def resume(self) -> ResumePosition | None:
        if self.epoch is None:
            return None
        return ResumePosition(epoch=self.epoch, last_seq=self.last_seq)
