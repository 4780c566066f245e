"""Long-polling POSTs that no Socket.IO client sends: each is answered at once and leaves no
handler behind (`netra_polling_posts_in_flight`, read from /metrics, returns to 0)."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.conftest import SettingsFactory
from tests.harness import LiveServer, live_server
from tests.raw_engineio import polling_handshake, socket_url
from tests.server.realtime.test_bad_frames import assert_quiet, metric


async def raw_post(server_url: str, sid: str, head: str, body: bytes = b"") -> tuple[int, float]:
    """A POST written by hand (its Content-Length need not match its body): the status and
    the seconds until it came."""
    url = urlsplit(server_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    began = time.monotonic()
    try:
        path = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
        writer.write(f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n{head}\r\n".encode() + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        return int(status_line.split()[1]), time.monotonic() - began
    finally:
        writer.close()


async def polls_in_flight(server: LiveServer) -> float:
    _, text = await server.get_text("/metrics")
    return metric(text, "netra_polling_posts_in_flight")


async def session_is_closed(http: aiohttp.ClientSession, server: LiveServer, sid: str) -> bool:
    async with http.get(f"{socket_url(server.url, 'polling')}&sid={sid}") as response:
        return response.status == 400


async def test_oversized_posts_are_answered_413_at_once(
    server: LiveServer, log_records: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as http:
        for n in range(1000):
            sid = await polling_handshake(http, server.url)
            status, took_s = await raw_post(server.url, sid, "Content-Length: 2000000\r\n")
            assert status == 413
            assert took_s < 1.0, f"POST {n} took {took_s:.2f} s"
        assert await session_is_closed(http, server, sid)
    assert await polls_in_flight(server) == 0
    assert_quiet(log_records, caplog)


async def test_a_body_that_never_arrives_is_answered_408(
    make_settings: SettingsFactory,
    log_records: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with (
        live_server(make_settings(polling_body_timeout_s=0.5)) as server,
        aiohttp.ClientSession() as http,
    ):
        sid = await polling_handshake(http, server.url)
        status, took_s = await raw_post(server.url, sid, "Content-Length: 100\r\n", b"40")
        assert status == 408
        assert 0.5 <= took_s < 2.0
        assert await session_is_closed(http, server, sid)
        assert await polls_in_flight(server) == 0
    closes = [r for r in log_records if r.get("event") == "connection_closed"]
    assert [r["reason"] for r in closes] == ["request body timeout"]
    assert_quiet(log_records, caplog)


@pytest.mark.parametrize(
    "body",
    [b"hello", b"\xff\xfe", b"2", b"6", b"0", b"5"],
    ids=["not-a-packet", "not-utf8", "ping", "noop", "open", "upgrade"],
)
async def test_a_body_that_is_no_client_packet_is_dropped(
    server: LiveServer,
    body: bytes,
    log_records: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with aiohttp.ClientSession() as http:
        sid = await polling_handshake(http, server.url)
        status, took_s = await raw_post(server.url, sid, f"Content-Length: {len(body)}\r\n", body)
        assert status in (200, 400)
        assert took_s < 1.0
        # The session goes on: a connect on it is answered.
        async with http.post(
            f"{socket_url(server.url, 'polling')}&sid={sid}", data=b"40/system,{}"
        ) as response:
            assert response.status == 200
        async with http.get(f"{socket_url(server.url, 'polling')}&sid={sid}") as response:
            assert "auth_required" in await response.text()
    assert await polls_in_flight(server) == 0
    assert [r["kind"] for r in log_records if r.get("event") == "bad_frame"]
    assert_quiet(log_records, caplog)


async def test_an_empty_body_is_a_bad_frame_not_a_timeout(
    server: LiveServer, log_records: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as http:
        sid = await polling_handshake(http, server.url)
        status, took_s = await raw_post(server.url, sid, "Content-Length: 0\r\n")
        assert status == 400
        assert took_s < 1.0
        # The session goes on.
        status, _ = await raw_post(server.url, sid, "Content-Length: 12\r\n", b"40/system,{}")
        assert status == 200
    assert [r["kind"] for r in log_records if r.get("event") == "bad_frame"] == ["engineio_garbage"]
    assert_quiet(log_records, caplog)


async def test_a_post_after_the_client_closed_is_400(
    server: LiveServer, log_records: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as http:
        sid = await polling_handshake(http, server.url)
        status, _ = await raw_post(server.url, sid, "Content-Length: 1\r\n", b"1")  # CLOSE
        assert status == 200
        status, _ = await raw_post(server.url, sid, "Content-Length: 8\r\n", b"41/chat,")
        assert status == 400
    assert await polls_in_flight(server) == 0
    assert_quiet(log_records, caplog)
