"""An event loop in a thread of its own, for synchronous tests (Hypothesis) that hand it the
coroutines driving one live server kept for a whole module."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
ExceptionHandler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]

CALL_TIMEOUT_S = 10.0
START_STOP_TIMEOUT_S = 30.0


class LoopThread:
    def __init__(
        self, name: str, on_exception: ExceptionHandler, call_timeout_s: float = CALL_TIMEOUT_S
    ) -> None:
        self.call_timeout_s = call_timeout_s
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(on_exception)
        self.thread = threading.Thread(target=self.loop.run_forever, name=name)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(self.call_timeout_s if timeout is None else timeout)

    @contextmanager
    def running(
        self,
        start: Callable[[], Coroutine[Any, Any, None]],
        stop: Callable[[], Coroutine[Any, Any, None]],
    ) -> Iterator[None]:
        """The loop runs, `start` has run on it; on the way out `stop`, then the loop ends."""
        self.thread.start()
        try:
            self.run(start(), timeout=START_STOP_TIMEOUT_S)
            yield
        finally:
            try:
                self.run(stop(), timeout=START_STOP_TIMEOUT_S)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(10)
                self.loop.close()


@contextmanager
def without_ws_environment() -> Iterator[None]:
    """For module-scoped fixtures, which the per-test environment cleaner does not reach."""
    with pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith("WS_")]:
            env.delenv(name)
        yield
