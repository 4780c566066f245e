"""A packet sent to a connection whose writer is idle is written at once, without a writer
task; one sent while others still wait in the queue goes behind them, and the writer task,
started for them, ends once they are written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from schemas.registry import SYSTEM
from server.app_keys import SIO
from server.realtime.packets import event_packet
from tests.conftest import SettingsFactory
from tests.harness import connect, live_server, until


def _notice(n: int) -> object:
    return event_packet(SYSTEM, "system:notice", {"level": "info", "text": str(n)})


@asynccontextmanager
async def _idle_connection(make_settings: SettingsFactory) -> AsyncIterator[tuple[Any, str, Any]]:
    """A live server's engine, one client's Engine.IO sid on it, once that connection's
    writer is idle, and the client's recorder."""
    async with live_server(make_settings()) as server:
        client, recorder = await connect(server, [SYSTEM], {"token": await server.token("ann")})
        try:
            await recorder.wait_for(SYSTEM, "system:hello")
            engine = server.app[SIO].eio
            eio_sid = client.eio.sid
            await until(lambda: eio_sid in engine._idle_writers)
            yield engine, eio_sid, recorder
        finally:
            await client.disconnect()


async def test_packets_arrive_in_the_order_sent_whichever_way_they_leave(
    make_settings: SettingsFactory,
) -> None:
    async with _idle_connection(make_settings) as (engine, eio_sid, recorder):
        # Written at once: nothing is left in the queue for the writer.
        await engine.send_packet(eio_sid, _notice(0))
        assert engine.sockets[eio_sid].queue.qsize() == 0
        await recorder.wait_for(SYSTEM, "system:notice")

        # Three queued together, then one more before the writer has run: it must not
        # overtake them.
        await until(lambda: eio_sid in engine._idle_writers)
        await engine.send_packets(eio_sid, [_notice(n) for n in (1, 2, 3)])
        await engine.send_packet(eio_sid, _notice(4))
        notices = await recorder.wait_for(SYSTEM, "system:notice", count=5)
        assert [notice["text"] for notice in notices] == ["0", "1", "2", "3", "4"]


async def test_packets_sent_while_the_writer_starts_and_ends_arrive_in_order_none_lost(
    make_settings: SettingsFactory,
) -> None:
    async with _idle_connection(make_settings) as (engine, eio_sid, recorder):
        sent = 0
        restarts = 0
        for round_ in range(40):
            # One at once, a burst queued behind it (a writer task starts), one more
            # behind the burst; then the writer runs part of the way, or to its end.
            await engine.send_packet(eio_sid, _notice(sent))
            await engine.send_packets(eio_sid, [_notice(sent + 1), _notice(sent + 2)])
            await engine.send_packet(eio_sid, _notice(sent + 3))
            sent += 4
            if round_ % 3 == 0:
                await asyncio.sleep(0)
            elif round_ % 3 == 1:
                await until(lambda: eio_sid in engine._idle_writers)
                restarts += 1
        notices = await recorder.wait_for(SYSTEM, "system:notice", count=sent)
        assert [notice["text"] for notice in notices] == [str(n) for n in range(sent)]
        assert restarts > 10
        await until(lambda: eio_sid in engine._idle_writers)
        assert engine.sockets[eio_sid].queue.empty()
