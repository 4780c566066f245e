"""A real, throwaway redis-server for tests: loopback only, no persistence, own directory."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

START_TIMEOUT_S = 10.0


def require_redis_server() -> str:
    binary = shutil.which("redis-server")
    if binary:
        return binary
    reason = "redis-server not on PATH (install the redis-server package)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process; `restart` keeps the port and, with no persistence, loses data."""

    def __init__(self, binary: str, directory: Path) -> None:
        self._binary = binary
        self._directory = directory
        self.port = _free_port()
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Redis:
        return Redis.from_url(self.url)

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            self._binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self._directory),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await self._wait_until_ready()

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def flushall(self) -> None:
        client = self.client()
        try:
            await client.flushall()
        finally:
            await client.aclose()

    async def _wait_until_ready(self) -> None:
        client = self.client()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        try:
            while True:
                assert self._process is not None
                if self._process.returncode is not None:
                    raise RuntimeError(f"redis-server exited with {self._process.returncode}")
                try:
                    if await client.ping():
                        return
                except (RedisError, OSError):
                    pass
                if loop.time() > deadline:
                    raise TimeoutError(f"redis-server on port {self.port} did not answer PING")
                await asyncio.sleep(0.01)
        finally:
            await client.aclose()


@asynccontextmanager
async def running_redis(directory: Path) -> AsyncIterator[RedisServer]:
    """Starts redis-server (skipping the test when it is missing) and stops it at the end."""
    server = RedisServer(require_redis_server(), directory)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    async with running_redis(tmp_path) as server:
        yield server
