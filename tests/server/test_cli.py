"""The `netra-ws` command as an operator runs it: a real process."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import orjson

from tests.harness import free_port

STARTUP_TIMEOUT_S = 20.0


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WS_")}
    env.update({"WS_DATABASE_URL": f"sqlite:///{tmp_path}/netra.db", **extra})
    return env


@asynccontextmanager
async def _serving(
    tmp_path: Path, **extra: str
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "serve",
        "--port",
        str(port),
        env=_env(tmp_path, **extra),
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(int(STARTUP_TIMEOUT_S / 0.1)):
                try:
                    async with http.get(f"{url}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("server did not start")
        yield url, process
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)


async def test_serve_answers_health_and_discovery(tmp_path: Path) -> None:
    async with (
        _serving(tmp_path) as (url, _),
        aiohttp.ClientSession() as http,
        http.get(f"{url}/api/ws-config") as response,
    ):
        assert response.status == 200
        assert (await response.json())["path"] == "/socket.io"


async def test_json_logs_are_one_object_a_line(tmp_path: Path) -> None:
    async with _serving(tmp_path, WS_LOG_JSON="1") as (url, process):
        async with aiohttp.ClientSession() as http:
            await http.post(f"{url}/api/auth/dev-login", json={"user_id": "jo"})
        process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    records = [orjson.loads(line) for line in lines]
    assert any(r["msg"].startswith("dev-login user=jo") and r["user"] == "jo" for r in records)
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)


async def test_dev_auth_in_production_refuses_to_start(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "serve",
        env=_env(tmp_path, WS_ENV="production"),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), STARTUP_TIMEOUT_S)
    assert process.returncode == 2
    message = stderr.decode()
    assert "refusing to start" in message
    assert "WS_AUTH_MODE=dev is refused when WS_ENV=production" in message
    assert "Traceback" not in message


async def test_a_model_that_cannot_be_set_up_refuses_to_start(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "serve",
        env=_env(tmp_path, WS_AGENT_MODEL="openai:gpt-4o-mini"),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), STARTUP_TIMEOUT_S)
    assert process.returncode == 2
    assert "needs its provider package" in stderr.decode()
    assert "Traceback" not in stderr.decode()
