"""`NetraClient`: typed calls on top of the connection, and `run_prompt` / `run_regenerate`
for one whole turn."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Literal, Self, TypeVar

from pydantic import BaseModel, JsonValue, ValidationError

from netra_client.connection import SocketSession
from netra_client.errors import NetraError
from netra_client.transcript import RunCollector, RunTranscript
from schemas.chat import (
    AgentApprovalRequested,
    ApproveResult,
    ChatApprove,
    ChatDeleteThread,
    ChatExamples,
    ChatHistory,
    ChatRegenerate,
    ChatRenameThread,
    ChatSend,
    ChatStop,
    ChatThreads,
    DeleteThreadResult,
    ExamplesResult,
    HistoryResult,
    RegenerateResult,
    RenameThreadResult,
    SendResult,
    StopResult,
    ThreadsResult,
)
from schemas.registry import CHAT, SYSTEM
from schemas.system import AuthRefreshResult, PingResult, SystemAuthRefresh, SystemPing

_Payload = TypeVar("_Payload", bound=BaseModel)

# Answers one approval request of a run: True approves the call, False denies it.
ApprovalPolicy = Callable[[AgentApprovalRequested], bool | Awaitable[bool]]


class NetraClient(SocketSession):
    """A typed netra-ws client: one Socket.IO connection to /chat and /system.

    `token` is a token string or an async function returning one; the function is called on
    every (re)connect. Use as `async with NetraClient(url, token) as client: ...`.
    """

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # /chat

    async def send(
        self,
        text: str,
        thread_id: str | None = None,
        client_msg_id: str | uuid.UUID | None = None,
        source: Literal["typed", "example"] = "typed",
    ) -> SendResult:
        """Send a message; no thread_id starts a new thread.

        Retrying with the same `client_msg_id` is safe: the server answers `duplicate=True`
        with the first message's ids instead of storing it twice.
        """
        msg_id = client_msg_id if client_msg_id is not None else uuid.uuid4()
        payload = _build(
            ChatSend, client_msg_id=msg_id, thread_id=thread_id, text=text, source=source
        )
        return await self._call(CHAT, "chat:send", payload, SendResult)

    async def stop(self, run_id: str) -> StopResult:
        """Stop a running answer; `stopped=False` when it had already finished."""
        return await self._call(CHAT, "chat:stop", _build(ChatStop, run_id=run_id), StopResult)

    async def threads(
        self, limit: int = 50, before: str | None = None, query: str | None = None
    ) -> ThreadsResult:
        """One page of threads, most recently active first.

        Pass the page's `next_before` as `before` for the next one (None: the last page);
        `query` matches titles and message text.
        """
        payload = _build(ChatThreads, limit=limit, before=before, query=query)
        return await self._call(CHAT, "chat:threads", payload, ThreadsResult)

    async def history(
        self, thread_id: str, limit: int = 50, before: str | None = None
    ) -> HistoryResult:
        """The newest `limit` messages of a thread (before message id `before`), oldest first.

        `has_more`: older ones exist; ask again with `before` set to the first message's id.
        """
        payload = _build(ChatHistory, thread_id=thread_id, limit=limit, before=before)
        return await self._call(CHAT, "chat:history", payload, HistoryResult)

    async def regenerate(
        self, message_id: str, client_msg_id: str | uuid.UUID | None = None
    ) -> RegenerateResult:
        """Answer again the user message that assistant message `message_id` answered.

        The earlier answers stay in the history with the same `reply_to`. Retrying with the
        same `client_msg_id` answers `duplicate=True` and starts nothing.
        """
        msg_id = client_msg_id if client_msg_id is not None else uuid.uuid4()
        payload = _build(ChatRegenerate, client_msg_id=msg_id, message_id=message_id)
        return await self._call(CHAT, "chat:regenerate", payload, RegenerateResult)

    async def approve(
        self,
        run_id: str,
        call_id: str,
        approved: bool,
        args: dict[str, JsonValue] | None = None,
    ) -> ApproveResult:
        """Answer an `agent:approval_requested`; `args` replaces the call's arguments.

        A call already answered (in another tab) or expired is `not_found`.
        """
        payload = _build(ChatApprove, run_id=run_id, call_id=call_id, approved=approved, args=args)
        return await self._call(CHAT, "chat:approve", payload, ApproveResult)

    async def rename_thread(self, thread_id: str, title: str) -> RenameThreadResult:
        payload = _build(ChatRenameThread, thread_id=thread_id, title=title)
        return await self._call(CHAT, "chat:rename_thread", payload, RenameThreadResult)

    async def delete_thread(self, thread_id: str) -> DeleteThreadResult:
        """Delete a thread and its messages (every tab gets `chat:thread_deleted`)."""
        payload = _build(ChatDeleteThread, thread_id=thread_id)
        return await self._call(CHAT, "chat:delete_thread", payload, DeleteThreadResult)

    async def examples(self) -> ExamplesResult:
        return await self._call(CHAT, "chat:examples", ChatExamples(), ExamplesResult)

    # /system

    async def ping(self) -> PingResult:
        """A round trip; `client_time` (ms since the epoch) comes back with the server's time."""
        payload = _build(SystemPing, client_time=time.time() * 1000)
        return await self._call(SYSTEM, "system:ping", payload, PingResult)

    async def auth_refresh(self, token: str) -> AuthRefreshResult:
        """Hand the server a new token for the same user before the current one expires.

        A client built with a plain token string also reconnects with this one from now on.
        """
        payload = _build(SystemAuthRefresh, token=token)
        result = await self._call(SYSTEM, "system:auth_refresh", payload, AuthRefreshResult)
        if isinstance(self._token, str):
            self._token = token
        return result

    # One whole turn

    async def run_prompt(
        self,
        text: str,
        thread_id: str | None = None,
        timeout_s: float = 60,
        approve: ApprovalPolicy | None = None,
    ) -> RunTranscript:
        """Send `text` and wait for its run to complete, fail or stop.

        `approve` answers each of the run's approval requests (True approves); without it
        they are left to another tab or to expire. Raises NetraError("timeout") when the run
        has not ended within `timeout_s`.
        """
        client_msg_id = str(uuid.uuid4())
        return await self._run(
            lambda: self.send(text, thread_id, client_msg_id),
            client_msg_id,
            timeout_s,
            approve,
            {"text": text[:100]},
        )

    async def run_regenerate(
        self, message_id: str, timeout_s: float = 60, approve: ApprovalPolicy | None = None
    ) -> RunTranscript:
        """Regenerate the answer `message_id` and wait for the new run, as `run_prompt` does."""
        client_msg_id = str(uuid.uuid4())
        return await self._run(
            lambda: self.regenerate(message_id, client_msg_id),
            client_msg_id,
            timeout_s,
            approve,
            {"message_id": message_id},
        )

    async def _run(
        self,
        start: Callable[[], Awaitable[SendResult | RegenerateResult]],
        client_msg_id: str,
        timeout_s: float,
        approve: ApprovalPolicy | None,
        about: dict[str, str],
    ) -> RunTranscript:
        collector = RunCollector()
        untrack = self._track(collector)
        try:
            async with asyncio.timeout(timeout_s):
                started = await start()
                collector.bind(started)
                while (request := await collector.next_request()) is not None:
                    if approve is not None:
                        await self._answer(request, approve)
        except TimeoutError:
            raise NetraError(
                "timeout", f"the run did not end within {timeout_s:g} s", about
            ) from None
        finally:
            untrack()
        return collector.transcript(client_msg_id)

    async def _answer(self, request: AgentApprovalRequested, policy: ApprovalPolicy) -> None:
        decision = policy(request)
        approved = await decision if inspect.isawaitable(decision) else decision
        try:
            await self.approve(request.run_id, request.call_id, approved)
        except NetraError as exc:
            if exc.code != "not_found":  # answered in another tab, or expired: nothing to do
                raise


def _build(model: type[_Payload], **fields: object) -> _Payload:
    """A client payload, checked here so a mistake fails before it reaches the wire."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise NetraError("invalid_payload", problems) from None
