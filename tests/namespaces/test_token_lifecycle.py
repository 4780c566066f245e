"""Long-lived connections and short-lived tokens: warn, refresh, or cut off."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import SettingsFactory
from tests.harness import LiveServer, connect, live_server
from tests.server.auth import tokens

LIFETIME_S = 3


@pytest.fixture
async def jwt_server(make_settings: SettingsFactory) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        auth_mode="jwt",
        jwt_secret=tokens.SECRET,
        token_expiry_warning_s=1.5,
        token_expiry_grace_s=0.5,
    )
    async with live_server(settings) as live:
        yield live


async def test_warning_then_cut_off_when_not_refreshed(
    jwt_server: LiveServer, log_records: list[dict[str, Any]]
) -> None:
    client, recorder = await connect(
        jwt_server, ["/system", "/chat"], {"token": tokens.expiring(LIFETIME_S)}
    )
    disconnected = asyncio.Event()
    client.on("disconnect", lambda *_: disconnected.set(), namespace="/chat")
    [warning] = await recorder.wait_for("/system", "system:token_expiring", within_s=LIFETIME_S)
    [hello] = recorder.of("/system", "system:hello")
    assert warning["expires_at"] == hello["token_expires_at"]
    assert client.connected
    await asyncio.wait_for(disconnected.wait(), LIFETIME_S + 3)
    reasons = [r["message"] for r in log_records if "token expired" in r["message"]]
    assert len(reasons) == 2  # /system and /chat, each said once
    assert all("was not refreshed" in reason for reason in reasons)
    await client.disconnect()


async def test_refreshed_connection_outlives_the_first_token(jwt_server: LiveServer) -> None:
    client, recorder = await connect(
        jwt_server, ["/system", "/chat"], {"token": tokens.expiring(LIFETIME_S)}
    )
    try:
        await recorder.wait_for("/system", "system:token_expiring", within_s=LIFETIME_S)
        fresh = tokens.expiring(60)
        ack = await client.call("system:auth_refresh", {"token": fresh}, namespace="/system")
        assert ack["ok"] is True
        await asyncio.sleep(LIFETIME_S + 1.5)
        assert client.connected
        answer = await client.call("chat:examples", {}, namespace="/chat")
        assert answer["ok"] is True
        assert len(recorder.of("/system", "system:token_expiring")) == 1
    finally:
        await client.disconnect()


async def test_refresh_with_an_expired_token_is_refused(jwt_server: LiveServer) -> None:
    client, _ = await connect(jwt_server, ["/system"], {"token": tokens.expiring(30)})
    try:
        stale = tokens.hs256(exp=int(time.time()) - 10, iss=None, aud=None)
        ack = await client.call("system:auth_refresh", {"token": stale}, namespace="/system")
        assert ack["error"]["code"] == "token_expired"
    finally:
        await client.disconnect()
