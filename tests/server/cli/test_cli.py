"""The `netra-ws` command as an operator runs it: a real process."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.processes import refused_start, server_env, serving, stop_and_read_stderr
from tests.server.auth import tokens


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return server_env(WS_DATABASE_URL=f"sqlite:///{tmp_path}/netra.db", **extra)


async def test_serve_answers_health_and_discovery(tmp_path: Path) -> None:
    async with (
        serving(_env(tmp_path)) as server,
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/api/ws-config") as response,
    ):
        assert response.status == 200
        assert (await response.json())["path"] == "/socket.io"


async def test_json_logs_are_one_object_a_line(tmp_path: Path) -> None:
    async with serving(_env(tmp_path, WS_LOG_JSON="1"), capture_stderr=True) as server:
        async with aiohttp.ClientSession() as http:
            await http.post(f"{server.url}/api/auth/dev-login", json={"user_id": "jo"})
        lines = await stop_and_read_stderr(server.process)
    records = [orjson.loads(line) for line in lines]
    assert any(r["msg"].startswith("dev-login user=jo") and r["user"] == "jo" for r in records)
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)


async def test_dev_auth_in_production_refuses_to_start(tmp_path: Path) -> None:
    returncode, message = await refused_start(_env(tmp_path, WS_ENV="production"))
    assert returncode == 2
    assert "refusing to start" in message
    assert "WS_AUTH_MODE=dev is refused when WS_ENV=production" in message
    assert "Traceback" not in message


async def test_a_model_that_cannot_be_set_up_refuses_to_start(tmp_path: Path) -> None:
    returncode, message = await refused_start(_env(tmp_path, WS_AGENT_MODEL="openai:gpt-4o-mini"))
    assert returncode == 2
    assert "needs its provider package" in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("examples.nowhere:install", "No module named 'examples.nowhere'"),
        ("examples.notes:missing", "missing is not callable"),
        ("examples.notes", "write module.path:function"),
    ],
)
async def test_an_extension_that_cannot_load_refuses_to_start(
    tmp_path: Path, entry: str, reason: str
) -> None:
    returncode, message = await refused_start(_env(tmp_path, WS_EXTENSIONS=entry))
    assert returncode == 2
    assert "refusing to start" in message
    assert reason in message
    assert "Traceback" not in message


async def test_a_secret_and_a_public_key_together_refuse_to_start(tmp_path: Path) -> None:
    """Once started, such a server failed every connect with `internal`; now it stops at once."""
    env = _env(
        tmp_path,
        WS_AUTH_MODE="jwt",
        WS_JWT_SECRET=tokens.SECRET,
        WS_JWT_PUBLIC_KEY=tokens.public_pem(tokens.rsa_key("cli")),
    )
    returncode, message = await refused_start(env)
    assert returncode == 2
    assert "refusing to start" in message
    assert "WS_JWT_SECRET and WS_JWT_PUBLIC_KEY are both set" in message
    assert "Traceback" not in message


async def test_dev_auth_on_every_interface_refuses_to_start(tmp_path: Path) -> None:
    returncode, message = await refused_start(_env(tmp_path, WS_HOST="0.0.0.0"))
    assert returncode == 2
    reason = " ".join(message.split())
    assert "WS_AUTH_MODE=dev with WS_HOST=0.0.0.0 (or --host), not a loopback address" in reason
    assert "mint a token for any user through POST /api/auth/dev-login" in reason
    assert "WS_AUTH_MODE=jwt" in reason
    assert "WS_ALLOW_DEV_AUTH_ON_NETWORK=1" in reason
    assert "Traceback" not in message


async def test_dev_auth_on_every_interface_starts_when_allowed_with_a_warning(
    tmp_path: Path,
) -> None:
    # Bound to 0.0.0.0, reached over loopback only.
    env = _env(tmp_path, WS_HOST="0.0.0.0", WS_ALLOW_DEV_AUTH_ON_NETWORK="1")
    async with serving(env, capture_stderr=True) as server:
        async with aiohttp.ClientSession() as http:
            login = await http.post(f"{server.url}/api/auth/dev-login", json={"user_id": "jo"})
            assert login.status == 200
        lines = await stop_and_read_stderr(server.process)
    warnings = [line for line in lines if "WARNING" in line and "dev auth on 0.0.0.0" in line]
    assert len(warnings) == 1, lines
    assert "POST /api/auth/dev-login" in warnings[0]
