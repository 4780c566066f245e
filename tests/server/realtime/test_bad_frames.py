"""Frames the protocol does not have, sent raw over a websocket with and without a token.

Each gets a typed answer where it asked for one (an ack id, a connect) and is otherwise
dropped: no traceback, no ERROR line, the connection goes on, and other clients are served.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import socketio

from server.app_keys import SIO
from tests.conftest import SettingsFactory
from tests.harness import LiveServer, connect, live_server
from tests.processes import server_env, serving
from tests.raw_engineio import RawSocket, connect_packet, raw_socket

PING = '42/system,{id}["system:ping",{{"client_time":1}}]'
BINARY_EVENT = '451-/chat,{id}["chat:examples",{{"_placeholder":true,"num":0}}]'
UNANSWERED: list[str | bytes] = [
    '459999999-["x",{"_placeholder":true,"num":0}]',  # declares ten million attachments
    b"\x00" * 1000,  # a binary frame: only ever an attachment
    '43/chat,1[{"ok":true}]',  # an ack: the server never asks a client for one
    '44/chat,{"message":"no"}',  # a connect error: the server's to send
    '{"a":1}',
    "5",
    "6",
    "null",
    "true",
    "hello",
    "4-1",  # python-engineio decodes a MESSAGE's data as JSON when it can
    "4null",
    "7",  # no Engine.IO packet type
    "\u0667",  # ARABIC-INDIC DIGIT SEVEN, which int() reads as 7
]


async def answer_to(raw: RawSocket, frame: str | bytes, marker_id: int) -> list[Any]:
    """What the server sent in reply to `frame`, up to its ack of a ping sent after it:
    every Socket.IO packet in between, decoded."""
    await raw.send_frame(frame)
    await raw.send_frame(PING.format(id=marker_id))
    replies: list[Any] = []
    while True:
        text = await raw.ws.receive_str(timeout=5)
        if text == "2":
            await raw.ws.send_str("3")
        elif text.startswith(f"43/system,{marker_id}"):
            return replies
        else:
            replies.append(text[1:])


def error_ack(reply: str, prefix: str) -> str:
    """The error code of an ack packet starting with `prefix`."""
    assert reply.startswith(prefix), reply
    [ack] = orjson.loads(reply[len(prefix) :])
    assert ack["ok"] is False
    code: str = ack["error"]["code"]
    return code


def metric(text: str, prefix: str) -> float:
    """The sum of the samples of a metric whose line starts with `prefix`."""
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


def assert_quiet(records: list[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    """No ERROR from us or the transport libraries, and no traceback anywhere."""
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not [r for r in records if "Traceback" in r["message"]]


@pytest.mark.parametrize("with_token", [False, True], ids=["no-token", "token"])
async def test_each_bad_frame_is_answered_or_dropped(
    server: LiveServer,
    with_token: bool,
    log_records: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = await server.token("mallory")
    async with raw_socket(server.url) as raw:
        # /system is joined either way, for the marker pings; /chat only with a token.
        await raw.send(connect_packet("/system", token))
        assert "sid" in await raw.receive("0/system,")
        assert (await raw.receive("2/system,"))[0] == "system:hello"
        if with_token:
            await raw.send(connect_packet("/chat", token))
            assert "sid" in await raw.receive("0/chat,")
            assert (await raw.receive("2/chat,"))[0] == "chat:ready"

        # No default namespace, nor any other the server does not have.
        for namespace, packet in [("", "40"), ("/nowhere,", "40/nowhere,{}")]:
            replies = await answer_to(raw, packet, 1)
            [reply] = replies
            assert reply.startswith(f"4{namespace}")  # CONNECT_ERROR
            assert orjson.loads(reply[1 + len(namespace) :])["data"]["code"] == "not_found"

        # Events that ask for an ack get one, typed: unauthorized where /chat was not joined.
        expected = "invalid_payload" if with_token else "unauthorized"
        for event in ["[]", '{"a":1}', "[1]", "[null]"]:
            [reply] = await answer_to(raw, f"42/chat,7{event}", 2)
            assert error_ack(reply, "3/chat,7") == expected

        # A binary event is refused on arrival; its attachment is never waited for.
        replies = await answer_to(raw, BINARY_EVENT.format(id=8), 3)
        if with_token:
            [reply] = replies
            assert error_ack(reply, "3/chat,8") == "invalid_payload"
            assert "Binary" in orjson.loads(reply[len("3/chat,8") :])[0]["error"]["message"]
        else:
            assert replies == []
        assert not server.app[SIO]._binary_packet

        for n, frame in enumerate(UNANSWERED, start=10):
            assert await answer_to(raw, frame, n) == [], frame

        # The connection still works after all of that.
        if with_token:
            ack = await answer_to(raw, '42/chat,99["chat:examples",{}]', 100)
            assert orjson.loads(ack[0][len("3/chat,99") :])[0]["ok"] is True

    bystander, _ = await connect(server, ["/system"], {"token": await server.token("bob")})
    try:
        ack = await bystander.call("system:ping", {"client_time": 1}, namespace="/system")
        assert ack["ok"] is True
    finally:
        await bystander.disconnect()
    assert_quiet(log_records, caplog)
    dropped = [r for r in log_records if r.get("event") == "bad_frame"]
    assert {r["kind"] for r in dropped} >= {
        "unknown_namespace",
        "binary",
        "attachment",
        "unexpected_packet",
        "engineio_garbage",
        "engineio_unexpected",
    }


async def test_a_connection_that_keeps_sending_garbage_is_closed(
    make_settings: SettingsFactory,
    log_records: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with (
        live_server(make_settings(max_bad_frames=5)) as server,
        raw_socket(server.url) as raw,
        raw_socket(server.url) as neighbour,
    ):
        for _ in range(5):
            await raw.send_frame("hello")
        # At the limit: still open.
        await neighbour.send(connect_packet("/system", await server.token()))
        assert (await neighbour.receive("2/system,"))[0] == "system:hello"
        await raw.send_frame("hello")
        assert await raw.closed_within(3)
        [ack] = await answer_to(neighbour, PING.format(id=1), 2)
        assert ack.startswith("3/system,1")
    closes = [r for r in log_records if r.get("event") == "connection_closed"]
    assert [r["reason"] for r in closes] == ["too many bad frames"]
    assert f"eio_sid={raw.eio_sid}" in closes[0]["message"]
    assert_quiet(log_records, caplog)


FLOOD: list[str | bytes] = [
    "hello",
    '{"a":1}',
    "null",
    "43/chat,1[]",
    '42/chat,["x"]',
    b"\x01" * 64,
]


async def test_a_flood_of_bad_frames_writes_a_bounded_log(
    server: LiveServer,
    log_records: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """1,000 frames that are dropped and 1,000 refused connects, all without a token: the
    log holds a few dozen lines that say how many were held back, not 2,000."""
    limit = server.settings.max_bad_frames
    sent = 0
    while sent < 1000:
        async with raw_socket(server.url) as raw:
            for n in range(limit + 1):
                await raw.send_frame(FLOOD[n % len(FLOOD)])
            sent += limit + 1
            assert await raw.closed_within(3)
    async with raw_socket(server.url) as raw:
        for _ in range(1000):
            await raw.send(connect_packet("/chat", None))
        for _ in range(1000):
            refusal = await raw.receive("4/chat,")
            assert refusal["data"]["code"] == "auth_required"

    logged = [r for r in log_records if r["level"] != "INFO"]
    assert sum(len(r["message"]) for r in logged) < 30_000, len(logged)
    assert_quiet(log_records, caplog)
    _, metrics = await server.get_text("/metrics")
    assert metric(metrics, "netra_bad_frames_total") >= 1000
    assert metric(metrics, 'netra_connects_refused_total{code="auth_required"') >= 1000

    # Once the budget refills, the next line says how many were held back.
    await asyncio.sleep(1.1)
    async with raw_socket(server.url) as raw:
        await raw.send_frame("hello")
        await raw.send(connect_packet("/chat", None))
        await raw.receive("4/chat,")
    *_, garbage = [r for r in log_records if r.get("kind") == "engineio_garbage"]
    assert int(garbage["message"].rsplit("suppressed=", 1)[1]) > 100
    *_, refused = [r for r in log_records if r.get("event") == "connect_refused"]
    assert int(refused["message"].rsplit("suppressed=", 1)[1]) > 900
    bystander, _ = await connect(server, ["/system"], {"token": await server.token("bob")})
    try:
        ack = await bystander.call("system:ping", {"client_time": 1}, namespace="/system")
        assert ack["ok"] is True
    finally:
        await bystander.disconnect()


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("with_token", [False, True], ids=["no-token", "token"])
async def test_binary_attachments_are_never_buffered(with_token: bool, tmp_path: Path) -> None:
    """A packet declaring ten million attachments, then 100 MB of 900 KB binary frames over
    connections held open (each stays under the bad-frame limit): the server's memory does
    not grow with them, and it answers other clients throughout."""
    env = server_env(
        WS_DATABASE_URL=f"sqlite:///{tmp_path}/netra.db", WS_CLIENT_DIST=str(tmp_path / "none")
    )
    frame = b"\x00" * 900_000
    per_connection = 19  # with the declaring packet, at the default limit of 20
    async with serving(env) as server, aiohttp.ClientSession() as http:
        live = ProcessServer(server.url, http)
        token = await live.token() if with_token else None
        baseline = rss_bytes(server.process.pid)
        sent = 0
        async with AsyncExitStack() as held:
            while sent < 100_000_000:
                raw = await held.enter_async_context(raw_socket(server.url, http))
                if token is not None:
                    await raw.send(connect_packet("/chat", token))
                    assert "sid" in await raw.receive("0/chat,")
                    namespace = "/chat,"
                else:
                    await raw.send("0")  # the default namespace, once open to anyone
                    namespace = ""
                await raw.send(f'5{9_999_999}-{namespace}["x",{{"_placeholder":true,"num":0}}]')
                for _ in range(per_connection):
                    await raw.send_frame(frame)
                    sent += len(frame)
                assert await live.ping(), "the server stopped answering other clients"
            # Every connection is still open: nothing they sent may still be held.
            await asyncio.sleep(0.5)
            grown = rss_bytes(server.process.pid) - baseline
            assert grown < 20_000_000, f"RSS grew {grown / 1e6:.1f} MB"
            assert not await raw.closed_within(0.1)
        assert await live.ping()


@dataclass
class ProcessServer:
    url: str
    http: aiohttp.ClientSession

    async def token(self) -> str:
        async with self.http.post(f"{self.url}/api/auth/dev-login", json={}) as r:
            token: str = (await r.json())["token"]
            return token

    async def ping(self) -> bool:
        client = socketio.AsyncClient(reconnection=False)
        try:
            await client.connect(
                self.url, namespaces=["/system"], auth={"token": await self.token()}
            )
            ack = await client.call("system:ping", {"client_time": 1}, namespace="/system")
            return bool(ack["ok"])
        finally:
            await client.disconnect()


async def test_a_second_connect_to_a_joined_namespace_is_refused(
    server: LiveServer, log_records: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    token = await server.token("mallory")
    async with raw_socket(server.url) as raw:
        await raw.send(connect_packet("/system", token))
        assert (await raw.receive("2/system,"))[0] == "system:hello"
        [reply] = await answer_to(raw, "4" + connect_packet("/system", token), 1)
        assert reply.startswith("4/system,")
        assert orjson.loads(reply[len("4/system,") :])["data"]["code"] == "forbidden"
    assert_quiet(log_records, caplog)


async def test_nothing_is_read_after_the_client_closes(
    server: LiveServer, log_records: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """An Engine.IO CLOSE ends the connection: later frames on that websocket are not read,
    and nothing of the connection is left behind."""
    token = await server.token("mallory")
    sio = server.app[SIO]
    async with raw_socket(server.url) as raw:
        await raw.send_frame("1")
        await raw.send(connect_packet("/chat", token))
        await raw.send_frame("hello")
        assert await raw.closed_within(3)
    for _ in range(40):  # the server finishes its side of the close
        if raw.eio_sid not in sio.eio.sockets:
            break
        await asyncio.sleep(0.05)
    assert raw.eio_sid not in sio.eio.sockets
    assert raw.eio_sid not in sio.environ
    assert len(sio.eio.bad_frames) == 0
    assert_quiet(log_records, caplog)
