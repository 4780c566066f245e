"""An Engine.IO connection's outbound queue: `asyncio.Queue`'s interface (unbounded), with
nothing allocated while it is empty and nobody waits.

`asyncio.Queue` holds three deques and an `Event` with a fourth, about 3 KB per connection,
empty or not. Here the items' deque exists only while there are items, and the futures of
`get` and `join` only while someone waits. Same behaviour as `asyncio.Queue` for what
python-engineio and the websocket writer use: FIFO order, `get` wakes one getter per item,
a cancelled `get` passes its wakeup on, `join` waits for a `task_done` per item.

Its consumer need not wait on it: one that registers with `notify` is told of every packet
queued (the websocket writer, which runs only while there is something to write).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Protocol


class Consumer(Protocol):
    def queued(self) -> None:
        """A packet was put on the queue (it is there when this runs)."""


class PacketQueue:
    __slots__ = ("_consumer", "_getters", "_items", "_joiners", "_unfinished")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._getters: list[asyncio.Future[None]] | None = None
        self._joiners: list[asyncio.Future[None]] | None = None
        self._unfinished = 0
        self._consumer: Consumer | None = None

    def notify(self, consumer: Consumer | None) -> None:
        """Tell `consumer` of each packet put from now on (None: nobody)."""
        self._consumer = consumer

    def qsize(self) -> int:
        return 0 if self._items is None else len(self._items)

    def empty(self) -> bool:
        return self._items is None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._unfinished += 1
        self._wake_getter()
        if self._consumer is not None:
            self._consumer.queued()

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        items = self._items
        if items is None:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None
        return item

    async def get(self) -> Any:
        while self._items is None:
            getter = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                if self._getters is not None and getter in self._getters:
                    self._getters.remove(getter)
                if self._items is not None and not getter.cancelled():
                    self._wake_getter()  # woken, then cancelled: the item is someone else's
                raise
            finally:
                if self._getters is not None and not self._getters:
                    self._getters = None
        return self.get_nowait()

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._joiners is not None:
            joiners, self._joiners = self._joiners, None
            for joiner in joiners:
                if not joiner.done():
                    joiner.set_result(None)

    async def join(self) -> None:
        if self._unfinished > 0:
            joiner = asyncio.get_running_loop().create_future()
            if self._joiners is None:
                self._joiners = []
            self._joiners.append(joiner)
            await joiner

    def _wake_getter(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                break
        if getters is not None and not getters:
            self._getters = None
