"""In-process code following a user's stream: every event from a position on, in seq order.

A listener is what a connection is to the Emitter, without a connection: an HTTP response
streaming a run (server/agui/) follows the user's stream through one. It is opened with
`Emitter.listen`, which registers it under the stream's lock at the stream's current position;
from then on the Emitter offers it each event it delivers, and it holds them until read.

Nothing is lost or doubled: an event that does not follow the last one held (events this node
never heard, or more than `max_held` waiting unread) marks the listener behind, and the reader
fetches what it missed from the replay store before going on. `rewind` starts it over from an
earlier seq the same way. When the store cannot give every missed event (the window passed,
the epoch changed), reading raises StreamGap.
"""

from __future__ import annotations

import asyncio
from collections import deque

from server.stores.replay_store import Position, ReplayStore, StoredEvent

MAX_HELD = 10_000


class StreamGap(Exception):
    """Events of the stream are gone: the listener cannot go on without a gap."""


class StreamListener:
    def __init__(
        self, replay: ReplayStore, key: str, position: Position, max_held: int = MAX_HELD
    ) -> None:
        self._replay = replay
        self._key = key
        self.epoch = position.epoch
        # The seq the listener was opened at: events after it are its own.
        self.opened_at = position.head_seq
        self._max_held = max_held
        self._held: deque[StoredEvent] = deque()
        self._held_through = position.head_seq  # the last seq held or already read
        self._heard = position.head_seq  # the highest seq offered
        self._behind = False
        self._lost = False
        self._wake = asyncio.Event()

    def offer(self, event: StoredEvent) -> None:
        """The Emitter, under the stream's lock: an event it delivers, in seq order."""
        if event.epoch != self.epoch:
            self._lost = True
        else:
            self._heard = max(self._heard, event.seq)
            if event.seq <= self._held_through:
                return
            if (
                not self._behind
                and event.seq == self._held_through + 1
                and len(self._held) < self._max_held
            ):
                self._held.append(event)
                self._held_through = event.seq
            else:
                self._behind = True
        self._wake.set()

    def catch_up(self) -> None:
        """Events may have been published that this node never heard: read the store."""
        self._behind = True
        self._wake.set()

    async def rewind(self, after_seq: int) -> None:
        """Go on from the event after `after_seq` (which may be before the opening seq)."""
        self._held.clear()
        self._held_through = after_seq
        await self._refill()

    async def next(self) -> StoredEvent:
        """The next event of the stream, waiting for it when none is held."""
        while True:
            if self._held:
                return self._held.popleft()
            if self._lost:
                raise StreamGap(self._key)
            if self._behind:
                await self._refill()
                continue
            self._wake.clear()
            await self._wake.wait()

    async def _refill(self) -> None:
        after = self._held_through
        replay = await self._replay.since(self._key, self.epoch, after)
        if replay.events is None:
            self._lost = True
            return
        fetched = [event for event in replay.events if event.seq > after]
        last = fetched[-1].seq if fetched else after
        # Offered while the store was read: keep those that follow on.
        tail = [event for event in self._held if event.seq > last]
        self._held = deque(fetched + tail)
        self._held_through = max(last, tail[-1].seq if tail else last)
        self._heard = max(self._heard, self._held_through)
        self._behind = self._heard > self._held_through
