"""One lock per key (a user), held around every delivery to that key's connections."""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class KeyedLocks:
    """A FIFO lock per key, dropped when nobody holds or waits for it.

    Taken on every event of a stream, so the uncontended path is a flag: no future, no
    asyncio.Lock, no generator. A release hands the lock straight to the longest waiter,
    so waiters are served in the order they came.
    """

    def __init__(self) -> None:
        self._held: dict[str, _KeyLock] = {}

    def hold(self, key: str) -> _KeyLock:
        entry = self._held.get(key)
        if entry is None:
            entry = self._held[key] = _KeyLock(self._held, key)
        return entry

    def __len__(self) -> int:
        return len(self._held)


class _KeyLock:
    __slots__ = ("_held", "_key", "_locked", "_waiters")

    def __init__(self, held: dict[str, _KeyLock], key: str) -> None:
        self._held = held
        self._key = key
        self._locked = False
        self._waiters: deque[asyncio.Future[None]] | None = None

    async def __aenter__(self) -> None:
        if not self._locked:
            self._locked = True
            return
        if self._waiters is None:
            self._waiters = deque()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # resolved by a release that hands the lock over
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed over, then cancelled: pass it on
            else:
                waiter.cancel()  # a release skips it
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release()

    def _release(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # a cancelled waiter is skipped
                waiter.set_result(None)
                return
        self._locked = False
        del self._held[self._key]
