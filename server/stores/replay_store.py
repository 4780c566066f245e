"""Interface of the replay store: each user's recent stream, for resuming connections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol


class StoredEvent(NamedTuple):
    """One kept event. A tuple: a replay builds thousands at once, and a frozen dataclass's
    constructor costs several times as much."""

    seq: int
    name: str
    # The wire payload exactly as first emitted, `seq` and `ts` included.
    data: dict[str, Any]
    # The history the seq belongs to (see ReplayStore.epoch).
    epoch: str
    # The JSON text of `[name, data]` where the store keeps it (the memory store does), so
    # sends and replays of the event never encode it again; None: encode it when sent.
    encoded: str | None = None


@dataclass(frozen=True, slots=True)
class Position:
    epoch: str
    head_seq: int


@dataclass(frozen=True, slots=True)
class Replay:
    """What a resuming client gets: every missed event, or None when some are gone."""

    position: Position
    events: list[StoredEvent] | None


class ReplayStore(Protocol):
    """Each user's stream of events, numbered and kept for a bounded window.

    Guarantees every implementation provides:

    * Sequence: `append` gives each user's events seq 1, 2, 3, ... with no gaps and no
      repeats, atomically, even under concurrent appends (and across processes for shared
      implementations). The stored payload carries that seq and the timestamp.
    * Order: `since` returns events in seq order.
    * Window: at most `max_events` events per user are kept, none older than `ttl_s`.
    * Continuity: `epoch` names one unbroken history. It changes whenever continuity is lost
      (a memory store restarted, shared storage flushed); a position from another epoch is
      never answered with events.
    * All or nothing: `since` returns every event after a position, or None when any of them
      is no longer held (window passed, position ahead of the head, other epoch). Never a
      partial gap.
    """

    @property
    def publishes(self) -> bool:
        """True while `append` also publishes each event on its stream's channel (cluster
        mode): the Emitter then delivers it from the subscription, not after the append."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def append(
        self, user_id: str, name: str, body: dict[str, Any], ts: datetime
    ) -> StoredEvent:
        """Number the event, stamp `seq` and `ts` into a copy of `body`, keep and return it."""
        ...

    async def position(self, user_id: str) -> Position:
        """The current epoch and the user's last seq (0 before the first event)."""
        ...

    async def since(self, user_id: str, epoch: str, last_seq: int) -> Replay:
        """Every event with seq > last_seq, or events=None when they cannot all be given."""
        ...
