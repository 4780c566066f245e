from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from server.agent.eager import SENDS_IN_PLACE, start_eagerly


@pytest.fixture(autouse=True)
def in_place() -> None:
    """As a run on one node sets it (each test runs in a context of its own)."""
    SENDS_IN_PLACE.set(True)


async def test_a_coroutine_that_never_waits_runs_at_once_without_a_task() -> None:
    done: list[str] = []

    async def send() -> int:
        done.append("sent")
        return 1

    tasks_before = len(asyncio.all_tasks())
    assert start_eagerly(send()) is None
    assert done == ["sent"]
    assert len(asyncio.all_tasks()) == tasks_before


async def test_an_error_before_any_wait_is_raised_to_the_caller() -> None:
    async def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        start_eagerly(fail())


async def test_a_coroutine_that_waits_carries_on_in_a_task_once() -> None:
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def send() -> str:
        steps.append("before")
        value = await gate
        steps.append(f"after {value}")
        await asyncio.sleep(0)
        steps.append("end")
        return value.upper()

    task = start_eagerly(send())
    assert task is not None
    assert steps == ["before"]  # ran up to its wait on the caller's stack
    gate.set_result("ok")
    assert await task == "OK"
    assert steps == ["before", "after ok", "end"]


async def test_cancelling_the_task_reaches_the_coroutine_where_it_waits() -> None:
    cleaned: list[str] = []

    async def send() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            cleaned.append("finally")

    task = start_eagerly(send())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["finally"]


async def test_a_caught_cancellation_lets_the_coroutine_finish() -> None:
    async def send() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0)
            return "finished anyway"
        return "slept"

    task = start_eagerly(send())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    assert await task == "finished anyway"


async def test_an_error_after_a_wait_is_the_tasks() -> None:
    async def send() -> None:
        await asyncio.sleep(0)
        raise KeyError("late")

    task = start_eagerly(send())
    assert task is not None
    with pytest.raises(KeyError, match="late"):
        await task


async def test_waiting_on_a_lock_held_elsewhere() -> None:
    lock = asyncio.Lock()
    order: list[str] = []

    async def send(name: str) -> None:
        async with lock:
            order.append(name)
            await asyncio.sleep(0)

    await lock.acquire()
    first = start_eagerly(send("first"))
    second = start_eagerly(send("second"))
    assert first is not None
    assert second is not None
    lock.release()
    await asyncio.gather(first, second)
    assert order == ["first", "second"]


async def test_an_awaitable_that_is_not_a_coroutine_is_left_to_asyncio() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    assert start_eagerly(future) is future
    future.set_result(3)
    assert await future == 3


def test_from_a_loop_callback_without_a_current_task() -> None:
    async def main() -> list[str]:
        steps: list[str] = []

        async def flush() -> None:
            steps.append(f"task {asyncio.current_task() is None}")
            await asyncio.sleep(0)
            steps.append("resumed")

        await _started_from_a_loop_callback(flush())
        return steps

    assert asyncio.run(main()) == ["task True", "resumed"]


async def test_without_in_place_sends_a_send_that_needs_a_task_gets_one() -> None:
    # Cluster mode: redis-py enters asyncio.timeout when it (re)connects, which refuses to run
    # outside a task, as in a coalescer's timer callback.
    SENDS_IN_PLACE.set(False)
    done: list[str] = []

    async def send_through_redis() -> None:
        async with asyncio.timeout(1):
            await asyncio.sleep(0)
        done.append("sent")

    await _started_from_a_loop_callback(send_through_redis())
    assert done == ["sent"]


async def _started_from_a_loop_callback(coro: Coroutine[Any, Any, None]) -> None:
    """Start `coro` eagerly from a loop callback (no current task, as a coalescer's timer),
    then wait for the task it must have been given."""
    started: list[asyncio.Future[None] | None] = []
    asyncio.get_running_loop().call_soon(lambda: started.append(start_eagerly(coro)))
    await asyncio.sleep(0)
    task = started[0]
    assert task is not None
    await task
