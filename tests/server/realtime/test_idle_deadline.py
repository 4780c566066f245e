"""A wait that outlives the deadline is cancelled; work between waits never is."""

from __future__ import annotations

import asyncio

from server.realtime.idle_deadline import IdleDeadline


async def test_a_long_wait_is_cancelled_and_the_task_can_await_again() -> None:
    deadline = IdleDeadline(0.05)
    never = asyncio.get_running_loop().create_future()
    try:
        deadline.begin_wait()
        await never
        raise AssertionError("the wait was not cancelled")
    except asyncio.CancelledError:
        pass
    deadline.settle()
    current = asyncio.current_task()
    assert current is not None
    assert current.cancelling() == 0
    await asyncio.sleep(0.01)  # not seen as cancelled


async def test_short_waits_and_work_between_them_are_left_alone() -> None:
    deadline = IdleDeadline(0.05)
    for _ in range(8):
        deadline.begin_wait()
        await asyncio.sleep(0.02)
        deadline.end_wait()
        await asyncio.sleep(0.03)  # work between waits: longer in total than the deadline
    deadline.settle()
