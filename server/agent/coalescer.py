"""Merges streamed text into fewer `agent:delta` events: flush by size or by age."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from server.agent.eager import start_eagerly


class DeltaCoalescer:
    """Buffers text and hands it to `emit` once `max_chars` are waiting or the oldest
    buffered character is `interval_s` old, so a fast model sends few frames and a slow
    one still shows every token promptly."""

    def __init__(
        self, emit: Callable[[str], Awaitable[None]], interval_s: float, max_chars: int
    ) -> None:
        self._emit = emit
        self._interval_s = interval_s
        self._max_chars = max_chars
        self._buffer: list[str] = []
        self._size = 0
        # The age flush: a loop timer while it waits (no task per buffer); once due it runs
        # in the timer's callback, in a task only if it has to wait.
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Future[None]] = set()
        # A send that failed in a timer's task, raised to the run at its next add or flush.
        self._failure: BaseException | None = None
        # Held across the swap and the emit so flushes leave in buffer order.
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> bool:
        """Text is buffered or on its way out: what a send of another kind must wait for."""
        return bool(self._buffer) or self._lock.locked()

    async def add(self, text: str) -> None:
        self._raise_failure()
        if not text:
            return
        self._buffer.append(text)
        self._size += len(text)
        if self._size >= self._max_chars or self._interval_s <= 0:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval_s, self._due)

    async def flush(self) -> None:
        self._raise_failure()
        self._cancel_timer()
        async with self._lock:
            if not self._buffer:
                return
            text = "".join(self._buffer)
            self._buffer.clear()
            self._size = 0
            await self._emit(text)

    async def aclose(self) -> None:
        self._cancel_timer()
        # `emit` is usually a method of the object that holds this coalescer: a reference
        # cycle, freed only by the collector's rare full collections unless broken here.
        self._emit = _closed

    def _due(self) -> None:
        self._timer = None
        # Flushed right here, in the timer's callback: a Task only if the flush has to wait.
        task = start_eagerly(self._flush_due())
        if task is not None:
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _flush_due(self) -> None:
        try:
            await self.flush()
        except Exception as exc:
            # Nobody awaits this task: the run must learn its text did not go out.
            self._failure = exc

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def _cancel_timer(self) -> None:
        # Only a timer not yet due is cancelled; a due one's task is flushing under the lock,
        # which the caller's own flush then waits for.
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()


async def _closed(text: str) -> None:
    raise RuntimeError("the coalescer is closed")
