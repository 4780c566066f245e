"""Process plumbing for the benchmark: servers pinned to core 0, the Node load generator
pinned to core 1, readiness, CPU and memory read from /proc, progress lines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
NODE_DIR = BENCH / "node"
SERVER_CORE = 0
GENERATOR_CORE = 1
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_T0 = time.monotonic()


def progress(text: str) -> None:
    print(f"[{time.monotonic() - _T0:7.1f}s] {text}", flush=True)


def show_written(markdown: str, files: Sequence[Path]) -> None:
    """Print a result's markdown, then where its files went (relative to the project)."""
    print()
    print(markdown)
    shown = [p.relative_to(ROOT) if p.is_relative_to(ROOT) else p for p in files]
    progress(f"wrote {', '.join(str(p) for p in shown)}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pin_self_to_generator_core() -> None:
    """The harness itself stays off the server's core."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > GENERATOR_CORE:
        os.sched_setaffinity(0, {GENERATOR_CORE})


def raise_fd_limit(wanted: int) -> int:
    """Raises the soft open-files limit (inherited by children) toward `wanted`; returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return wanted if soft == resource.RLIM_INFINITY else soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def check_tools() -> None:
    missing = [tool for tool in ("taskset", "node") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"bench: missing {', '.join(missing)} on PATH")
    if (os.cpu_count() or 1) < 2:
        sys.exit("bench: needs at least 2 cores (server on core 0, generator on core 1)")
    if not (NODE_DIR.parent / "node_modules" / "socket.io-client").is_dir():
        sys.exit("bench: run `npm ci --prefix bench` first (make bench does)")


@dataclass
class ServerSpec:
    key: str
    label: str
    argv: list[str]  # "{port}" is replaced by the port chosen
    env: dict[str, str] = field(default_factory=dict)
    login: bool = False  # the full stack needs a dev token from /api/auth/dev-login
    ready_event: str | None = None  # a /chat connect is complete when this arrives

    def generator_options(self) -> dict[str, Any]:
        return {"login": self.login, "ready_event": self.ready_event}


def _clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WS_")}
    env.update(extra)
    return env


class ServerProcess:
    """One server under test, started as its own process on core 0."""

    def __init__(self, spec: ServerSpec, workdir: Path) -> None:
        self.spec = spec
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{spec.key}-{self.port}.log"
        self._log = self.log_path.open("wb")
        argv = [a.replace("{port}", str(self.port)) for a in spec.argv]
        env = _clean_env(
            {
                k: v.replace("{workdir}", str(workdir)).replace("{port}", str(self.port))
                for k, v in spec.env.items()
            }
        )
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(SERVER_CORE), *argv],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.pid = self.proc.pid  # taskset execs the command: same pid

    async def wait_ready(self) -> float:
        started = time.monotonic()
        deadline = started + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.spec.label} exited early:\n{self.log_tail()}")
            if await asyncio.to_thread(self._healthy):
                return time.monotonic() - started
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.spec.label} not ready in {READY_TIMEOUT_S}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_s(self) -> float:
        # Fields after the command name: utime and stime are the 12th and 13th.
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


@contextlib.asynccontextmanager
async def running(spec: ServerSpec, workdir: Path) -> AsyncIterator[ServerProcess]:
    progress(f"{spec.label}: starting")
    server = None
    for attempt in (1, 2):
        server = ServerProcess(spec, workdir)
        try:
            took = await server.wait_ready()
            break
        except RuntimeError as exc:
            server.stop()
            if attempt == 2:
                raise
            progress(f"{spec.label}: not ready ({exc}); trying once more on another port")
    assert server is not None
    try:
        progress(f"{spec.label}: ready on port {server.port} after {took:.1f}s")
        yield server
    finally:
        server.stop()
        progress(f"{spec.label}: stopped")


def core_jiffies() -> dict[int, tuple[int, int]]:
    """Per core: (busy, total) jiffies since boot, from /proc/stat."""
    out: dict[int, tuple[int, int]] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        ticks = [int(v) for v in values[:8]]
        idle = ticks[3] + ticks[4]  # idle + iowait
        out[int(name[3:])] = (sum(ticks) - idle, sum(ticks))
    return out


