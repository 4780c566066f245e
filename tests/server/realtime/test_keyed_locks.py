"""The per-user lock: exclusive, first come first served, and gone once nobody needs it."""

from __future__ import annotations

import asyncio

import pytest

from server.realtime.keyed_locks import KeyedLocks


async def _take(locks: KeyedLocks, key: str, log: list[str], name: str, hold_s: float) -> None:
    async with locks.hold(key):
        log.append(f"{name} in")
        await asyncio.sleep(hold_s)
        log.append(f"{name} out")


async def test_holders_of_one_key_take_turns_in_arrival_order() -> None:
    locks = KeyedLocks()
    log: list[str] = []
    tasks = [asyncio.create_task(_take(locks, "u", log, n, 0.01)) for n in "abc"]
    await asyncio.gather(*tasks)
    assert log == ["a in", "a out", "b in", "b out", "c in", "c out"]
    assert len(locks) == 0


async def test_keys_do_not_wait_for_each_other() -> None:
    locks = KeyedLocks()
    log: list[str] = []
    await asyncio.gather(_take(locks, "u", log, "u", 0.01), _take(locks, "v", log, "v", 0.01))
    assert log[:2] == ["u in", "v in"]
    assert len(locks) == 0


async def test_a_cancelled_waiter_is_skipped() -> None:
    locks = KeyedLocks()
    log: list[str] = []
    first = asyncio.create_task(_take(locks, "u", log, "a", 0.02))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(_take(locks, "u", log, "b", 0))
    last = asyncio.create_task(_take(locks, "u", log, "c", 0))
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(first, last)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert log == ["a in", "a out", "c in", "c out"]
    assert len(locks) == 0


async def test_a_waiter_cancelled_after_being_handed_the_lock_passes_it_on() -> None:
    locks = KeyedLocks()
    log: list[str] = []
    holder = locks.hold("u")
    await holder.__aenter__()
    handed = asyncio.create_task(_take(locks, "u", log, "b", 0))
    await asyncio.sleep(0)
    after = asyncio.create_task(_take(locks, "u", log, "c", 0))
    await asyncio.sleep(0)
    await holder.__aexit__(None, None, None)  # hands the lock to b ...
    handed.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await handed
    await after
    assert log == ["c in", "c out"]
    assert len(locks) == 0
