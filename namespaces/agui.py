"""/agui: AG-UI on the socket. `agui:run` is `POST /api/agui` over the connection: the same
request (a RunAgentInput), acted on the same way (server/agui/runs.py), and its run streamed
back as `agui:event`s, the same AG-UI events the SSE endpoint writes (docs/interop.md).

One AG-UI run streams per connection at a time, as one AG-UI agent runs one run at a time;
the stream ends at the run's outcome or interrupt, when the connection closes, or when the
server stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from loguru import logger

from namespaces.base import BoundHandler, EventNamespace, on
from schemas.ack import ErrorCode
from schemas.agui import AguiEvent, AguiRun, AguiRunResult
from schemas.registry import AGUI_NAMESPACE, AGUI_RUN
from server.agui.runs import AguiRuns
from server.agui.socket_streams import SocketStreams
from server.context import ServerContext
from server.errors import AppError
from server.realtime.connection import ConnectionState


class AguiNamespace(EventNamespace):
    def __init__(self, ctx: ServerContext, runs: AguiRuns, streams: SocketStreams) -> None:
        self.runs = runs
        self.streams = streams
        super().__init__(AGUI_NAMESPACE, ctx)

    def event_handlers(self) -> Sequence[BoundHandler[Any, Any]]:
        return (on(AGUI_RUN, self.run),)

    async def run(self, sid: str, payload: AguiRun) -> AguiRunResult:
        user = (await self.connection(sid)).principal.id
        if self.streams.busy(sid):
            raise AppError(
                ErrorCode.CONFLICT, "An AG-UI run is streaming on this connection; wait for its end"
            )
        acted: asyncio.Future[AguiRunResult] = asyncio.get_running_loop().create_future()
        self.streams.start(sid, self._stream(sid, user, payload, acted))
        return await acted

    async def on_closed(self, sid: str, state: ConnectionState | None, reason: str) -> None:
        self.streams.stop(sid)
        await super().on_closed(sid, state, reason)

    async def _stream(
        self, sid: str, user: str, request: AguiRun, acted: asyncio.Future[AguiRunResult]
    ) -> None:
        """Act on the request (its outcome is the ack), then send the run's events."""
        try:
            async with self.runs.start(user, request) as run:
                if acted.done():
                    return  # the handler is gone
                acted.set_result(AguiRunResult(thread_id=run.thread_id, run_id=run.run_id))
                async for event in run.events:
                    # As the SSE encoder writes it: camelCase, unset fields left out.
                    body = event.model_dump(mode="json", by_alias=True)
                    await self.ctx.emitter.to_connection(sid, AguiEvent.model_validate(body))
        except asyncio.CancelledError:
            acted.cancel()  # no-op once acked
            raise
        except Exception as exc:
            if not acted.done():
                acted.set_exception(exc)  # the ack reports it
                return
            logger.bind(sid=sid, user=user).exception(
                "agui stream failed sid={} user={} run={}", sid, user, request.run_id
            )
