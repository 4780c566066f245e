"""Timers on the wheel fire in order, never early and at most a tick late; cancelled ones
never fire."""

from __future__ import annotations

import asyncio
import contextvars
from functools import partial

from server.realtime.timer_wheel import TimerWheel

MARK: contextvars.ContextVar[str] = contextvars.ContextVar("mark", default="empty")


async def test_timers_fire_in_due_order_not_early() -> None:
    loop = asyncio.get_running_loop()
    wheel = TimerWheel(loop, resolution_s=0.01)
    start = loop.time()
    fired: list[tuple[str, float]] = []

    def note(name: str) -> None:
        fired.append((name, loop.time() - start))

    for name, delay in (("c", 0.05), ("a", 0.01), ("b", 0.03)):
        wheel.call_later(delay, partial(note, name))
    await asyncio.sleep(0.1)
    assert [name for name, _ in fired] == ["a", "b", "c"]
    for (_, at), due in zip(fired, (0.01, 0.03, 0.05), strict=True):
        assert due <= at < due + 0.04
    assert len(wheel) == 0


async def test_cancelled_timers_never_fire() -> None:
    wheel = TimerWheel(asyncio.get_running_loop(), resolution_s=0.01)
    fired: list[str] = []
    timer = wheel.call_later(0.01, lambda: fired.append("cancelled"))
    wheel.call_later(0.02, lambda: fired.append("kept"))
    timer.cancel()
    timer.cancel()  # twice is harmless
    assert len(wheel) == 1
    await asyncio.sleep(0.06)
    assert fired == ["kept"]


async def test_callbacks_run_in_an_empty_context_and_a_failure_stops_no_other() -> None:
    loop = asyncio.get_running_loop()
    wheel = TimerWheel(loop, resolution_s=0.01)
    seen: list[str] = []
    errors: list[object] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context["exception"]))
    try:
        MARK.set("armed here")
        wheel.call_later(0.01, lambda: 1 / 0)
        wheel.call_later(0.01, lambda: seen.append(MARK.get()))
        await asyncio.sleep(0.05)
    finally:
        loop.set_exception_handler(None)
    assert seen == ["empty"]
    assert len(errors) == 1
    assert isinstance(errors[0], ZeroDivisionError)
