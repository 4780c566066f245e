from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import jwt
import pytest

from tests.conftest import SettingsFactory
from tests.harness import LiveServer, connect, live_server


async def _post(server: LiveServer, body: object) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/api/auth/dev-login", json=body) as response,
    ):
        return response.status, await response.json()


async def test_dev_login_issues_a_bearer_token_for_the_user(server: LiveServer) -> None:
    body = await server.dev_login("alice", display_name="Alice A.", ttl_s=600)
    assert body["token_type"] == "Bearer"
    assert body["principal"] == {"id": "alice", "display_name": "Alice A.", "kind": "dev"}
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert timedelta(seconds=590) < expires_at - datetime.now(UTC) <= timedelta(seconds=600)
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["sub"] == "alice"
    assert claims["exp"] == int(expires_at.timestamp())


async def test_dev_login_without_a_user_makes_one_up(server: LiveServer) -> None:
    status, body = await _post(server, {})
    assert status == 200
    principal = body["principal"]
    assert isinstance(principal, dict)
    assert str(principal["id"]).startswith("dev-")


@pytest.mark.parametrize(
    "body",
    [{"ttl_s": 1}, {"user_id": "has space"}, {"user_id": 5}, {"unexpected": True}, [1, 2]],
)
async def test_dev_login_refuses_bad_requests_with_a_code(server: LiveServer, body: object) -> None:
    status, answer = await _post(server, body)
    assert status == 400
    error = answer["error"]
    assert isinstance(error, dict)
    assert error["code"] == "invalid_payload"


async def test_dev_login_does_not_exist_in_jwt_mode(make_settings: SettingsFactory) -> None:
    settings = make_settings(auth_mode="jwt", jwt_secret="k" * 40)
    async with (
        live_server(settings) as live,
        aiohttp.ClientSession() as http,
        http.post(f"{live.url}/api/auth/dev-login", json={}) as response,
    ):
        assert response.status == 404


async def test_dev_tokens_carry_the_configured_issuer_and_audience(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(jwt_issuer="https://issuer.example", jwt_audience="netra-chat")
    async with live_server(settings) as live:
        body = await live.dev_login("alice")
        claims = jwt.decode(body["token"], options={"verify_signature": False})
        assert (claims["iss"], claims["aud"]) == ("https://issuer.example", "netra-chat")
        # The server checks both whenever they are set: its own tokens must pass.
        client, recorder = await connect(live, ["/system"], {"token": body["token"]})
        try:
            await recorder.wait_for("/system", "system:hello")
        finally:
            await client.disconnect()
