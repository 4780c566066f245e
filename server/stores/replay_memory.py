"""In-process replay store: the default for a single node."""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from schemas.base import rfc3339
from server.realtime.json_codec import try_dumps
from server.stores.replay_store import Position, Replay, StoredEvent


@dataclass
class _UserStream:
    """A user's kept events, oldest first, as parallel columns.

    Columns rather than one object per event: the garbage collector skips a dict of plain
    values but scans every event object, and a busy stream keeps thousands of events for an
    hour, which would make each full collection (a pause of the whole loop) ever longer.
    """

    head_seq: int = 0
    appended_at: deque[float] = field(default_factory=deque)  # monotonic time
    names: deque[str] = field(default_factory=deque)
    # Each event as the JSON of `[name, data]`, encoded once at append for every send and
    # replay of it: a third of the memory of its data as a dict. The dict itself only where
    # orjson cannot encode it.
    payloads: deque[str | dict[str, Any]] = field(default_factory=deque)

    def popleft(self) -> None:
        self.appended_at.popleft()
        self.names.popleft()
        self.payloads.popleft()


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
        stream = self._streams.get(user_id)
        if stream is None:
            stream = self._streams[user_id] = _UserStream()
        stream.head_seq += 1
        data = {"seq": stream.head_seq, "ts": rfc3339(ts), **body}
        encoded = try_dumps([name, data])
        stream.appended_at.append(self._clock())
        stream.names.append(name)
        stream.payloads.append(data if encoded is None else encoded)
        self._trim(stream)
        return StoredEvent(stream.head_seq, name, data, self.epoch, encoded)

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
        oldest = position.head_seq - len(stream.payloads) + 1
        if last_seq + 1 < oldest:
            return Replay(position=position, events=None)
        skip = last_seq + 1 - oldest
        # The caller's epoch is ours (checked above).
        events = [
            StoredEvent(seq, name, None, epoch, payload)
            if isinstance(payload, str)
            else StoredEvent(seq, name, payload, epoch)
            for seq, name, payload in zip(
                range(last_seq + 1, position.head_seq + 1),
                islice(stream.names, skip, None),
                islice(stream.payloads, skip, None),
                strict=True,
            )
        ]
        return Replay(position=position, events=events)

    def _trim(self, stream: _UserStream) -> None:
        while len(stream.payloads) > self._max_events:
            stream.popleft()
        cutoff = self._clock() - self._ttl_s
        while stream.appended_at and stream.appended_at[0] < cutoff:
            stream.popleft()