async def wait_quiet(
    max_wait_s: float = 45.0,
    sample_s: float = 1.0,
    threshold_percent: float = 15.0,
    ignore_pids: tuple[int, ...] = (),
) -> dict[str, Any]:
    """Waits (bounded) until cores 0 and 1 are nearly idle, so other work on the machine does
    not land inside a measurement; returns what it saw. `ignore_pids`: our own idle server."""
    started = time.monotonic()
    said = False
    while True:
        before, own_before = core_jiffies(), _pids_cpu_s(ignore_pids)
        await asyncio.sleep(sample_s)
        after, own_after = core_jiffies(), _pids_cpu_s(ignore_pids)
        own = 100.0 * (own_after - own_before) / sample_s
        busy = {}
        for core in (SERVER_CORE, GENERATOR_CORE):
            used = after[core][0] - before[core][0]
            total = after[core][1] - before[core][1]
            busy[core] = 100.0 * used / total if total else 0.0
        others = max(0.0, busy[SERVER_CORE] - own), busy[GENERATOR_CORE]
        waited = time.monotonic() - started
        if max(others) <= threshold_percent:
            return {"quiet": True, "waited_s": round(waited, 1), "other_load": others}
        if waited >= max_wait_s:
            progress(
                f"  other processes busy (core 0 {others[0]:.0f}%, core 1 {others[1]:.0f}%) "
                f"after {waited:.0f}s; measuring anyway"
            )
            return {"quiet": False, "waited_s": round(waited, 1), "other_load": others}
        if not said and max_wait_s > 0:
            progress(
                f"  other processes busy (core 0 {others[0]:.0f}%, core 1 {others[1]:.0f}%); "
                f"waiting up to {max_wait_s:.0f}s for quiet"
            )
            said = True


def _pids_cpu_s(pids: tuple[int, ...]) -> float:
    total = 0.0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


class CpuWindow:
    """Between two marks: the server's CPU use (% of one core) and how busy cores 0 and 1
    were in all (so CPU taken by other processes on the machine shows up)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.start: tuple[float, float, dict[int, tuple[int, int]]] | None = None
        self.percent: float | None = None
        self.core_busy: dict[int, float] = {}

    def begin(self) -> None:
        self.start = (time.monotonic(), self.server.cpu_s(), core_jiffies())

    def end(self) -> None:
        if self.start is None:
            return
        wall = time.monotonic() - self.start[0]
        self.percent = 100.0 * (self.server.cpu_s() - self.start[1]) / wall if wall > 0 else None
        now = core_jiffies()
        for core in (SERVER_CORE, GENERATOR_CORE):
            if core in now and core in self.start[2]:
                busy = now[core][0] - self.start[2][core][0]
                total = now[core][1] - self.start[2][core][1]
                self.core_busy[core] = 100.0 * busy / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "server_cpu_percent": self.percent,
            "core0_busy_percent": self.core_busy.get(SERVER_CORE),
            "core1_busy_percent": self.core_busy.get(GENERATOR_CORE),
        }


MarkHandler = Callable[[str, str, "Generator"], Awaitable[None]]


class Generator:
    """The Node load generator on core 1; feeds its MARK lines to `on_mark`."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{line}\n".encode())
        await self.proc.stdin.drain()


async def run_generator(
    options: dict[str, Any],
    on_mark: MarkHandler | None = None,
    timeout_s: float = 900.0,
    label: str = "",
) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        "taskset",
        "-c",
        str(GENERATOR_CORE),
        "node",
        str(NODE_DIR / "load.mjs"),
        json.dumps({**options, "hard_limit_s": int(timeout_s)}),
        cwd=BENCH,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    generator = Generator(proc)
    tail: list[str] = []

    async def read_stderr() -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            tail.append(line)
            del tail[:-20]
            if line.startswith("MARK "):
                name, _, arg = line[5:].partition(" ")
                if on_mark is not None:
                    await on_mark(name, arg.strip(), generator)
            elif line.startswith("[load]"):
                progress(f"  {label}{line[6:]}")

    async def read_stdout() -> bytes:
        assert proc.stdout is not None
        return await proc.stdout.read()

    try:
        out, _, code = await asyncio.wait_for(
            asyncio.gather(read_stdout(), read_stderr(), proc.wait()), timeout_s + 30
        )
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"load generator timed out: {' | '.join(tail[-5:])}") from None
    if code != 0:
        raise RuntimeError(f"load generator failed ({code}): {' | '.join(tail[-5:])}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def make_workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="netra-bench-")
