"""Start a coroutine on the caller's stack, and pay for a Task only if it has to wait.

Sending a delta usually finishes without waiting (the replay store appends in memory, the
packet is queued), so a Task per send, as `asyncio.create_task` or `ensure_future` would
start, is most of a send's cost in scheduling and objects. Python 3.12's eager tasks do the
same; this is that for the one place it matters, on 3.11.

Only where the run's owner says so (`SENDS_IN_PLACE`, set for a node whose sends never touch
the network: one node, replay kept in memory). In cluster mode a send may open a Redis
connection, and redis-py enters `asyncio.timeout`, which refuses to run outside a task (a
timer's callback) and inside the run's task would time out the run, not the send: there every
send gets its Task from the start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Generator
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

# Set in a run's task; the coalescers' timers, scheduled from it, see it too.
SENDS_IN_PLACE: ContextVar[bool] = ContextVar("sends_in_place", default=False)


def start_eagerly(coro: Awaitable[T]) -> asyncio.Future[T] | None:
    """Run `coro` now, until it finishes or first waits. None if it finished (an exception
    it raised propagates here); else a Task that carries on from where it waited, in which
    it is neither run twice nor dropped. An awaitable that is not a coroutine gets a Task
    (or stays the future it is), as `asyncio.ensure_future` would make it; so does any,
    unless `SENDS_IN_PLACE` is set."""
    if not isinstance(coro, Coroutine) or not SENDS_IN_PLACE.get():
        return asyncio.ensure_future(coro)
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_carry_on(coro, waiting_on))


async def _carry_on(coro: Coroutine[Any, Any, T], waiting_on: Any) -> T:
    result: T = await _Resumed(coro, waiting_on)
    return result


class _Resumed:
    """Hands what the started coroutine waits on to the Task driving it, then relays each
    wake-up (or exception, cancellation included) back into it."""

    __slots__ = ("_coro", "_waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self._coro = coro
        self._waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, waiting_on = self._coro, self._waiting_on
        self._waiting_on = None
        while True:
            try:
                sent = yield waiting_on
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    waiting_on = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    waiting_on = coro.send(sent)
                except StopIteration as stop:
                    return stop.value
