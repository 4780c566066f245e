"""The AG-UI runs streaming to socket connections (/agui): at most one per connection.

Kept here, not on the namespace (one namespace object serves every connection): each stream
is a task keyed by the connection's sid, cancelled when the connection closes and when the
server stops, so its `Emitter.listen` listener is removed with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class SocketStreams:
    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def busy(self, sid: str) -> bool:
        task = self._tasks.get(sid)
        return task is not None and not task.done()

    def start(self, sid: str, stream: Coroutine[Any, Any, None]) -> None:
        """Run `stream` for the connection; the caller has checked it is not `busy`."""
        task = asyncio.create_task(stream, name=f"agui-stream-{sid}")
        self._tasks[sid] = task
        task.add_done_callback(lambda done: self._forget(sid, done))

    def stop(self, sid: str) -> None:
        task = self._tasks.pop(sid, None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._tasks)

    def _forget(self, sid: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(sid) is task:
            del self._tasks[sid]
