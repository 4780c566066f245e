"""The `netra-ws` command as an operator runs it: a real process."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import orjson

from tests.processes import refused_start, server_env, serving, stop_and_read_stderr


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
