"""The limit bookkeeping on its own: bucket arithmetic, clean-up, the outbound allowance."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.realtime.engine import SLOW_CONSUMER, GuardedEngine
from server.realtime.limits import ConnectionCap, RateLimiter
from tests.conftest import SettingsFactory


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_connection_gets_its_burst_then_one_event_per_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(60, 2, 600, 20, clock)
    assert limiter.take("s", "c", "u") is None
    assert limiter.take("s", "c", "u") is None
    throttled = limiter.take("s", "c", "u")
    assert throttled is not None
    assert throttled.retry_after_s == pytest.approx(1.0)
    assert throttled.first
    clock.now += 0.25
    again = limiter.take("s", "c", "u")
    assert again is not None
    assert again.retry_after_s == pytest.approx(0.75)  # refused events took nothing
    assert not again.first
    clock.now += 0.75
    assert limiter.take("s", "c", "u") is None
    clock.now += 60
    for _ in range(2):  # never more than the burst, however long the pause
        assert limiter.take("s", "c", "u") is None
    assert limiter.take("s", "c", "u") is not None


def test_the_user_bucket_spans_connections() -> None:
    clock = Clock()
    limiter = RateLimiter(600, 10, 60, 3, clock)
    for connection in ("c1", "c2", "c3"):
        assert limiter.take(connection + "-sid", connection, "alice") is None
    assert limiter.take("c4-sid", "c4", "alice") is not None
    assert limiter.take("b-sid", "b", "bob") is None


def test_state_goes_with_the_connections_and_users_keep_a_drained_bucket() -> None:
    clock = Clock()
    limiter = RateLimiter(60, 2, 60, 2, clock)
    limiter.take("chat", "c", "alice")
    limiter.take("system", "c", "alice")
    assert limiter.tracked() == (2, 1, 1)
    limiter.forget("chat")
    assert limiter.tracked() == (1, 1, 1)
    limiter.forget("system")
    # Reconnecting at once must not refill the user's allowance...
    assert limiter.tracked() == (0, 0, 1)
    assert limiter.take("new", "c2", "alice") is not None
    limiter.forget("new")
    # ...but once full again it is dropped at the next clean-up.
    clock.now += 10
    limiter.take("x", "c3", "bob")
    limiter.forget("x")
    assert limiter.tracked() == (0, 0, 1)  # bob's own bucket is not full yet
    clock.now += 10
    limiter.take("y", "c4", "carol")
    limiter.forget("y")
    assert limiter.tracked()[2] == 1  # alice and bob pruned, carol's bucket drained


def test_settings_derive_bursts(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    assert (settings.connection_burst, settings.user_rate_per_min, settings.user_burst) == (
        60,
        1800,
        180,
    )
    tuned = make_settings(rate_limit_per_min=100, rate_limit_burst=7, user_rate_limit_per_min=250)
    assert (tuned.connection_burst, tuned.user_burst) == (7, 18)


def test_connection_cap_counts_per_namespace_and_user() -> None:
    cap = ConnectionCap(2)
    assert cap.claim("/chat", "alice", "a")
    assert cap.claim("/chat", "alice", "b")
    assert not cap.claim("/chat", "alice", "c")
    assert cap.claim("/system", "alice", "d")
    assert cap.claim("/chat", "bob", "e")
    cap.release("/chat", "alice", "a")
    assert cap.claim("/chat", "alice", "c")
    for sid in ("b", "c"):
        cap.release("/chat", "alice", sid)
    assert cap.count("/chat", "alice") == 0


class _Socket:
    def __init__(self, queued: int) -> None:
        self.sid = "eio"
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        for n in range(queued):
            self.queue.put_nowait(n)
        self.closed_with: str | None = None

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        self.closed_with = reason


async def test_a_deliberate_burst_is_forgiven_until_the_queue_drains() -> None:
    engine = GuardedEngine(async_mode="aiohttp", max_outbound_queue=10)
    socket = _Socket(queued=30)
    engine.sockets["eio"] = socket
    engine.expect_burst("eio", 25)
    engine.check_backlog("eio")
    await asyncio.sleep(0)
    assert socket.closed_with is None
    for _ in range(25):
        socket.queue.get_nowait()  # drained to 5: the allowance is spent
    engine.check_backlog("eio")
    for n in range(10):
        socket.queue.put_nowait(n)
    engine.check_backlog("eio")  # 15 > 10
    await asyncio.sleep(0.01)
    assert socket.closed_with == SLOW_CONSUMER
    assert "eio" not in engine.sockets  # not a websocket here: nothing else would remove it
