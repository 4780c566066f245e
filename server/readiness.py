"""Readiness checks: each backing service registers one; /readyz runs them all."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Check = Callable[[], Awaitable[None]]

CHECK_TIMEOUT_S = 2.0


class Readiness:
    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

    def register(self, name: str, check: Check) -> None:
        self._checks[name] = check

    def unregister(self, name: str) -> None:
        self._checks.pop(name, None)

    async def run(self) -> dict[str, str]:
        """Each service's state: "ok", or the reason it does not answer."""

        async def one(check: Check) -> str:
            try:
                await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
            except TimeoutError:
                return f"timeout after {CHECK_TIMEOUT_S:g}s"
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"
            return "ok"

        names = list(self._checks)
        results = await asyncio.gather(*(one(self._checks[n]) for n in names))
        return dict(zip(names, results, strict=True))
