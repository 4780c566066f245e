"""Which of our threads an AG-UI threadId names.

One of the user's own thread ids names that thread. Any other id is the client's own: its
first run starts a new thread, and this node remembers which (the newest `max_entries`, for
the life of the process). A client that keeps its conversation across nodes or restarts uses
our thread id, sent in the `netra.run` custom event, as its threadId from then on.
"""

from __future__ import annotations

from collections import OrderedDict

from server.stores.chat_store import ChatStore, NotFoundError

MAX_ENTRIES = 10_000


class ThreadMap:
    def __init__(self, store: ChatStore, max_entries: int = MAX_ENTRIES) -> None:
        self._store = store
        self._max_entries = max_entries
        self._threads: OrderedDict[tuple[str, str], str] = OrderedDict()

    async def resolve(self, user_id: str, agui_thread_id: str) -> str | None:
        """Our thread the AG-UI thread is, or None for one not started yet."""
        try:
            await self._store.get_thread(user_id, agui_thread_id)
        except NotFoundError:
            key = (user_id, agui_thread_id)
            thread_id = self._threads.get(key)
            if thread_id is not None:
                self._threads.move_to_end(key)
            return thread_id
        return agui_thread_id

    def remember(self, user_id: str, agui_thread_id: str, thread_id: str) -> None:
        if agui_thread_id == thread_id:
            return
        self._threads[(user_id, agui_thread_id)] = thread_id
        self._threads.move_to_end((user_id, agui_thread_id))
        while len(self._threads) > self._max_entries:
            self._threads.popitem(last=False)
