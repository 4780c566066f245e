"""No credential reaches a log line: not a token, not a part of one, not a Bearer header.

Every path a token travels is driven (refusals in `auth` and in `Authorization`, connects,
refreshes, dev-login, a failing handler, a failing run), in process with the transport
libraries' packet logs on, and through a real `python -m server serve` writing JSON lines
at DEBUG.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import socketio
from langchain_core.messages import AIMessageChunk
from loguru import logger

import server.agent.models
from namespaces.system import SystemNamespace
from server.app_keys import SIO
from server.log_setup import _InterceptHandler, redact_secrets
from server.settings import Settings
from tests.conftest import SettingsFactory
from tests.harness import (
    CONNECT_TIMEOUT_S,
    connect,
    live_server,
    send_chat,
    wait_run_end,
)
from tests.processes import server_env, serving, stop_and_read_stderr
from tests.server.agent.scripted_model import ScriptedChatModel
from tests.server.auth import tokens

SYSTEM = "/system"
CHAT = "/chat"
OTHER_SECRET = "another-secret-that-is-long-enough!!"
# The server-side transport loggers; their INFO lines are whole packets.
PACKET_LOGGERS = ("engineio.server", "socketio.server", "aiohttp.access", "aiohttp.server")
UNREDACTED_BEARER = re.compile(r"Bearer\s+(?!\[redacted\])\S", re.IGNORECASE)
# A polling client's disconnect waits out the pending long poll (ping interval + timeout).
POLLING_FRIENDLY = {"ping_interval_s": 0.5, "ping_timeout_s": 1.0}
POLLING_FRIENDLY_ENV = {"WS_PING_INTERVAL_S": "0.5", "WS_PING_TIMEOUT_S": "1.0"}


class Secrets:
    """Every credential a test used, and the pieces of it that must not be logged either."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def add(self, token: str) -> str:
        self.tokens.append(token)
        return token

    def pieces(self) -> set[str]:
        found: set[str] = set()
        for token in self.tokens:
            found.add(token)
            # The header segment is the same for every HS256 token: not a secret.
            found.update(part for part in token.split(".")[1:] if len(part) >= 8)
        return found

    def assert_absent(self, lines: list[str]) -> None:
        assert self.tokens
        pieces = self.pieces()
        for line in lines:
            for piece in pieces:
                assert piece not in line, f"credential in log line: {line[:300]}"
            assert not UNREDACTED_BEARER.search(line), line[:300]


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        (
            'x: Received packet MESSAGE data 0/system,{"token":"eyJa.eyJb.c-d_e"}',
            'x: Received packet MESSAGE data 0/system,{"token":"[redacted]"}',
        ),
        (
            '2/system,1["system:auth_refresh",{"token": "not-a-jwt \\" quoted"}]',
            '2/system,1["system:auth_refresh",{"token": "[redacted]"}]',
        ),
        (
            "{'Authorization': 'Bearer abc.def', 'n': 1}",
            "{'Authorization': 'Bearer [redacted]', 'n': 1}",
        ),
        ('{"access_token":"zzz","keep":"me"}', '{"access_token":"[redacted]","keep":"me"}'),
        ("pasted eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0. here", "pasted [redacted-jwt] here"),
        ('2/chat,["chat:send",{"text":"my tokens"}]', '2/chat,["chat:send",{"text":"my tokens"}]'),
    ],
)
def test_redaction_masks_credentials_and_keeps_the_rest(line: str, masked: str) -> None:
    assert redact_secrets(line) == masked


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """Every loguru record as its JSON form (text, bound extras, exception), packet logs on."""
    lines: list[str] = []
    # Sink options as in production: no variable values in tracebacks.
    sink = logger.add(
        lambda message: lines.append(str(message)),
        level="DEBUG",
        serialize=True,
        backtrace=False,
        diagnose=False,
    )
    intercept = _InterceptHandler()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in PACKET_LOGGERS}
    root.addHandler(intercept)
    for name in PACKET_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        root.removeHandler(intercept)
        logger.remove(sink)


