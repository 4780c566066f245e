"""Interface of the replay store: each user's recent stream, for resuming connections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson


class StoredEvent:
    """One kept event: its data, or its wire JSON, from which the data is read when first
    asked for. Slotted and plain: a replay builds thousands at once."""

    __slots__ = ("_data", "encoded", "epoch", "name", "seq")

    def __init__(
        self,
        seq: int,
        name: str,
        data: dict[str, Any] | None,
        epoch: str,
        encoded: str | None = None,
    ) -> None:
        if data is None and encoded is None:
            raise ValueError("a stored event needs its data or its JSON")
        self.seq = seq
        self.name = name
        self._data = data
        # The history the seq belongs to (see ReplayStore.epoch).
        self.epoch = epoch
        # The JSON text of `[name, data]` where the store keeps it (the memory store keeps
        # only that), so sends and replays of the event never encode it again; None: encode
        # it when sent.
        self.encoded = encoded

    @property
    def data(self) -> dict[str, Any]:
        """The wire payload exactly as first emitted, `seq` and `ts` included."""
        if self._data is None:
            # Encoded by orjson, which reads its own JSON back exactly.
            self._data = orjson.loads(self.encoded or "")[1]
        return self._data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StoredEvent):
            return NotImplemented
        mine = (self.seq, self.name, self.epoch, self.data)
        return mine == (other.seq, other.name, other.epoch, other.data)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StoredEvent(seq={self.seq}, name={self.name!r}, epoch={self.epoch!r})"


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
