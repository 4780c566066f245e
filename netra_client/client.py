"""`NetraClient`: typed calls on top of the connection, and `run_prompt` for one whole turn."""

from __future__ import annotations

import asyncio
import time
import uuid
from types import TracebackType
from typing import Literal, Self, TypeVar

from pydantic import BaseModel, ValidationError

from netra_client.connection import SocketSession
from netra_client.errors import NetraError
from netra_client.transcript import RunCollector, RunTranscript
from schemas.chat import (
    ChatExamples,
    ChatHistory,
    ChatSend,
    ChatStop,
    ChatThreads,
    ExamplesResult,
    HistoryResult,
    SendResult,
    StopResult,
    ThreadsResult,
)
from schemas.registry import CHAT, SYSTEM
from schemas.system import AuthRefreshResult, PingResult, SystemAuthRefresh, SystemPing

_Payload = TypeVar("_Payload", bound=BaseModel)


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

    async def threads(self) -> ThreadsResult:
        return await self._call(CHAT, "chat:threads", ChatThreads(), ThreadsResult)

    async def history(
        self, thread_id: str, limit: int = 50, before: str | None = None
    ) -> HistoryResult:
        """Messages of a thread, oldest first; `before` pages back from a message id."""
        payload = _build(ChatHistory, thread_id=thread_id, limit=limit, before=before)
        return await self._call(CHAT, "chat:history", payload, HistoryResult)

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
        self, text: str, thread_id: str | None = None, timeout_s: float = 60
    ) -> RunTranscript:
        """Send `text` and wait for its run to complete, fail or stop.

        Raises NetraError("timeout") when the run has not ended within `timeout_s`.
        """
        collector = RunCollector()
        untrack = self._track(collector)
        client_msg_id = str(uuid.uuid4())
        try:
            async with asyncio.timeout(timeout_s):
                sent = await self.send(text, thread_id, client_msg_id)
                collector.bind(sent)
                await collector.finished.wait()
        except TimeoutError:
            raise NetraError(
                "timeout", f"the run did not end within {timeout_s:g} s", {"text": text[:100]}
            ) from None
        finally:
            untrack()
        return collector.transcript(client_msg_id)


def _build(model: type[_Payload], **fields: object) -> _Payload:
    """A client payload, checked here so a mistake fails before it reaches the wire."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise NetraError("invalid_payload", problems) from None
