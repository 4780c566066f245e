"""Event rate and connections per user, over real connections."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import socketio

from server.app_keys import CONTEXT
from tests.conftest import SettingsFactory
from tests.harness import LiveServer, Recorder, connect, live_server, refusal, until

CHAT = "/chat"
SYSTEM = "/system"


async def client_of(server: LiveServer, user: str) -> tuple[socketio.AsyncClient, Recorder]:
    client, recorder = await connect(server, [CHAT, SYSTEM], {"token": await server.token(user)})
    await recorder.wait_for(CHAT, "chat:ready")
    return client, recorder


async def ping(client: socketio.AsyncClient) -> dict[str, Any]:
    ack: dict[str, Any] = await client.call("system:ping", {"client_time": 1}, namespace=SYSTEM)
    return ack


def assert_limited(ack: dict[str, Any]) -> int:
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == "rate_limited"
    retry_ms = ack["error"]["details"]["retry_after_ms"]
    assert isinstance(retry_ms, int)
    assert retry_ms > 0
    assert str(retry_ms) in ack["error"]["message"]
    return retry_ms


async def test_a_burst_past_the_limit_is_refused_then_recovers(
    make_settings: SettingsFactory, log_records: list[dict[str, Any]]
) -> None:
    # 2 events/s with a burst of 3 per connection; the user's own bucket is roomier.
    settings = make_settings(rate_limit_per_min=120, rate_limit_burst=3)
    async with live_server(settings) as server:
        client, recorder = await client_of(server, "alice")
        try:
            # /chat and /system share the connection's bucket.
            assert (await client.call("chat:examples", {}, namespace=CHAT))["ok"] is True
            assert (await ping(client))["ok"] is True
            assert (await ping(client))["ok"] is True
            retry_ms = assert_limited(await ping(client))
            assert retry_ms <= 500
            # A limited event does nothing else: no message stored, no stream event.
            send = {"client_msg_id": str(uuid.uuid4()), "text": "count to 3"}
            assert_limited(await client.call("chat:send", send, namespace=CHAT))
            # Without an ack the refusal arrives as the namespace's error event.
            await client.emit("chat:threads", {}, namespace=CHAT)
            [error] = await recorder.wait_for(CHAT, "chat:error")
            assert error["code"] == "rate_limited"
            assert error["event"] == "chat:threads"

            await asyncio.sleep(retry_ms / 1000)
            threads = await client.call("chat:threads", {}, namespace=CHAT)
            assert threads == {"ok": True, "data": {"threads": [], "next_before": None}}
            assert not recorder.of(CHAT, "chat:message")
        finally:
            await client.disconnect()

    limited = [r["message"] for r in log_records if r["message"].startswith("rate limited")]
    assert len(limited) == 1  # once per run of refusals, not once per event
    assert "user=alice" in limited[0]


async def test_connections_of_one_user_share_the_user_bucket(
    make_settings: SettingsFactory,
) -> None:
    # Each connection alone could send 10 at once; the user only 4 (over 2 s).
    settings = make_settings(
        rate_limit_per_min=300, rate_limit_burst=10, user_rate_limit_per_min=120
    )
    assert settings.user_burst == 4
    async with live_server(settings) as server:
        first, _ = await client_of(server, "alice")
        second, _ = await client_of(server, "alice")
        other, _ = await client_of(server, "bob")
        try:
            for client in (first, second, first, second):
                assert (await ping(client))["ok"] is True
            assert_limited(await ping(first))
            retry_ms = assert_limited(await ping(second))
            for _ in range(4):
                assert (await ping(other))["ok"] is True
            await asyncio.sleep(retry_ms / 1000)
            assert (await ping(second))["ok"] is True
        finally:
            for client in (first, second, other):
                await client.disconnect()


async def test_rate_state_is_dropped_with_the_connection(make_settings: SettingsFactory) -> None:
    async with live_server(make_settings()) as server:
        limiter = server.app[CONTEXT].rate_limiter
        client, _ = await client_of(server, "alice")
        assert (await ping(client))["ok"] is True
        assert (await client.call("chat:examples", {}, namespace=CHAT))["ok"] is True
        assert limiter.tracked() == (2, 1, 1)  # two namespace sids on one connection
        await client.disconnect()
        await until(lambda: limiter.tracked()[:2] == (0, 0))


async def test_connections_past_the_per_user_cap_are_refused(
    make_settings: SettingsFactory, log_records: list[dict[str, Any]]
) -> None:
    async with live_server(make_settings(max_connections_per_user=2)) as server:
        cap = server.app[CONTEXT].connection_cap
        token = await server.token("alice")
        open_ones = [(await connect(server, [CHAT], {"token": token}))[0] for _ in range(2)]
        try:
            error = await refusal(server, CHAT, {"token": token})
            assert error["data"]["code"] == "forbidden"
            assert "Too many open connections" in error["message"]
            [line] = [
                r["message"]
                for r in log_records
                if r.get("event") == "connect_refused" and r.get("user") == "alice"
            ]
            assert line.startswith("connect refused namespace=/chat code=forbidden")
            assert "connection limit reached" in line
            assert token not in line

            # Per namespace, and per user.
            system, _ = await connect(server, [SYSTEM], {"token": token})
            await system.disconnect()
            bob, _ = await connect(server, [CHAT], {"token": await server.token("bob")})
            await bob.disconnect()

            # A closed connection frees its place.
            await open_ones.pop().disconnect()
            await until(lambda: cap.count(CHAT, "alice") == 1)
            again, _ = await connect(server, [CHAT], {"token": token})
            open_ones.append(again)
            assert cap.count(CHAT, "alice") == 2
        finally:
            for client in open_ones:
                await client.disconnect()
