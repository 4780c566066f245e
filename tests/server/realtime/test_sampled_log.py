from __future__ import annotations

from server.realtime.sampled_log import SampledLog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_written_then_one_line_per_interval_with_the_count_held_back() -> None:
    clock = Clock()
    log = SampledLog(burst=3, per_s=1.0, clock=clock)
    assert [log.admit("k") for _ in range(5)] == [0, 0, 0, None, None]
    clock.now = 1.0
    assert log.admit("k") == 2  # the two held back before it
    assert log.admit("k") is None


def test_keys_have_budgets_of_their_own() -> None:
    clock = Clock()
    log = SampledLog(burst=1, per_s=10.0, clock=clock)
    assert log.admit("a") == 0
    assert log.admit("a") is None
    assert log.admit("b") == 0
