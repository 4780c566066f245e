"""In-process replay store: the default for a single node."""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.base import rfc3339
from server.stores.replay_store import Position, Replay, StoredEvent


@dataclass
class _UserStream:
    head_seq: int = 0
    # (monotonic time appended, event), oldest first.
    events: deque[tuple[float, StoredEvent]] = field(default_factory=deque)


class MemoryReplayStore:
    """See ReplayStore. Single event loop: no awaits inside an append, so seq is atomic."""

    def __init__(
        self,
        max_events: int,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_events = max_events
        self._ttl_s = ttl_s
        self._clock = clock
        self._streams: dict[str, _UserStream] = {}
        # A fresh epoch per instance: a restarted process cannot vouch for earlier seqs.
        self.epoch = secrets.token_hex(8)

    @property
    def publishes(self) -> bool:
        return False

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._streams.clear()

    async def append(
        self, user_id: str, name: str, body: dict[str, Any], ts: datetime
    ) -> StoredEvent:
        stream = self._streams.setdefault(user_id, _UserStream())
        stream.head_seq += 1
        data = {"seq": stream.head_seq, "ts": rfc3339(ts), **body}
        event = StoredEvent(seq=stream.head_seq, name=name, data=data, epoch=self.epoch)
        stream.events.append((self._clock(), event))
        self._trim(stream)
        return event

    async def position(self, user_id: str) -> Position:
        stream = self._streams.get(user_id)
        return Position(epoch=self.epoch, head_seq=stream.head_seq if stream else 0)

    async def since(self, user_id: str, epoch: str, last_seq: int) -> Replay:
        stream = self._streams.get(user_id)
        position = Position(epoch=self.epoch, head_seq=stream.head_seq if stream else 0)
        if epoch != self.epoch or last_seq > position.head_seq or last_seq < 0:
            return Replay(position=position, events=None)
        if stream is None or last_seq == position.head_seq:
            return Replay(position=position, events=[])
        self._trim(stream)
        oldest = stream.events[0][1].seq if stream.events else position.head_seq + 1
        if last_seq + 1 < oldest:
            return Replay(position=position, events=None)
        skip = last_seq + 1 - oldest
        events = [event for _, event in list(stream.events)[skip:]]
        return Replay(position=position, events=events)

    def _trim(self, stream: _UserStream) -> None:
        while len(stream.events) > self._max_events:
            stream.events.popleft()
        cutoff = self._clock() - self._ttl_s
        while stream.events and stream.events[0][0] < cutoff:
            stream.events.popleft()
