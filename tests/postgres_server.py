"""A real, throwaway PostgreSQL server for tests: loopback only, no fsync, own directory.

PostgreSQL refuses to run as root, and CI runs the tests as root. When the test process is
root, initdb and postgres therefore run as an unprivileged user (``postgres``, created by
the Debian package, else ``nobody``) through the user/group switch of subprocess; the data
directory is created outside pytest's root-only tmp tree and handed over to that user.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
SUPERUSER = "postgres"
_SERVER_BINARIES = ("initdb", "postgres", "pg_isready")
_INITDB_ARGS = ("-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
# Durability is pointless for a throwaway cluster, and skipping it makes tests faster.
_SETTINGS = (
    "listen_addresses=127.0.0.1",
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "shared_buffers=32MB",
)


def require_postgres_bindir() -> Path:
    """Directory holding initdb and postgres; skips the test (fails it under CI) if none."""
    # Debian keeps the server binaries off PATH, one directory per major version.
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_major, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in _SERVER_BINARIES):
            return bindir
    reason = "PostgreSQL server binaries not found (install the postgresql package)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _major(bindir: Path) -> int:
    version = bindir.parent.name
    return int(version) if version.isdigit() else 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_as() -> dict[str, Any]:
    """subprocess arguments that drop root privileges; empty when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        user = pwd.getpwnam("nobody")
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


class PostgresServer:
    """One postgres process over its own cluster; `stop` then `start` keeps the data."""

    def __init__(self, bindir: Path) -> None:
        self._bindir = bindir
        self._run_as = _run_as()
        # Short and outside pytest's tmp tree: the socket path has a ~100 byte limit, and
        # /tmp/pytest-of-root (like a private $TMPDIR) is closed to the unprivileged user.
        parent = "/tmp" if self._run_as else None
        self.root = Path(tempfile.mkdtemp(prefix="netra-pg-", dir=parent))
        if self._run_as:
            os.chown(self.root, self._run_as["user"], self._run_as["group"])
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        data = self.root / "data"
        if not data.exists():
            initdb = self._run("initdb", "-D", str(data), *_INITDB_ARGS)
            if initdb.returncode != 0:
                raise RuntimeError(f"initdb failed: {initdb.stdout.decode(errors='replace')}")
        command = [str(self._bindir / "postgres"), "-D", str(data), "-p", str(self.port)]
        command += ["-k", str(self.root)]
        for setting in _SETTINGS:
            command += ["-c", setting]
        with (self.root / "postgres.log").open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env=self._env,
                **self._run_as,
            )
        self._wait_until_ready()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        # SIGINT is PostgreSQL's "fast" shutdown: it disconnects clients instead of
        # waiting for them, as the default SIGTERM ("smart") shutdown would.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    async def create_database(self) -> str:
        """Create an empty database and return its URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)

    async def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        conn = await asyncpg.connect(self.url())
        try:
            # FORCE: a test that failed mid-way may have left connections behind.
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def _run(self, binary: str, *args: str) -> subprocess.CompletedProcess[bytes]:
        command = [str(self._bindir / binary), *args]
        return subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            env=self._env,
            check=False,
            **self._run_as,
        )

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        ready = ("-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres")
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self._process.returncode}: {self.log()}")
            if self._run("pg_isready", *ready).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"postgres on port {self.port} not ready: {self.log()}")
            time.sleep(0.02)

    def log(self) -> str:
        path = self.root / "postgres.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _started(bindir: Path) -> PostgresServer:
    server = PostgresServer(bindir)
    try:
        server.start()
    except BaseException:
        server.remove()
        raise
    return server


@asynccontextmanager
async def running_postgres() -> AsyncIterator[PostgresServer]:
    """A server of its own, for tests that stop or restart it; removed at the end."""
    server = await asyncio.to_thread(_started, require_postgres_bindir())
    try:
        yield server
    finally:
        await asyncio.to_thread(server.remove)


# Registered under their `name`, so test modules import them without shadowing warnings.
@pytest.fixture(name="postgres_server", scope="module")
def fixture_postgres_server() -> Iterator[PostgresServer]:
    """One server per test module; tests isolate themselves with `postgres_url`."""
    server = _started(require_postgres_bindir())
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(name="postgres_url")
async def fixture_postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """URL of a fresh, empty database, dropped after the test."""
    url = await postgres_server.create_database()
    try:
        yield url
    finally:
        await postgres_server.drop_database(url)
