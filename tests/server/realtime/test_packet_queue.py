"""PacketQueue behaves as asyncio.Queue where python-engineio and the writer rely on it, and
holds nothing while empty."""

from __future__ import annotations

import asyncio

import pytest

from server.realtime.packet_queue import PacketQueue


async def test_fifo_and_empty_again_holds_nothing() -> None:
    queue = PacketQueue()
    for item in range(3):
        await queue.put(item)
    assert queue.qsize() == 3
    assert [queue.get_nowait() for _ in range(3)] == [0, 1, 2]
    assert queue.empty()
    assert queue._items is None
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_a_getter_waits_for_the_next_item() -> None:
    queue = PacketQueue()
    getter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("a")
    assert await getter == "a"
    assert queue._getters is None


async def test_a_cancelled_getter_passes_its_wakeup_on() -> None:
    queue = PacketQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("a")  # wakes `first`, which is cancelled before it runs
    first.cancel()
    assert await second == "a"
    assert first.cancelled()


async def test_get_under_wait_for_times_out_cleanly() -> None:
    queue = PacketQueue()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), 0.01)
    assert queue._getters is None
    queue.put_nowait(None)
    assert await queue.get() is None


async def test_join_waits_for_task_done_per_item() -> None:
    queue = PacketQueue()
    await queue.join()  # nothing queued: at once
    queue.put_nowait(1)
    queue.put_nowait(2)
    joined = asyncio.ensure_future(queue.join())
    queue.get_nowait()
    queue.task_done()
    await asyncio.sleep(0)
    assert not joined.done()
    queue.get_nowait()
    queue.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError):
        queue.task_done()
