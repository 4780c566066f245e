"""Forged, confused, stale and malformed JWTs against jwt-mode servers, over real connections.

Each case is tried on connect (in `auth` or an `Authorization` header) and, where it is a
token string, through `system:auth_refresh` as well; after it a good client still connects
and is served.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

import server.auth.verifier
from schemas.auth import RefusalCode
from server.settings import Settings
from tests.conftest import SettingsFactory
from tests.harness import LiveServer, connect, live_server, refusal
from tests.server.auth import tokens

SYSTEM = "/system"
CHAT = "/chat"
LEEWAY_S = 30
KID = "key-1"
OTHER_SECRET = "another-secret-that-is-long-enough!!"

Mode = Literal["hs", "rs", "jwks"]
# auth: `auth.token`; header: the whole Authorization value; both: auth.token plus a good
# Bearer header (the auth token is the one judged, never the header as a fallback).
Via = Literal["auth", "header", "both"]

# system:auth_refresh answers a refused token with these ack codes.
REFRESH_CODES = {
    "token_invalid": "unauthorized",
    "token_expired": "token_expired",
    "forbidden": "forbidden",
}


def _signing() -> Any:
    return tokens.rsa_key("signing")


def _stranger() -> Any:
    return tokens.rsa_key("stranger")


def _now() -> int:
    return int(time.time())


@dataclass
class JwksEndpoint:
    """A JWKS document served on loopback; `keys` may be swapped to rotate."""

    keys: list[dict[str, Any]]
    url: str = ""
    fetches: int = 0


@asynccontextmanager
async def jwks_endpoint(keys: list[dict[str, Any]]) -> AsyncIterator[JwksEndpoint]:
    endpoint = JwksEndpoint(keys=keys)

    async def serve(request: web.Request) -> web.Response:
        endpoint.fetches += 1
        return web.json_response({"keys": endpoint.keys})

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    endpoint.url = f"http://127.0.0.1:{runner.addresses[0][1]}/.well-known/jwks.json"
    try:
        yield endpoint
    finally:
        await runner.cleanup()


@pytest.fixture
async def jwks() -> AsyncIterator[JwksEndpoint]:
    async with jwks_endpoint([tokens.public_jwk(_signing(), KID)]) as endpoint:
        yield endpoint


def settings_for(mode: Mode, make_settings: SettingsFactory, jwks_url: str) -> Settings:
    common: dict[str, Any] = {
        "auth_mode": "jwt",
        "jwt_issuer": tokens.ISSUER,
        "jwt_audience": tokens.AUDIENCE,
        "jwt_leeway_s": LEEWAY_S,
    }
    if mode == "hs":
        return make_settings(**common, jwt_secret=tokens.SECRET)
    if mode == "rs":
        return make_settings(
            **common, jwt_algorithms=["RS256"], jwt_public_key=tokens.public_pem(_signing())
        )
    return make_settings(**common, jwt_algorithms=["RS256"], jwt_jwks_url=jwks_url)


def good_token(mode: Mode) -> str:
    if mode == "hs":
        return tokens.hs256()
    return tokens.rs256(_signing(), kid=KID if mode == "jwks" else None)


@dataclass(frozen=True)
class Case:
    id: str
    mode: Mode
    # Made when the test runs: times are relative to now.
    credential: Callable[[], Any]
    code: RefusalCode | None  # None: accepted
    via: Via = "auth"


CASES = [
    # HS256 server with iss, aud and a leeway.
    Case("alg-none", "hs", lambda: tokens.alg_none(), "token_invalid"),
    Case("alg-None-capitalised", "hs", lambda: tokens.alg_none({"alg": "None"}), "token_invalid"),
    Case("rs256-on-hs-server", "hs", lambda: tokens.rs256(_signing()), "token_invalid"),
    Case("wrong-key", "hs", lambda: tokens.hs256(secret=OTHER_SECRET), "token_invalid"),
    Case("wrong-aud", "hs", lambda: tokens.hs256(aud="someone-else"), "token_invalid"),
    Case("no-aud", "hs", lambda: tokens.hs256(aud=None), "token_invalid"),
    Case("wrong-iss", "hs", lambda: tokens.hs256(iss="https://evil.example"), "token_invalid"),
    Case("no-iss", "hs", lambda: tokens.hs256(iss=None), "token_invalid"),
    Case(
        "expired-beyond-leeway",
        "hs",
        lambda: tokens.hs256(iat=_now() - 600, exp=_now() - LEEWAY_S - 60),
        "token_expired",
    ),
    Case(
        "expired-within-leeway",
        "hs",
        lambda: tokens.hs256(iat=_now() - 600, exp=_now() - LEEWAY_S + 20),
        None,
    ),
    Case(
        "nbf-beyond-leeway", "hs", lambda: tokens.hs256(nbf=_now() + LEEWAY_S + 60), "token_invalid"
    ),
    Case("nbf-within-leeway", "hs", lambda: tokens.hs256(nbf=_now() + LEEWAY_S - 20), None),
    Case(
        "iat-beyond-leeway", "hs", lambda: tokens.hs256(iat=_now() + LEEWAY_S + 60), "token_invalid"
    ),
    Case("no-sub", "hs", lambda: tokens.hs256(sub=None), "token_invalid"),
    Case("no-exp", "hs", lambda: tokens.hs256(exp=None), "token_invalid"),
    Case("sub-not-a-string", "hs", lambda: tokens.hs256(sub=12345), "token_invalid"),
    Case("sub-empty", "hs", lambda: tokens.hs256(sub=""), "token_invalid"),
    Case("exp-not-a-number", "hs", lambda: tokens.hs256(exp="tomorrow"), "token_invalid"),
    Case("exp-out-of-range", "hs", lambda: tokens.hs256(exp=10**12), "token_invalid"),
    Case(
        "tampered-sub",
        "hs",
        lambda: tokens.tampered(tokens.hs256(), sub="mallory"),
        "token_invalid",
    ),
    Case(
        "tampered-exp",
        "hs",
        lambda: tokens.tampered(tokens.hs256(exp=_now() - 3600), exp=_now() + 3600),
        "token_invalid",
    ),
    Case("dev-kind", "hs", lambda: tokens.hs256(kind="dev"), "forbidden"),
    Case("unknown-kind", "hs", lambda: tokens.hs256(kind="admin"), "forbidden"),
    Case("garbage", "hs", lambda: "not-a-jwt", "token_invalid"),
    Case("oversized", "hs", lambda: "a" * 20_000, "token_invalid"),
    Case("token-not-a-string", "hs", lambda: 12345, "token_invalid"),
    Case(
        "header-wrong-key",
        "hs",
        lambda: f"Bearer {tokens.hs256(secret=OTHER_SECRET)}",
        "token_invalid",
        via="header",
    ),
    Case(
        "header-expired",
        "hs",
        lambda: f"Bearer {tokens.hs256(exp=_now() - LEEWAY_S - 60)}",
        "token_expired",
        via="header",
    ),
    Case("header-alg-none", "hs", lambda: f"bearer {tokens.alg_none()}", "token_invalid", "header"),
    Case("header-basic-scheme", "hs", lambda: f"Basic {tokens.hs256()}", "auth_required", "header"),
    Case("header-bearer-empty", "hs", lambda: "Bearer ", "auth_required", via="header"),
    Case(
        "forged-auth-with-good-header",
        "hs",
        lambda: tokens.hs256(secret=OTHER_SECRET),
        "token_invalid",
        via="both",
    ),
    # RS256 server with a PEM public key.
    Case("rs-alg-none", "rs", lambda: tokens.alg_none(), "token_invalid"),
    Case(
        "hs256-signed-with-the-public-key",
        "rs",
        lambda: tokens.hs256_with_raw_key(tokens.public_pem(_signing()).encode()),
        "token_invalid",
    ),
    Case("rs-wrong-key", "rs", lambda: tokens.rs256(_stranger()), "token_invalid"),
    Case(
        "rs384-not-allowed",
        "rs",
        lambda: tokens.rs256(_signing(), algorithm="RS384"),
        "token_invalid",
    ),
    Case(
        "rs-tampered-sub",
        "rs",
        lambda: tokens.tampered(tokens.rs256(_signing()), sub="mallory"),
        "token_invalid",
    ),
    Case(
        "rs-expired",
        "rs",
        lambda: tokens.rs256(_signing(), exp=_now() - LEEWAY_S - 60),
        "token_expired",
    ),
    # RS256 server with a JWKS URL.
    Case("jwks-unknown-kid", "jwks", lambda: tokens.rs256(_signing(), kid="nope"), "token_invalid"),
    Case("jwks-no-kid", "jwks", lambda: tokens.rs256(_signing()), "token_invalid"),
    Case(
        "jwks-known-kid-wrong-key",
        "jwks",
        lambda: tokens.rs256(_stranger(), kid=KID),
        "token_invalid",
    ),
    Case(
        "jwks-alg-none-known-kid",
        "jwks",
        lambda: tokens.alg_none({"kid": KID}),
        "token_invalid",
    ),
    Case(
        "jwks-hs256-signed-with-the-public-pem",
        "jwks",
        lambda: tokens.hs256_with_raw_key(
            tokens.public_pem(_signing()).encode(), header={"kid": KID}
        ),
        "token_invalid",
    ),
    Case(
        "jwks-hs256-signed-with-the-jwk",
        "jwks",
        lambda: tokens.hs256_with_raw_key(
            orjson.dumps(tokens.public_jwk(_signing(), KID)), header={"kid": KID}
        ),
        "token_invalid",
    ),
    Case(
        "jwks-embedded-jwk-header",
        "jwks",
        lambda: tokens.rs256(
            _stranger(), kid=KID, header={"jwk": tokens.public_jwk(_stranger(), KID)}
        ),
        "token_invalid",
    ),
    Case(
        "jwks-jku-header",
        "jwks",
        lambda: tokens.rs256(
            _stranger(), kid="evil", header={"jku": "http://127.0.0.1:9/evil/jwks.json"}
        ),
        "token_invalid",
    ),
    Case(
        "jwks-expired",
        "jwks",
        lambda: tokens.rs256(_signing(), kid=KID, exp=_now() - LEEWAY_S - 60),
        "token_expired",
    ),
]


async def accepted(
    live: LiveServer, auth: Any, headers: dict[str, str] | None = None, namespace: str = SYSTEM
) -> None:
    client, recorder = await connect(live, [namespace], auth, headers=headers)
    try:
        if namespace == SYSTEM:
            [hello] = await recorder.wait_for(SYSTEM, "system:hello")
            assert hello["principal"]["id"] == "alice"
        else:
            await recorder.wait_for(CHAT, "chat:ready")
    finally:
        await client.disconnect()


async def refused(
    live: LiveServer, auth: Any, headers: dict[str, str] | None = None, namespace: str = SYSTEM
) -> str:
    error = await refusal(live, namespace, auth, headers=headers or {})
    assert error["message"]
    assert error["data"]["message"] == error["message"]
    code: str = error["data"]["code"]
    return code


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_attack_is_refused_with_its_code(
    case: Case, make_settings: SettingsFactory, jwks: JwksEndpoint
) -> None:
    async with live_server(settings_for(case.mode, make_settings, jwks.url)) as live:
        credential = case.credential()
        good = good_token(case.mode)
        auth: Any = {"token": credential}
        headers: dict[str, str] = {}
        if case.via == "header":
            auth, headers = None, {"Authorization": credential}
        elif case.via == "both":
            headers = {"Authorization": f"Bearer {good}"}

        if case.code is None:
            await accepted(live, auth, headers)
        else:
            assert await refused(live, auth, headers) == case.code

        # The server goes on serving a good client, which cannot refresh with the same token.
        client, recorder = await connect(live, [SYSTEM], {"token": good})
        try:
            await recorder.wait_for(SYSTEM, "system:hello")
            if case.via == "auth" and isinstance(credential, str) and len(credential) <= 16384:
                ack = await client.call(
                    "system:auth_refresh", {"token": credential}, namespace=SYSTEM
                )
                if case.code is None:
                    assert ack["ok"] is True, ack
                else:
                    assert ack["ok"] is False
                    assert ack["error"]["code"] == REFRESH_CODES[case.code], ack
            ping = await client.call("system:ping", {"client_time": 1}, namespace=SYSTEM)
            assert ping["ok"] is True
        finally:
            await client.disconnect()


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (lambda: tokens.alg_none(), "token_invalid"),
        (lambda: tokens.hs256(secret=OTHER_SECRET), "token_invalid"),
        (lambda: tokens.hs256(exp=_now() - LEEWAY_S - 60), "token_expired"),
    ],
    ids=["alg-none", "wrong-key", "expired"],
)
async def test_chat_namespace_refuses_alike(
    make_settings: SettingsFactory, jwks: JwksEndpoint, token: Callable[[], str], code: str
) -> None:
    async with live_server(settings_for("hs", make_settings, jwks.url)) as live:
        assert await refused(live, {"token": token()}, namespace=CHAT) == code
        await accepted(live, {"token": good_token("hs")}, namespace=CHAT)


async def test_jwks_rotation_follows_the_kid(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cooldown_s = 0.3
    monkeypatch.setattr(server.auth.verifier, "JWKS_REFRESH_COOLDOWN_S", cooldown_s)
    key_a, key_b = tokens.rsa_key("rotation-a"), tokens.rsa_key("rotation-b")
    async with jwks_endpoint([tokens.public_jwk(key_a, "key-a")]) as endpoint:
        settings = settings_for("jwks", make_settings, endpoint.url)
        async with live_server(settings) as live:
            token_a = tokens.rs256(key_a, kid="key-a")
            token_b = tokens.rs256(key_b, kid="key-b")
            await accepted(live, {"token": token_a})
            await accepted(live, {"token": token_a})
            assert endpoint.fetches == 1  # the set is cached

            endpoint.keys = [tokens.public_jwk(key_b, "key-b")]
            # Unknown kids right after a fetch do not reach the endpoint.
            for _ in range(3):
                unknown = tokens.rs256(key_b, kid="unknown")
                assert await refused(live, {"token": unknown}) == "token_invalid"
            assert endpoint.fetches == 1

            await asyncio.sleep(cooldown_s)
            # B's kid is not in the cached set: one refetch finds it.
            await accepted(live, {"token": token_b})
            assert endpoint.fetches == 2
            # A left the set: refused at once, and still refused after a refetch.
            assert await refused(live, {"token": token_a}) == "token_invalid"
            await asyncio.sleep(cooldown_s)
            assert await refused(live, {"token": token_a}) == "token_invalid"
            assert endpoint.fetches == 3
            await accepted(live, {"token": token_b})
            assert endpoint.fetches == 3


async def test_a_kid_naming_a_key_of_another_type_is_token_invalid(
    make_settings: SettingsFactory,
) -> None:
    """Identity providers publish keys of several types in one set: a token naming an EC
    key's kid with RS256 is refused as invalid, not failed as `internal`."""
    ec_jwk = orjson.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    ec_jwk["kid"] = "ec-key"
    keys = [tokens.public_jwk(_signing(), KID), ec_jwk]
    async with (
        jwks_endpoint(keys) as endpoint,
        live_server(settings_for("jwks", make_settings, endpoint.url)) as live,
    ):
        token = tokens.rs256(_stranger(), kid="ec-key")
        assert await refused(live, {"token": token}) == "token_invalid"
        await accepted(live, {"token": good_token("jwks")})
