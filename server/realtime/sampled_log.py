"""Log lines that a flood cannot multiply: each kind of line has a budget that refills.

Refusals and dropped frames are logged because an operator needs to see them; anyone can
cause them, though, so each key (say, one refusal code on one namespace) may write `burst`
lines at once and then one per `per_s` seconds. Lines held back are counted, and the next
line written for that key says how many (`suppressed=N`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]

# Keys are bounded by their callers (codes, kinds, namespaces), but never trust that
# enough to grow without end.
_MAX_KEYS = 1024


@dataclass(slots=True)
class _Budget:
    lines: float
    stamp: float
    suppressed: int = 0


class SampledLog:
    def __init__(self, burst: int = 10, per_s: float = 1.0, clock: Clock = time.monotonic) -> None:
        self._burst = float(burst)
        self._rate = 1.0 / per_s
        self._clock = clock
        self._budgets: dict[str, _Budget] = {}

    def admit(self, key: str) -> int | None:
        """None: hold this line back. Otherwise write it, noting the returned number of
        lines held back before it."""
        now = self._clock()
        budget = self._budgets.get(key)
        if budget is None:
            if len(self._budgets) >= _MAX_KEYS:
                self._budgets.clear()
            budget = self._budgets[key] = _Budget(self._burst, now)
        budget.lines = min(self._burst, budget.lines + (now - budget.stamp) * self._rate)
        budget.stamp = now
        if budget.lines < 1:
            budget.suppressed += 1
            return None
        budget.lines -= 1
        held, budget.suppressed = budget.suppressed, 0
        return held
