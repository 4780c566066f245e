"""`netra-ws token`, `config` and `chat` as people run them, checked against a real server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys

import jwt
import pytest
from typer.testing import CliRunner, Result

from netra_client import NetraClient, NetraError
from netra_client.terminal import PROMPT
from schemas.principal import Principal, ServicePrincipal, UserPrincipal
from server.cli.config import mask_url
from server.cli.main import cli
from tests.conftest import SettingsFactory
from tests.harness import free_port, live_server

SECRET = "k" * 40
CHAT_TIMEOUT_S = 60.0
_JWT = re.compile(r"^[\w-]+\.[\w-]+\.[\w-]+$")


def _run(args: list[str], **env: str) -> Result:
    # Wide enough that no table cell wraps.
    return CliRunner().invoke(cli, args, env={"COLUMNS": "200", **env})


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WS_")}
    return {**env, **extra}


async def _hello(url: str, token: str) -> Principal:
    async with NetraClient(url, token) as client:
        assert client.hello is not None
        return client.hello.principal


# token


async def test_a_minted_token_is_accepted_by_a_jwt_server(make_settings: SettingsFactory) -> None:
    settings = make_settings(
        auth_mode="jwt", jwt_secret=SECRET, jwt_issuer="https://idp.test", jwt_audience="netra"
    )
    result = _run(
        ["token", "-u", "alice", "--name", "Alice"],
        WS_AUTH_MODE="jwt",
        WS_JWT_SECRET=SECRET,
        WS_JWT_ISSUER="https://idp.test",
        WS_JWT_AUDIENCE="netra",
    )
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert _JWT.match(token)
    assert "alice (Alice)" in result.stderr
    assert "expires" in result.stderr
    async with live_server(settings) as live:
        assert await _hello(live.url, token) == UserPrincipal(id="alice", display_name="Alice")


async def test_a_service_token_carries_its_scopes(make_settings: SettingsFactory) -> None:
    args = ["token", "-u", "ci-bot", "--kind", "service", "--scope", "chat:read"]
    result = _run([*args, "--scope", "chat:write", "--secret", SECRET], WS_AUTH_MODE="jwt")
    assert result.exit_code == 0, result.stderr
    async with live_server(make_settings(auth_mode="jwt", jwt_secret=SECRET)) as live:
        principal = await _hello(live.url, result.stdout.strip())
    assert principal == ServicePrincipal(
        id="ci-bot", display_name="ci-bot", scopes=("chat:read", "chat:write")
    )


async def test_a_token_signed_with_another_secret_is_refused(
    make_settings: SettingsFactory,
) -> None:
    result = _run(["token", "-u", "mallory", "--secret", "x" * 40], WS_AUTH_MODE="jwt")
    assert result.exit_code == 0, result.stderr
    async with live_server(make_settings(auth_mode="jwt", jwt_secret=SECRET)) as live:
        with pytest.raises(NetraError) as refused:
            await _hello(live.url, result.stdout.strip())
    assert refused.value.code == "token_invalid"


async def test_a_dev_token_works_only_where_dev_auth_is_on(make_settings: SettingsFactory) -> None:
    refused = _run(
        ["token", "-u", "dee", "--kind", "dev"], WS_AUTH_MODE="jwt", WS_JWT_SECRET=SECRET
    )
    assert refused.exit_code == 2
    assert "refusing to mint a dev token" in refused.stderr
    assert refused.stdout == ""
    minted = _run(["token", "-u", "dee", "--kind", "dev"], WS_JWT_SECRET=SECRET)
    assert minted.exit_code == 0, minted.stderr
    async with live_server(make_settings(jwt_secret=SECRET)) as live:
        principal = await _hello(live.url, minted.stdout.strip())
    assert (principal.id, principal.kind) == ("dee", "dev")


def test_ttl_takes_seconds_or_durations() -> None:
    for ttl, seconds in (("3600", 3600), ("90m", 5400), ("1h30m", 5400), ("2d", 172800)):
        result = _run(["token", "-u", "a", "--ttl", ttl, "--secret", SECRET])
        assert result.exit_code == 0, result.stderr
        claims = jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
        assert claims["exp"] - claims["iat"] == seconds
    result = _run(["token", "-u", "a", "--ttl", "soon", "--secret", SECRET])
    assert result.exit_code == 2
    assert "--ttl" in result.stderr


def test_without_a_secret_token_points_to_dev_login() -> None:
    result = _run(["token", "-u", "alice"])
    assert result.exit_code == 2
    assert result.stdout == ""
    message = " ".join(result.stderr.split())
    assert "POST /api/auth/dev-login" in message
    assert "WS_JWT_SECRET" in message


async def test_only_the_token_reaches_stdout() -> None:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "server", "token", "-u", "alice"),
        env=_env(WS_JWT_SECRET=SECRET),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert _JWT.match(stdout.decode().rstrip("\n"))
    assert stdout.decode().count("\n") == 1
    assert "alice" in stderr.decode()


# config


def _config_env() -> dict[str, str]:
    return {
        "WS_JWT_SECRET": SECRET,
        "WS_DATABASE_URL": "postgresql://netra:hunter2@db.internal:5432/netra",
        "WS_REDIS_URL": "redis://:redispw@cache:6379/0",
        "WS_PORT": "9000",
    }


def test_config_masks_secrets_and_reports_sources() -> None:
    result = _run(["config"], **_config_env())
    assert result.exit_code == 0, result.stderr
    table = result.stdout
    for secret in (SECRET, "hunter2", "redispw"):
        assert secret not in table
    assert "postgresql://netra:***@db.internal:5432/netra" in table
    assert "redis://:***@cache:6379/0" in table
    assert re.search(r"WS_PORT\s*│\s*9000\s*│\s*env", table)
    assert re.search(r"WS_HOST\s*│\s*127\.0\.0\.1\s*│\s*default", table)
    assert re.search(r"WS_JWT_SECRET\s*│\s*\*\*\*\s*│\s*env", table)
    assert re.search(r"WS_TRANSPORTS\s*│\s*websocket\b.*│\s*derived", table)


def test_config_json_is_masked_too() -> None:
    result = _run(["config", "--json"], **_config_env())
    assert result.exit_code == 0, result.stderr
    assert "hunter2" not in result.stdout
    assert SECRET not in result.stdout
    document = json.loads(result.stdout)
    assert document["WS_PORT"] == {"value": 9000, "source": "env"}
    assert document["WS_HOST"] == {"value": "127.0.0.1", "source": "default"}
    assert document["WS_JWT_SECRET"]["value"] == "***"
    assert document["WS_JWT_PUBLIC_KEY"] == {"value": None, "source": "default"}
    assert document["WS_DATABASE_URL"]["value"] == "postgresql://netra:***@db.internal:5432/netra"
    assert document["WS_TRANSPORTS"]["value"] == ["websocket"]
    assert document["WS_TRANSPORTS"]["source"] == "derived"


def test_config_with_settings_the_server_refuses_exits_2() -> None:
    result = _run(["config"], WS_ENV="production")
    assert result.exit_code == 2
    assert "refusing to start" in result.stderr
    assert "WS_AUTH_MODE=dev is refused when WS_ENV=production" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        (
            {"WS_HOST": "0.0.0.0"},
            "WS_AUTH_MODE=dev with WS_HOST=0.0.0.0 (or --host), not a loopback address",
        ),
        (
            {"WS_AUTH_MODE": "jwt", "WS_JWT_SECRET": SECRET, "WS_JWT_JWKS_URL": "https://idp/j"},
            "WS_JWT_SECRET and WS_JWT_JWKS_URL are both set",
        ),
        (
            {"WS_RECONNECT_DELAY_MS": "800", "WS_RECONNECT_DELAY_MAX_MS": "700"},
            "WS_RECONNECT_DELAY_MS=800 is more than WS_RECONNECT_DELAY_MAX_MS=700",
        ),
        ({"WS_RECONNECT_ATTEMPTS": "0"}, "WS_RECONNECT_ATTEMPTS=0 means never"),
        (
            {"WS_ALLOWED_ORIGINS": "https://a.example/app"},
            "WS_ALLOWED_ORIGINS entry 'https://a.example/app' can never match",
        ),
        ({"WS_PUBLIC_URL": "https://a.example/ws"}, "WS_PUBLIC_URL=https://a.example/ws is not"),
        (
            {"WS_RATE_LIMIT_PER_MIN": "30", "WS_RATE_LIMIT_BURST": "40"},
            "WS_RATE_LIMIT_BURST=40 is more than WS_RATE_LIMIT_PER_MIN=30",
        ),
        (
            {"WS_RUN_HEARTBEAT_S": "20"},
            "WS_RUN_OWNER_TTL_S=15 must be longer than WS_RUN_HEARTBEAT_S=20",
        ),
    ],
)
def test_config_shows_why_a_combination_is_refused(env: dict[str, str], reason: str) -> None:
    result = _run(["config"], **env)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("netra-ws: refusing to start:\n")
    assert reason in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_config_shows_dev_auth_allowed_on_the_network_with_a_warning() -> None:
    env = {"WS_HOST": "0.0.0.0", "WS_ALLOW_DEV_AUTH_ON_NETWORK": "1"}
    result = _run(["config"], **env)
    assert result.exit_code == 0, result.stderr
    assert re.search(r"WS_ALLOW_DEV_AUTH_ON_NETWORK\s*│\s*true\s*│\s*env", result.stdout)
    [warning] = result.stderr.splitlines()
    assert warning.startswith("netra-ws: warning: dev auth on 0.0.0.0, not loopback")
    assert "POST /api/auth/dev-login" in warning
    document = json.loads(_run(["config", "--json"], **env).stdout)
    assert document["WS_ALLOW_DEV_AUTH_ON_NETWORK"] == {"value": True, "source": "env"}
    default = json.loads(_run(["config", "--json"]).stdout)
    assert default["WS_ALLOW_DEV_AUTH_ON_NETWORK"] == {"value": False, "source": "default"}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:///./data/netra.db", "sqlite:///./data/netra.db"),
        ("postgresql://u:p%40ss@h/db", "postgresql://u:***@h/db"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
        (
            "postgresql://h/db?sslmode=require&password=pw",
            "postgresql://h/db?sslmode=require&password=***",
        ),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


# --help and --version


def test_every_command_has_help_with_examples() -> None:
    overview = _run(["--help"])
    assert overview.exit_code == 0
    for command in ("serve", "smoke", "token", "config", "chat"):
        assert command in overview.stdout
        page = _run([command, "--help"])
        assert page.exit_code == 0
        assert "Examples" in page.stdout, command
    version = _run(["--version"])
    assert version.exit_code == 0
    assert re.fullmatch(r"netra-ws \d+\.\d+\.\d+\S*\n", version.stdout)


# chat


async def _chat(url: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "server", "chat", url, *args),
        env=_env(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_chat_streams_answers_and_tool_calls(make_settings: SettingsFactory) -> None:
    async with live_server(make_settings()) as live:
        process = await _chat(live.url, "--user", "x")
        stdout, stderr = await asyncio.wait_for(
            process.communicate(b"count to 5\ncalculate 6*7\n"), CHAT_TIMEOUT_S
        )
    out = stdout.decode()
    assert process.returncode == 0, stderr.decode()
    assert f"{PROMPT}count to 5\n1 2 3 4 5\n" in out
    assert '⚙ calculator({"expression": "6*7"}) → 42\n' in out
    assert out.rstrip().endswith("42.")
    assert "connected to" in stderr.decode()
    assert "as x (dev)" in stderr.decode()


async def test_chat_with_a_minted_token_on_a_jwt_server(make_settings: SettingsFactory) -> None:
    token = _run(["token", "-u", "tess", "--secret", SECRET], WS_AUTH_MODE="jwt").stdout.strip()
    async with live_server(make_settings(auth_mode="jwt", jwt_secret=SECRET)) as live:
        without = await _chat(live.url, "--user", "tess")
        _, refusal = await asyncio.wait_for(without.communicate(b""), CHAT_TIMEOUT_S)
        process = await _chat(live.url, "--token", token)
        stdout, stderr = await asyncio.wait_for(
            process.communicate(b"count to 3\n/threads\n"), CHAT_TIMEOUT_S
        )
    assert without.returncode == 2
    assert "pass --token" in refusal.decode()
    assert process.returncode == 0, stderr.decode()
    assert "1 2 3\n" in stdout.decode()
    assert "count to 3" in stdout.decode().split("/threads", 1)[1]


async def test_chat_rides_out_a_server_restart(make_settings: SettingsFactory) -> None:
    """Stopped mid-answer, the server ends the answer; the next line goes to the new one."""
    settings = make_settings(demo_tokens_per_s=20)
    port = free_port()
    async with live_server(settings, port) as live:
        process = await _chat(live.url, "--user", "rita")
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(b"count to 200\n")
        await asyncio.wait_for(process.stdout.readuntil(b"3 4"), CHAT_TIMEOUT_S)
    # A new app with a new dev-login secret: the client must sign in again to resume.
    async with live_server(settings, port):
        process.stdin.write(b"calculate 6*7\n")
        process.stdin.close()
        rest, stderr = await asyncio.wait_for(process.communicate(), CHAT_TIMEOUT_S)
    out, news = rest.decode(), stderr.decode()
    assert process.returncode == 0, news
    assert "⏹ stopped" in out
    assert '⚙ calculator({"expression": "6*7"}) → 42' in out
    assert "shutting down" in news
    assert "reconnected" in news
