"""Engine.IO guards over real connections: an oversize frame, and a client that stops reading.

Each cuts only the offending connection, with one log line naming why.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from typing import Any

import aiohttp
import socketio

from server.app_keys import SIO
from tests.conftest import SettingsFactory
from tests.harness import LiveServer, connect, counted, live_server, send_chat, until, wait_run_end

NS = "/chat"


async def chat_client(server: LiveServer, user: str) -> tuple[socketio.AsyncClient, Any]:
    client, recorder = await connect(server, [NS, "/system"], {"token": await server.token(user)})
    await recorder.wait_for(NS, "chat:ready")
    return client, recorder


def warnings_about(records: list[dict[str, Any]], reason: str) -> list[str]:
    return [
        r["message"]
        for r in records
        if r["level"] == "WARNING"
        and r["message"].startswith(f"connection closed reason='{reason}'")
    ]


async def test_a_frame_past_the_limit_closes_that_connection_only(
    make_settings: SettingsFactory, log_records: list[dict[str, Any]]
) -> None:
    async with live_server(make_settings(max_payload_bytes=4096)) as server:
        sender, _ = await chat_client(server, "alice")
        bystander, _ = await chat_client(server, "bob")
        secret = "payload-text-" * 600  # ~7.8 kB in one frame
        try:
            await sender.emit(
                "chat:send", {"client_msg_id": str(uuid.uuid4()), "text": secret}, namespace=NS
            )
            await until(lambda: not sender.connected, 5)
            still = await bystander.call("chat:examples", {}, namespace=NS)
            assert still["ok"] is True
        finally:
            await sender.disconnect()
            await bystander.disconnect()

        [line] = warnings_about(log_records, "frame too large")
        assert "limit_bytes=4096" in line
        disconnects = [
            r for r in log_records if r["message"].startswith("disconnected") and r.get("user")
        ]
        assert {
            (r["namespace"], r["user"]) for r in disconnects if "frame too large" in r["message"]
        } == {("/chat", "alice"), ("/system", "alice")}
        assert not any("payload-text" in r["message"] for r in log_records)


def _small_receive_buffer(addr: Any) -> socket.socket:
    # A client that stops reading fills a small window quickly, so the server's writer
    # blocks and its queue grows instead of the kernel absorbing megabytes.
    family, kind, proto, _, _ = addr
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


async def _connect_by_hand(http: aiohttp.ClientSession, server: LiveServer, token: str) -> Any:
    """Engine.IO v4 / Socket.IO v5 spoken by hand: open, CONNECT /chat, wait for chat:ready."""
    url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = await http.ws_connect(url)
    opened = await ws.receive_str()
    assert opened.startswith("0{")
    await ws.send_str("40/chat," + json.dumps({"token": token}))
    while "chat:ready" not in await asyncio.wait_for(ws.receive_str(), 5):
        pass
    return ws


async def test_a_client_that_stops_reading_is_cut_and_others_are_served(
    make_settings: SettingsFactory, log_records: list[dict[str, Any]]
) -> None:
    settings = make_settings(max_outbound_queue=500, delta_flush_ms=0)
    connector = aiohttp.TCPConnector(socket_factory=_small_receive_buffer)
    async with live_server(settings) as server, aiohttp.ClientSession(connector=connector) as http:
        reader, recorder = await chat_client(server, "bob")
        ws = await _connect_by_hand(http, server, await server.token("slow"))
        engine = server.app[SIO].eio
        [slow_sid] = [sid for sid in engine.sockets if sid != reader.eio.sid]
        try:
            for _ in range(6):
                body = {"client_msg_id": str(uuid.uuid4()), "text": "count to 10000"}
                await ws.send_str("42/chat," + json.dumps(["chat:send", body]))
            # Bob streams the same amount meanwhile, reading as he goes.
            run = await send_chat(reader, "count to 10000")
            # ...and from here the slow client reads nothing.
            await until(lambda: slow_sid not in engine.sockets, 30)
            name, done = await wait_run_end(recorder, run["run_id"], within_s=60)
            assert name == "agent:run_completed"
            assert done["message"]["text"] == counted(10000)
            assert (await reader.call("chat:examples", {}, namespace=NS))["ok"] is True
        finally:
            await ws.close()
            await reader.disconnect()

    [line] = warnings_about(log_records, "slow consumer")
    assert f"eio_sid={slow_sid}" in line
    waiting = int(line.split("waiting=")[1].split()[0])
    assert waiting > 500
    assert any(
        r["message"].startswith("disconnected")
        and r.get("user") == "slow"
        and "slow consumer" in r["message"]
        for r in log_records
    )


async def test_a_resume_replaying_more_than_the_bound_is_not_a_slow_consumer(
    make_settings: SettingsFactory, log_records: list[dict[str, Any]]
) -> None:
    settings = make_settings(max_outbound_queue=20, delta_flush_ms=0)
    async with live_server(settings) as server:
        token = await server.token("alice")
        first, events = await connect(server, [NS], {"token": token})
        [ready] = await events.wait_for(NS, "chat:ready")
        run = await send_chat(first, "count to 200")
        await wait_run_end(events, run["run_id"])
        await first.disconnect()

        resume = {"epoch": ready["epoch"], "last_seq": 0}
        back, back_events = await connect(server, [NS], {"token": token, "resume": resume})
        try:
            # Everything is queued at once, then a live stream follows right away.
            [again] = await back_events.wait_for(NS, "chat:ready")
            assert again["recovery"] == "recovered"
            assert again["replayed"] > 200
            more = await send_chat(back, "count to 50")
            name, _ = await wait_run_end(back_events, more["run_id"])
            assert name == "agent:run_completed"
            assert back.connected
        finally:
            await back.disconnect()
    assert not warnings_about(log_records, "slow consumer")
