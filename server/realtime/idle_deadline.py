"""A timeout on each of a task's waits, for a task that waits once per packet.

`asyncio.timeout()` (or `wait_for`) around every wait arms and cancels a timer per packet.
This keeps one timer for the task's life: a wait only records when it began, and the timer,
when it fires, re-arms itself for the current wait's due time or, if that has passed,
cancels the task. So a wait that outlives `idle_s` is cancelled as under
`asyncio.timeout(idle_s)`, at most a fraction of a second late, and work between waits is
never interrupted. The timer is the loop's timer wheel's (timer_wheel.py): every connection
holds two of these for its whole life.
"""

from __future__ import annotations

import asyncio

from server.realtime.timer_wheel import Timer, timer_wheel


class IdleDeadline:
    __slots__ = ("_expired", "_idle_s", "_since", "_task", "_timer", "_wheel")

    def __init__(self, idle_s: float) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("IdleDeadline needs a task")
        self._wheel = timer_wheel()
        self._task = task
        self._idle_s = idle_s
        self._since: float | None = None  # when the current wait began; None between waits
        self._expired = False
        self._timer: Timer | None = self._wheel.call_later(idle_s, self._check)

    def begin_wait(self) -> None:
        self._since = self._wheel.time()

    def end_wait(self) -> None:
        self._since = None

    def settle(self) -> None:
        """Stop the timer (the task is done waiting for good); a cancellation this deadline
        made is withdrawn, so the task's later waits are not seen as cancelled."""
        self._since = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._expired:
            self._expired = False
            self._task.uncancel()

    def _check(self) -> None:
        now = self._wheel.time()
        due = now + self._idle_s if self._since is None else self._since + self._idle_s
        if self._since is not None and now >= due:
            self._timer = None
            self._expired = True
            self._task.cancel()
            return
        self._timer = self._wheel.call_at(due, self._check)
