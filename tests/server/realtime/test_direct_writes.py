"""A packet sent to a connection whose writer is idle is written at once, without waking the
writer's task; one sent while others still wait in the queue goes behind them."""

from __future__ import annotations

from schemas.registry import SYSTEM
from server.app_keys import SIO
from server.realtime.packets import event_packet
from tests.conftest import SettingsFactory
from tests.harness import connect, live_server, until


def _notice(n: int) -> object:
    return event_packet(SYSTEM, "system:notice", {"level": "info", "text": str(n)})


async def test_packets_arrive_in_the_order_sent_whichever_way_they_leave(
    make_settings: SettingsFactory,
) -> None:
    async with live_server(make_settings()) as server:
        client, recorder = await connect(server, [SYSTEM], {"token": await server.token("ann")})
        try:
            await recorder.wait_for(SYSTEM, "system:hello")
            engine = server.app[SIO].eio
            eio_sid = client.eio.sid
            socket = engine.sockets[eio_sid]
            await until(lambda: eio_sid in engine._idle_writers)

            # Written at once: nothing is left in the queue for the writer.
            await engine.send_packet(eio_sid, _notice(0))
            assert socket.queue.qsize() == 0
            await recorder.wait_for(SYSTEM, "system:notice")

            # Three queued together, then one more before the writer has run: it must not
            # overtake them.
            await until(lambda: eio_sid in engine._idle_writers)
            await engine.send_packets(eio_sid, [_notice(n) for n in (1, 2, 3)])
            await engine.send_packet(eio_sid, _notice(4))
            notices = await recorder.wait_for(SYSTEM, "system:notice", count=5)
            assert [notice["text"] for notice in notices] == ["0", "1", "2", "3", "4"]
        finally:
            await client.disconnect()
