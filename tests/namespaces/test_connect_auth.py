"""Auth in the connect handler, as a real Socket.IO client sees it.

Forged, confused and stale tokens are in test_jwt_attacks.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import SettingsFactory
from tests.harness import LiveServer, connect, live_server, refusal
from tests.server.auth import tokens


@pytest.fixture
async def jwt_server(make_settings: SettingsFactory) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        auth_mode="jwt",
        jwt_secret=tokens.SECRET,
        jwt_issuer=tokens.ISSUER,
        jwt_audience=tokens.AUDIENCE,
    )
    async with live_server(settings) as live:
        yield live


@pytest.mark.parametrize(
    ("auth", "code"),
    [(None, "auth_required"), ({}, "auth_required"), ("token", "auth_required")],
)
async def test_missing_credentials_are_auth_required(
    jwt_server: LiveServer, auth: Any, code: str
) -> None:
    error = await refusal(jwt_server, "/system", auth)
    assert error["data"]["code"] == code


async def test_valid_token_connects_and_names_the_principal(jwt_server: LiveServer) -> None:
    client, recorder = await connect(jwt_server, ["/system"], {"token": tokens.hs256()})
    try:
        [hello] = await recorder.wait_for("/system", "system:hello")
        assert hello["principal"] == {"id": "alice", "display_name": "Alice", "kind": "user"}
    finally:
        await client.disconnect()


async def test_service_tokens_are_service_principals(jwt_server: LiveServer) -> None:
    token = tokens.hs256(sub="indexer", kind="service", scope="chat:read chat:write")
    client, recorder = await connect(jwt_server, ["/system"], {"token": token})
    try:
        [hello] = await recorder.wait_for("/system", "system:hello")
        assert hello["principal"]["kind"] == "service"
        assert hello["principal"]["scopes"] == ["chat:read", "chat:write"]
    finally:
        await client.disconnect()


async def test_bearer_header_works_for_non_browser_clients(jwt_server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {tokens.hs256()}"}
    client, recorder = await connect(jwt_server, ["/system"], None, headers=headers)
    try:
        await recorder.wait_for("/system", "system:hello")
    finally:
        await client.disconnect()


async def test_each_refusal_is_logged_once_on_one_line_without_the_token(
    jwt_server: LiveServer, log_records: list[dict[str, Any]]
) -> None:
    token = tokens.hs256(exp=int(time.time()) - 60)
    await refusal(jwt_server, "/system", {"token": token}, headers={"Origin": jwt_server.url})
    refusals = [r for r in log_records if r.get("event") == "connect_refused"]
    assert len(refusals) == 1
    line = refusals[0]
    assert "\n" not in line["message"]
    assert line["namespace"] == "/system"
    assert line["code"] == "token_expired"
    assert line["client"] == "127.0.0.1"
    assert line["origin"] == jwt_server.url
    assert "namespace=/system code=token_expired" in line["message"]
    assert "Signature has expired" in line["message"]
    for record in log_records:
        assert token not in str(record)
        assert token.split(".")[1] not in str(record)