@pytest.fixture
def failing_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def build(settings: Settings) -> ScriptedChatModel:
        turn: list[Any] = [AIMessageChunk(content="Half"), ConnectionError("reset by peer")]
        return ScriptedChatModel(turns=[list(turn) for _ in range(10)])

    monkeypatch.setattr(server.agent.models, "build_chat_model", build)


async def attempt(
    url: str,
    namespaces: list[str],
    auth: Any = None,
    bearer: str | None = None,
    transport: str = "websocket",
) -> socketio.AsyncClient | None:
    """Connects; the client if accepted, None if refused."""
    client = socketio.AsyncClient(reconnection=False)
    try:
        await client.connect(
            url,
            namespaces=namespaces,
            auth=auth,
            headers={"Authorization": f"Bearer {bearer}"} if bearer else {},
            transports=[transport],
            wait_timeout=CONNECT_TIMEOUT_S,
        )
    except socketio.exceptions.ConnectionError:
        await client.disconnect()
        return None
    return client


async def refresh(client: socketio.AsyncClient, token: str) -> str:
    ack = await client.call("system:auth_refresh", {"token": token}, namespace=SYSTEM)
    return "ok" if ack["ok"] else str(ack["error"]["code"])


async def drive_jwt_paths(url: str, secrets: Secrets) -> None:
    """Refusals, connects and refreshes against a jwt-mode server (HS256, iss and aud)."""
    now = int(time.time())
    forged = [
        secrets.add(tokens.hs256(secret=OTHER_SECRET)),
        secrets.add(tokens.hs256(exp=now - 60)),
        secrets.add(tokens.alg_none()),
        secrets.add(tokens.tampered(tokens.hs256(), sub="mallory")),
        secrets.add(tokens.hs256(aud="someone-else")),
    ]
    for token in forged:
        assert await attempt(url, [SYSTEM], auth={"token": token}) is None
        assert await attempt(url, [CHAT], bearer=token) is None

    good = secrets.add(tokens.hs256())
    for kwargs in ({"auth": {"token": good}}, {"bearer": good, "transport": "polling"}):
        client = await attempt(url, [SYSTEM, CHAT], **kwargs)
        assert client is not None
        try:
            assert await refresh(client, secrets.add(tokens.hs256(exp=now + 900))) == "ok"
            assert await refresh(client, forged[0]) == "unauthorized"
            assert await refresh(client, forged[1]) == "token_expired"
            other = secrets.add(tokens.hs256(sub="mallory"))
            assert await refresh(client, other) == "forbidden"
        finally:
            await client.disconnect()


