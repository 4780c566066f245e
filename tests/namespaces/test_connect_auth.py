"""Auth in the connect handler, as a real Socket.IO client sees it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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
    ("token", "code"),
    [
        (tokens.hs256(exp=int(time.time()) - 60), "token_expired"),
        (tokens.hs256(secret="another-secret-that-is-long-enough!!"), "token_invalid"),
        (tokens.hs256(aud="someone-else"), "token_invalid"),
        (tokens.hs256(iss="https://evil.example"), "token_invalid"),
        (tokens.alg_none(), "token_invalid"),
        (tokens.hs256(sub=None), "token_invalid"),
        (tokens.hs256(exp=None), "token_invalid"),
        (tokens.hs256(kind="dev"), "forbidden"),
        ("not-a-jwt", "token_invalid"),
    ],
    ids=[
        "expired",
        "bad-signature",
        "wrong-aud",
        "wrong-iss",
        "alg-none",
        "no-sub",
        "no-exp",
        "dev-token-in-jwt-mode",
        "garbage",
    ],
)
@pytest.mark.parametrize("namespace", ["/system"])
async def test_bad_tokens_are_refused_with_a_code(
    jwt_server: LiveServer, namespace: str, token: str, code: str
) -> None:
    error = await refusal(jwt_server, namespace, {"token": token})
    assert error["data"]["code"] == code
    assert error["message"]  # human words for the user
    assert error["data"]["message"] == error["message"]


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


async def test_leeway_accepts_a_token_just_expired(make_settings: SettingsFactory) -> None:
    settings = make_settings(auth_mode="jwt", jwt_secret=tokens.SECRET, jwt_leeway_s=30)
    async with live_server(settings) as live:
        token = tokens.hs256(exp=int(time.time()) - 5, iss=None, aud=None)
        client, recorder = await connect(live, ["/system"], {"token": token})
        await recorder.wait_for("/system", "system:hello")
        await client.disconnect()
        stale = tokens.hs256(exp=int(time.time()) - 120, iss=None, aud=None)
        assert (await refusal(live, "/system", {"token": stale}))["data"]["code"] == (
            "token_expired"
        )


async def test_rs256_public_key_mode(make_settings: SettingsFactory) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = make_settings(auth_mode="jwt", jwt_algorithms=["RS256"], jwt_public_key=public_pem)
    async with live_server(settings) as live:
        good = jwt.encode(tokens.claims(iss=None, aud=None), private, algorithm="RS256")
        client, recorder = await connect(live, ["/system"], {"token": good})
        await recorder.wait_for("/system", "system:hello")
        await client.disconnect()
        # Key confusion: an HS256 token signed with the public key must not pass.
        confused = tokens.hs256_with_raw_key(public_pem.encode(), iss=None, aud=None)
        assert (await refusal(live, "/system", {"token": confused}))["data"]["code"] == (
            "token_invalid"
        )


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


async def test_jwks_url_mode_picks_the_key_by_kid(make_settings: SettingsFactory) -> None:
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = orjson.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing.public_key()))
    jwks = {"keys": [{**jwk, "kid": "key-1", "use": "sig", "alg": "RS256"}]}

    async def serve_jwks(request: web.Request) -> web.Response:
        return web.json_response(jwks)

    jwks_app = web.Application()
    jwks_app.router.add_get("/.well-known/jwks.json", serve_jwks)
    runner = web.AppRunner(jwks_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    jwks_url = f"http://127.0.0.1:{runner.addresses[0][1]}/.well-known/jwks.json"
    try:
        settings = make_settings(auth_mode="jwt", jwt_algorithms=["RS256"], jwt_jwks_url=jwks_url)
        async with live_server(settings) as live:
            claims = tokens.claims(iss=None, aud=None)
            good = jwt.encode(claims, signing, algorithm="RS256", headers={"kid": "key-1"})
            client, recorder = await connect(live, ["/system"], {"token": good})
            await recorder.wait_for("/system", "system:hello")
            await client.disconnect()
            forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "key-1"})
            unknown_kid = jwt.encode(claims, signing, algorithm="RS256", headers={"kid": "nope"})
            for token in (forged, unknown_kid):
                error = await refusal(live, "/system", {"token": token})
                assert error["data"]["code"] == "token_invalid"
    finally:
        await runner.cleanup()
