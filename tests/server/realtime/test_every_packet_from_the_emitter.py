"""Every Socket.IO packet the server sends leaves through the Emitter: connect replies and
refusals, hello and ready, user-stream events and replays, acks (ok and error), error events,
answers to bad frames, room and namespace sends.

Each packet reaching python-engineio's `send_packet` (where every server MESSAGE goes), or the
engine's `send_packets` (a replay's batch), is recorded with whether the Emitter was sending
it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from engineio import packet as eio_packet

from schemas.system import SystemNotice
from server.app_keys import CONTEXT, SIO
from server.realtime.emitter import EMITTING
from tests.conftest import SettingsFactory
from tests.harness import LiveServer, connect, live_server, refusal, send_chat, wait_run_end
from tests.raw_engineio import connect_packet, raw_socket


@pytest.fixture
async def watched(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[LiveServer, list[tuple[str, bool]]]]:
    async with live_server(make_settings()) as server:
        engine = server.app[SIO].eio
        sent: list[tuple[str, bool]] = []
        original = engine.send_packet

        async def send_packet(eio_sid: str, pkt: eio_packet.Packet) -> Any:
            if pkt.packet_type == eio_packet.MESSAGE:
                sent.append((str(pkt.data)[:40], EMITTING.get()))
            return await original(eio_sid, pkt)

        original_batch = engine.send_packets

        async def send_packets(eio_sid: str, pkts: list[eio_packet.Packet]) -> Any:
            sent.extend((str(pkt.data)[:40], EMITTING.get()) for pkt in pkts)
            return await original_batch(eio_sid, pkts)

        monkeypatch.setattr(engine, "send_packet", send_packet)
        monkeypatch.setattr(engine, "send_packets", send_packets)
        yield server, sent


async def test_every_packet_leaves_through_the_emitter(
    watched: tuple[LiveServer, list[tuple[str, bool]]],
) -> None:
    server, sent = watched
    token = await server.token("alice")
    client, recorder = await connect(server, ["/system", "/chat"], {"token": token})
    try:
        await recorder.wait_for("/chat", "chat:ready")
        ack = await send_chat(client, "count to 3")
        await wait_run_end(recorder, ack["run_id"])
        await client.call("system:ping", {"client_time": 1}, namespace="/system")
        await client.call("system:nope", {}, namespace="/system")  # error ack
        await client.emit("system:ping", {"bad": 1}, namespace="/system")  # error event
        ctx = server.app[CONTEXT]
        await ctx.emitter.to_namespace(SystemNotice(level="info", text="hi"))
        await ctx.emitter.to_room(client.get_sid("/system"), SystemNotice(level="info", text="r"))
        await recorder.wait_for("/system", "system:notice", count=2)
        # A resume: replayed events, then ready.
        ready = recorder.of("/chat", "chat:ready")[0]
        last = max(
            d["seq"] for n, d in recorder.events["/chat"] if isinstance(d, dict) and "seq" in d
        )
        again, replayed = await connect(
            server,
            ["/chat"],
            {"token": token, "resume": {"epoch": ready["epoch"], "last_seq": last - 2}},
        )
        await replayed.wait_for("/chat", "chat:ready")
        await again.disconnect()
    finally:
        await client.disconnect()
    await refusal(server, "/chat", {"token": "nope"})
    async with raw_socket(server.url) as raw:
        await raw.send(connect_packet("/nowhere", None))
        await raw.receive("4/nowhere,")
        await raw.send(f'2/chat,7["chat:send",{{"client_msg_id":"{uuid.uuid4()}","text":"x"}}]')
        await raw.receive("3/chat,7")  # unauthorized: /chat not joined

    kinds = {text[:1] for text, _ in sent}
    assert kinds >= {"0", "2", "3", "4"}  # connect replies, events, acks, connect errors
    assert len(sent) > 20
    strays = [text for text, through_emitter in sent if not through_emitter]
    assert strays == []
    counted = server.app[CONTEXT].metrics.registry.get_sample_value("netra_packets_out_total")
    assert counted == len(sent)
