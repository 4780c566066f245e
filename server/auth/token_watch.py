"""Token expiry on long-lived connections: warn before it, cut the connection after it.

One timer per connection and namespace, on the loop's timer wheel (no task until a timer
fires), so idle connections cost next to nothing. A refreshed token simply makes the next
check find a later expiry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import socketio
from loguru import logger

from schemas.registry import SYSTEM
from schemas.system import SystemTokenExpiring
from server.realtime.connection import ConnectionState
from server.realtime.emitter import Emitter
from server.realtime.timer_wheel import Timer, timer_wheel

Key = tuple[str, str]  # (namespace, sid)


class TokenWatch:
    def __init__(
        self, sio: socketio.AsyncServer, emitter: Emitter, warn_before_s: float, grace_s: float
    ) -> None:
        self._sio = sio
        self._emitter = emitter
        self._warn_before_s = warn_before_s
        self._grace_s = grace_s
        self._timers: dict[Key, Timer] = {}
        self._states: dict[Key, ConnectionState] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def watch(self, namespace: str, sid: str, state: ConnectionState) -> None:
        """(Re)arm the timers for a connection from its current token expiry."""
        key = (namespace, sid)
        self._states[key] = state
        self._arm(key, warned=False)

    def forget(self, namespace: str, sid: str) -> None:
        key = (namespace, sid)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._states.pop(key, None)

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _arm(self, key: Key, warned: bool) -> None:
        state = self._states.get(key)
        if state is None:
            return
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        now = datetime.now(UTC)
        remaining = (state.token_expires_at - now).total_seconds()
        # A short-lived token is warned at half its remaining life rather than never.
        warn_in = remaining - min(self._warn_before_s, max(remaining, 0) / 2)
        warn = not warned and key[0] == SYSTEM and warn_in > 0
        delay = warn_in if warn else max(remaining, 0) + self._grace_s
        self._timers[key] = timer_wheel().call_later(delay, _Due(self, key, warn))

    def _spawn(self, action: Callable[[Key], Coroutine[Any, Any, None]], key: Key) -> None:
        self._timers.pop(key, None)
        task = asyncio.create_task(action(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _due(self, key: Key, warn: bool) -> None:
        self._spawn(self._warn if warn else self._enforce, key)

    async def _warn(self, key: Key) -> None:
        state = self._states.get(key)
        if state is None:
            return
        payload = SystemTokenExpiring(expires_at=state.token_expires_at)
        await self._emitter.to_connection(key[1], payload)
        self._arm(key, warned=True)

    async def _enforce(self, key: Key) -> None:
        state = self._states.get(key)
        if state is None:
            return
        if state.token_expires_at > datetime.now(UTC):
            self._arm(key, warned=False)  # refreshed meanwhile
            return
        namespace, sid = key
        logger.bind(sid=sid, user=state.principal.id, namespace=namespace).warning(
            "disconnecting namespace={} sid={} user={}: token expired at {} and was not "
            "refreshed within {}s",
            namespace,
            sid,
            state.principal.id,
            state.token_expires_at.isoformat(),
            self._grace_s,
        )
        self.forget(namespace, sid)
        await self._sio.disconnect(sid, namespace=namespace)


class _Due:
    """What a timer runs: the warning or the enforcement for one connection and namespace.
    One small object, where a `partial` of a bound method with a bound method among its
    arguments was three objects and a tuple, held by every connection (docs/performance.md)."""

    __slots__ = ("_key", "_warn", "_watch")

    def __init__(self, watch: TokenWatch, key: Key, warn: bool) -> None:
        self._watch = watch
        self._key = key
        self._warn = warn

    def __call__(self) -> None:
        self._watch._due(self._key, self._warn)
