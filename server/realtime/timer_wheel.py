"""Coarse timers for the many long waits every connection keeps, on one loop timer.

A held connection waits on several timers at once: the idle deadlines of its reader and
writer, its next ping, its token's expiry on each namespace. With uvloop each `call_at` is a
TimerHandle, a libuv timer, a copy of the context and an arguments tuple, about 0.6 KB; here
a timer is one small object in a bucket of timers due in the same `resolution_s`, and the
loop holds a single timer for the earliest bucket. A timer fires at most `resolution_s` late,
never early. Callbacks run in an empty context (the defaults of every context variable), not
in whichever context happened to arm the loop's timer.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import math
import weakref
from collections.abc import Callable

RESOLUTION_S = 0.1

_wheels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TimerWheel] = (
    weakref.WeakKeyDictionary()
)


def timer_wheel() -> TimerWheel:
    """The running loop's wheel."""
    loop = asyncio.get_running_loop()
    wheel = _wheels.get(loop)
    if wheel is None:
        wheel = _wheels[loop] = TimerWheel(loop)
    return wheel


class Timer:
    __slots__ = ("_bucket", "_callback")

    def __init__(self, callback: Callable[[], object], bucket: dict[Timer, None]) -> None:
        self._callback = callback
        self._bucket: dict[Timer, None] | None = bucket

    def cancel(self) -> None:
        if self._bucket is not None:
            self._bucket.pop(self, None)
            self._bucket = None

    def _run(self) -> None:
        self._bucket = None
        self._callback()


class TimerWheel:
    def __init__(self, loop: asyncio.AbstractEventLoop, resolution_s: float = RESOLUTION_S) -> None:
        self._loop = loop
        self._resolution_s = resolution_s
        # Insertion-ordered: timers of one bucket fire in the order they were set.
        self._buckets: dict[int, dict[Timer, None]] = {}
        self._ticks: list[int] = []  # a heap of the buckets' ticks
        self._handle: asyncio.TimerHandle | None = None
        self._armed_tick: int | None = None
        self._context = contextvars.Context()

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        """Run `callback` at loop time `when` or up to `resolution_s` after it."""
        tick = math.ceil(when / self._resolution_s)
        bucket = self._buckets.get(tick)
        if bucket is None:
            bucket = self._buckets[tick] = {}
            heapq.heappush(self._ticks, tick)
        timer = Timer(callback, bucket)
        bucket[timer] = None
        if self._armed_tick is None or tick < self._armed_tick:
            self._arm(tick)
        return timer

    def time(self) -> float:
        return self._loop.time()

    def call_later(self, delay_s: float, callback: Callable[[], object]) -> Timer:
        return self.call_at(self._loop.time() + delay_s, callback)

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._buckets.values())

    def _arm(self, tick: int) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_tick = tick
        # A millisecond past the tick: uvloop rounds a delay down to whole milliseconds.
        when = tick * self._resolution_s + 0.001
        self._handle = self._loop.call_at(when, self._fire, context=self._context)

    def _fire(self) -> None:
        self._handle = self._armed_tick = None
        now = math.floor(self._loop.time() / self._resolution_s)
        while self._ticks and self._ticks[0] <= now:
            bucket = self._buckets.pop(heapq.heappop(self._ticks), None)
            while bucket:
                timer = next(iter(bucket))
                del bucket[timer]
                try:
                    timer._run()
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:
                    self._loop.call_exception_handler(
                        {"message": "timer wheel callback failed", "exception": exc}
                    )
        if self._ticks:
            self._arm(self._ticks[0])
