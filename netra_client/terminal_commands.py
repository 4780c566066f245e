"""The thread commands of `netra-ws chat`: list and search threads, show a thread and page
back through it, rename and delete it, and find the answer `/regenerate` writes again."""

from __future__ import annotations

from rich.text import Text

from netra_client.chat_stream import AnswerStream
from netra_client.chat_view import history_lines, threads_table
from netra_client.client import NetraClient
from netra_client.terminal_io import Screen
from schemas.chat import HistoryMessage, HistoryResult

HISTORY_PAGE = 20
THREADS_PAGE = 20


class ThreadCommands:
    def __init__(self, client: NetraClient, screen: Screen, answers: AnswerStream, prompt: str):
        self.client = client
        self.screen = screen
        self.answers = answers
        self.prompt = prompt
        # Paging back through a shown thread: which one, its oldest message shown, and
        # whether older ones exist.
        self._paged: str | None = None
        self._oldest: str | None = None
        self._has_more = False

    def _current(self) -> str | None:
        if self.answers.thread_id is None:
            self.screen.status("no thread yet: send a message, or /open ID (see /threads)")
        return self.answers.thread_id

    async def threads(self, query: str) -> None:
        page = await self.client.threads(limit=THREADS_PAGE, query=query or None)
        if not page.threads and query:
            self.screen.status(f"no thread matches {query!r}")
            return
        more = page.next_before is not None
        self.screen.say(threads_table(page.threads, self.answers.thread_id, more))

    async def history(self, thread_id: str | None = None) -> None:
        """The newest page of a thread (the current one by default), which becomes current."""
        target = thread_id or self._current()
        if target is None:
            return
        page = await self.client.history(target, limit=HISTORY_PAGE)
        self.answers.thread_id = target
        if not page.messages:
            self.screen.say(Text("this thread is empty", style="dim"))
        self._show(target, page)

    async def more(self) -> None:
        """The page before the oldest message shown; the newest page if none was shown."""
        target = self._current()
        if target is None:
            return
        if self._paged != target or self._oldest is None:
            await self.history(target)
            return
        if not self._has_more:
            self.screen.status("no older messages")
            return
        page = await self.client.history(target, limit=HISTORY_PAGE, before=self._oldest)
        self.screen.say(Text(f"── {len(page.messages)} older messages ──", style="dim"))
        self._show(target, page)

    def _show(self, thread_id: str, page: HistoryResult) -> None:
        for line in history_lines(page.messages, self.prompt):
            self.screen.say(line)
        self._paged, self._has_more = thread_id, page.has_more
        if page.messages:
            self._oldest = page.messages[0].id
        if page.has_more:
            self.screen.status("older messages: /more")

    async def rename(self, title: str) -> None:
        if not title:
            self.screen.status("usage: /rename TITLE", "yellow")
            return
        if (target := self._current()) is not None:
            thread = (await self.client.rename_thread(target, title)).thread
            self.screen.status(f"renamed: {thread.title}")

    async def delete(self) -> None:
        target = self._current()
        if target is None:
            return
        # Forgotten first, so its chat:thread_deleted is not news to this terminal.
        self.answers.thread_id = None
        try:
            await self.client.delete_thread(target)
        except BaseException:
            self.answers.thread_id = target
            raise
        self.screen.status(f"deleted thread {target}; the next message starts a new thread")

    async def last_answer(self) -> HistoryMessage | None:
        """The current thread's newest answer, for /regenerate."""
        target = self._current()
        if target is None:
            return None
        messages = (await self.client.history(target, limit=10)).messages
        answer = next((m for m in reversed(messages) if m.role == "assistant"), None)
        if answer is None:
            self.screen.status("nothing to regenerate: this thread has no answer yet")
        return answer
