"""Real processes in tests: `python -m server serve` started, awaited until it answers, and
stopped, for what only a process shows (the command line, signals, stderr, a node that dies)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from tests.harness import free_port

STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 30.0
_POLL_INTERVAL_S = 0.05


def server_env(**variables: str) -> dict[str, str]:
    """This process's environment without its WS_* settings, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WS_")}
    env.update(variables)
    return env


@dataclass(frozen=True)
class ServerProcess:
    process: asyncio.subprocess.Process
    url: str


async def _start(
    env: Mapping[str, str], port: int, capture_stderr: bool
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "serve",
        "--port",
        str(port),
        env=dict(env),
        stderr=asyncio.subprocess.PIPE if capture_stderr else None,
    )


@asynccontextmanager
async def serving(
    env: Mapping[str, str], *, port: int | None = None, capture_stderr: bool = False
) -> AsyncIterator[ServerProcess]:
    """The server on `port` (a free one if None) with exactly `env`, once /readyz answers;
    killed at the end unless the test stopped it."""
    port = port or free_port()
    server = ServerProcess(await _start(env, port, capture_stderr), f"http://127.0.0.1:{port}")
    try:
        if not await answers(server.process, f"{server.url}/readyz", STARTUP_TIMEOUT_S):
            raise AssertionError(f"server at {server.url} did not start")
        yield server
    finally:
        if server.process.returncode is None:
            server.process.kill()
            await server.process.wait()


async def answers(process: asyncio.subprocess.Process, url: str, within_s: float) -> bool:
    """Polls `url` until it answers 200 (True); False once `process` exits or time runs out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    async with aiohttp.ClientSession() as http:
        while process.returncode is None and loop.time() < deadline:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return True
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(_POLL_INTERVAL_S)
    return False


async def stop_and_read_stderr(process: asyncio.subprocess.Process) -> list[str]:
    """SIGTERM, then the non-blank lines the process wrote to stderr (captured)."""
    process.terminate()
    _, stderr = await asyncio.wait_for(process.communicate(), STOP_TIMEOUT_S)
    return [line for line in stderr.decode().splitlines() if line.strip()]


async def refused_start(env: Mapping[str, str]) -> tuple[int | None, str]:
    """Starts a server expected to refuse; its exit code and what it wrote to stderr."""
    process = await _start(env, free_port(), capture_stderr=True)
    _, stderr = await asyncio.wait_for(process.communicate(), STARTUP_TIMEOUT_S)
    return process.returncode, stderr.decode()