async def test_jwt_mode_logs_no_credentials(
    make_settings: SettingsFactory,
    logged: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = Secrets()
    settings = make_settings(
        auth_mode="jwt",
        jwt_secret=tokens.SECRET,
        jwt_issuer=tokens.ISSUER,
        jwt_audience=tokens.AUDIENCE,
        **POLLING_FRIENDLY,
    )
    async with live_server(settings) as live:
        await drive_jwt_paths(live.url, secrets)

        # A handler that fails while holding a token: logged with a traceback.
        live_system: SystemNamespace = live.app[SIO].namespace_handlers[SYSTEM]

        async def broken(token: str) -> Any:
            raise RuntimeError("verifier unavailable")

        client = await attempt(live.url, [SYSTEM], auth={"token": secrets.add(tokens.hs256())})
        assert client is not None
        try:
            monkeypatch.setattr(live_system.ctx.verifier, "verify", broken)
            assert await refresh(client, secrets.add(tokens.hs256(name="x"))) == "internal"
        finally:
            await client.disconnect()

    secrets.assert_absent(logged)
    text = "\n".join(logged)
    # The paths were logged, packets included: the check above saw them.
    assert "connect refused namespace=/system code=token_invalid" in text
    assert "code=token_expired" in text
    assert "handler failed event=system:auth_refresh" in text
    packets = [line for line in logged if "Received packet MESSAGE data" in line]
    assert any("0/system," in line and "[redacted]" in line for line in packets)
    assert any("system:auth_refresh" in line and "[redacted]" in line for line in packets)


@pytest.mark.usefixtures("failing_model")
async def test_dev_mode_logs_no_credentials(
    make_settings: SettingsFactory, logged: list[str]
) -> None:
    secrets = Secrets()
    async with live_server(make_settings(delta_flush_ms=0)) as live:
        login = await live.dev_login("alice")
        token = secrets.add(login["token"])
        forged = secrets.add(tokens.hs256(secret=OTHER_SECRET, kind="dev", iss=None, aud=None))
        assert await attempt(live.url, [SYSTEM], auth={"token": forged}) is None
        assert await attempt(live.url, [CHAT], bearer=forged) is None

        headers = {"Authorization": f"Bearer {token}"}
        client, recorder = await connect(live, [SYSTEM, CHAT], None, headers=headers)
        try:
            fresh = secrets.add((await live.dev_login("alice", ttl_s=7200))["token"])
            assert await refresh(client, fresh) == "ok"
            assert await refresh(client, forged) == "unauthorized"
            bob = secrets.add(await live.token("bob"))
            assert await refresh(client, bob) == "forbidden"
            # A run that fails: logged with its reference.
            sent = await send_chat(client, "hi")
            name, _ = await wait_run_end(recorder, sent["run_id"])
            assert name == "agent:run_failed"
        finally:
            await client.disconnect()

    secrets.assert_absent(logged)
    text = "\n".join(logged)
    assert "dev-login user=alice" in text
    assert "run failed run_id=" in text
    assert "Received packet MESSAGE data 0/system," in text


@pytest.mark.parametrize("mode", ["jwt", "dev"])
async def test_json_debug_logs_of_a_real_server_hold_no_credentials(
    tmp_path: Path, mode: str
) -> None:
    secrets = Secrets()
    env = server_env(
        WS_DATABASE_URL=f"sqlite:///{tmp_path}/netra.db",
        WS_CLIENT_DIST=str(tmp_path / "none"),
        WS_LOG_JSON="1",
        WS_LOG_LEVEL="DEBUG",
        WS_SHUTDOWN_GRACE_S="0.5",
        WS_DEMO_TOKENS_PER_S="0",
        WS_AUTH_MODE=mode,
        WS_JWT_SECRET=tokens.SECRET,
        WS_JWT_ISSUER=tokens.ISSUER,
        WS_JWT_AUDIENCE=tokens.AUDIENCE,
        **POLLING_FRIENDLY_ENV,
    )
    async with serving(env, capture_stderr=True) as server:
        url = server.url
        if mode == "jwt":
            await drive_jwt_paths(url, secrets)
        else:
            async with (
                aiohttp.ClientSession() as http,
                http.post(f"{url}/api/auth/dev-login", json={"user_id": "alice"}) as response,
            ):
                token = secrets.add((await response.json())["token"])
            stale = secrets.add(tokens.hs256(kind="dev", exp=int(time.time()) - 60))
            assert await attempt(url, [SYSTEM], auth={"token": stale}) is None
            assert await attempt(url, [CHAT], bearer=stale) is None
            client = await attempt(url, [SYSTEM, CHAT], auth={"token": token})
            assert client is not None
            try:
                assert await refresh(client, token) == "ok"
                assert await refresh(client, stale) == "token_expired"
            finally:
                await client.disconnect()
        lines = await stop_and_read_stderr(server.process)

    records = [orjson.loads(line) for line in lines]  # every line is one JSON object
    assert any("Received packet MESSAGE data 0/system," in r["msg"] for r in records)
    assert any('"token":"[redacted]"' in r["msg"] for r in records)
    assert any(r.get("event") == "connect_refused" for r in records)
    secrets.assert_absent(lines)
