"""A user's threads: one page at a time or searched, renamed, deleted; every change reaches
every tab of the user through the stream."""

from __future__ import annotations

import asyncio

from schemas.ack import ErrorCode
from schemas.chat import ChatThreadDeleted, ChatThreadUpdated, ThreadsResult, ThreadView
from server.chat.runs import RunRegistry
from server.cluster.run_control import RunControl
from server.errors import AppError
from server.realtime.emitter import Emitter
from server.stores.chat_records import ThreadRecord
from server.stores.chat_store import ChatStore, NotFoundError

_NO_THREAD = "No such thread"
# How long a delete waits for answers it stopped on other nodes to end.
_REMOTE_STOP_WAIT_S = 5.0


def thread_view(record: ThreadRecord) -> ThreadView:
    return ThreadView(
        id=record.id, title=record.title, created_at=record.created_at, updated_at=record.updated_at
    )


class Threads:
    def __init__(
        self,
        store: ChatStore,
        emitter: Emitter,
        runs: RunRegistry,
        control: RunControl | None = None,
    ) -> None:
        self._store = store
        self._emitter = emitter
        self._runs = runs
        self._control = control

    async def page(
        self, user_id: str, limit: int, before: str | None, query: str | None
    ) -> ThreadsResult:
        try:
            page = await self._store.list_threads(user_id, limit=limit, before=before, query=query)
        except NotFoundError:
            raise AppError(ErrorCode.NOT_FOUND, "No such thread to page from") from None
        return ThreadsResult(
            threads=[thread_view(t) for t in page.threads], next_before=page.next_before
        )

    async def rename(self, user_id: str, thread_id: str, title: str) -> ThreadView:
        title = " ".join(title.split())
        if not title:
            raise AppError(ErrorCode.INVALID_PAYLOAD, "A title needs more than spaces")
        try:
            record = await self._store.rename_thread(
                user_id=user_id, thread_id=thread_id, title=title
            )
        except NotFoundError:
            raise AppError(ErrorCode.NOT_FOUND, _NO_THREAD) from None
        view = thread_view(record)
        await self._emitter.to_user(user_id, ChatThreadUpdated(thread=view))
        return view

    async def delete(self, user_id: str, thread_id: str) -> None:
        try:
            running = await self._store.streaming_runs(user_id=user_id, thread_id=thread_id)
        except NotFoundError:
            raise AppError(ErrorCode.NOT_FOUND, _NO_THREAD) from None
        # A running answer is stopped and has stored its outcome before its thread goes.
        local = [run for run in self._runs.in_thread(thread_id) if run.user_id == user_id]
        for run in local:
            if run.task is not None:
                run.task.cancel()
                await asyncio.gather(run.task, return_exceptions=True)
        remote = set(running) - {run.run_id for run in local}
        if remote and self._control is not None:
            for run_id in remote:
                await self._control.stop(user_id, run_id)
            await self._until_ended(user_id, thread_id)
        try:
            await self._store.delete_thread(user_id=user_id, thread_id=thread_id)
        except NotFoundError:
            raise AppError(ErrorCode.NOT_FOUND, _NO_THREAD) from None
        await self._emitter.to_user(user_id, ChatThreadDeleted(thread_id=thread_id))

    async def _until_ended(self, user_id: str, thread_id: str) -> None:
        """Wait (a while at most) for answers stopped on other nodes to store their end."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _REMOTE_STOP_WAIT_S
        while loop.time() < deadline:
            if not await self._store.streaming_runs(user_id=user_id, thread_id=thread_id):
                return
            await asyncio.sleep(0.05)
