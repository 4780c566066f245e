"""`netra-ws smoke`: drive a server end to end through `netra_client` and report each step.

With no URL a throwaway server runs in this process (loopback, free port, temporary SQLite);
with a URL that server is checked instead. Every step is timed and passes or fails on its own;
steps whose prerequisite failed are skipped rather than reported as extra failures.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from netra_client import NetraError
from netra_client.smoke_checks import CheckFailed, SmokeChecks
from server.settings import Settings

Status = Literal["PASS", "FAIL", "SKIP"]
STEP_TIMEOUT_S = 30.0
_STYLES: dict[Status, str] = {"PASS": "green", "FAIL": "bold red", "SKIP": "yellow"}


@dataclass(frozen=True)
class StepResult:
    name: str
    status: Status
    ms: float
    detail: str


@dataclass
class SmokeReport:
    target: str | None = None
    steps: list[StepResult] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(step.status == status for step in self.steps)

    @property
    def ok(self) -> bool:
        return self.count("FAIL") == 0 and self.count("PASS") > 0

    def summary(self) -> str:
        line = f"{self.count('PASS')} passed, {self.count('FAIL')} failed"
        skipped = self.count("SKIP")
        return f"{line}, {skipped} skipped" if skipped else line


def local_settings(db_dir: str) -> Settings:
    """WS_* settings from the environment, pinned to a private loopback dev server."""
    overrides: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 0,
        "env": "development",
        "auth_mode": "dev",
        "public_url": None,
        "database_url": f"sqlite:///{db_dir}/smoke.db",
    }
    if "WS_DEMO_TOKENS_PER_S" not in os.environ:
        overrides["demo_tokens_per_s"] = 0
    return Settings(**overrides)  # type: ignore[arg-type]


@asynccontextmanager
async def local_server() -> AsyncIterator[str]:
    """A server on a free 127.0.0.1 port with a temporary database; yields its URL."""
    from server.app import create_app

    with tempfile.TemporaryDirectory(prefix="netra-smoke-") as db_dir:
        runner = web.AppRunner(create_app(local_settings(db_dir)), shutdown_timeout=2)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            yield f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()


async def _step(
    report: SmokeReport, name: str, needs: tuple[str, ...], check: Callable[[], Awaitable[str]]
) -> None:
    """Runs one check, timed, as a row of the report; skipped if a step it needs did not pass."""
    passed = {s.name for s in report.steps if s.status == "PASS"}
    missing = [need for need in needs if need not in passed]
    if missing:
        report.steps.append(StepResult(name, "SKIP", 0.0, f"needs {', '.join(missing)}"))
        return
    started = time.perf_counter()
    status: Status = "PASS"
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            detail = await check()
    except (CheckFailed, NetraError) as exc:
        status, detail = "FAIL", str(exc)
    except TimeoutError:
        status, detail = "FAIL", f"no answer within {STEP_TIMEOUT_S:g} s"
    except Exception as exc:  # a smoke check reports every fault as a row
        status, detail = "FAIL", f"{type(exc).__name__}: {exc}"
    ms = (time.perf_counter() - started) * 1000
    report.steps.append(StepResult(name, status, ms, detail))


async def run_smoke(url: str | None = None) -> SmokeReport:
    """Run every step against `url`, or against a server started here when it is None."""
    report = SmokeReport(target=url.rstrip("/") if url else None)
    checks = SmokeChecks(report.target or "")
    async with AsyncExitStack() as stack:
        if url is None:

            async def start() -> str:
                try:
                    server = local_server()
                    checks.url = report.target = await stack.enter_async_context(server)
                except ValidationError as exc:
                    raise CheckFailed(f"refusing to start: {_errors(exc)}") from None
                return f"{checks.url}, temporary SQLite"

            await _step(report, "server", (), start)
        await _step(report, "discovery", ("server",) if url is None else (), checks.discovery)
        await _step(report, "dev-login", ("discovery",), checks.dev_login)
        try:
            await _step(report, "connect", ("dev-login",), checks.connect)
            await _step(report, "ping", ("connect",), checks.ping)
            await _step(report, "examples", ("connect",), checks.list_examples)
            await _step(report, "run count", ("examples",), checks.run_count)
            await _step(report, "run calculate", ("examples",), checks.run_calculate)
            await _step(report, "run other", ("examples",), checks.run_other)
            await _step(report, "history", ("run count",), checks.history)
            await _step(report, "idempotent resend", ("run count",), checks.resend)
            await _step(report, "seq contiguity", ("connect",), checks.seq_contiguity)
        finally:
            if checks.client is not None:
                await checks.client.close()
    return report


def render(report: SmokeReport, console: Console) -> None:
    """The report as a table, then the one-line tally."""
    title = Text(f"netra-ws smoke: {report.target or 'no server'}")
    table = Table(title=title, title_justify="left")
    table.add_column("step", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("ms", justify="right", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for step in report.steps:
        table.add_row(
            step.name,
            Text(step.status, style=_STYLES[step.status]),
            f"{step.ms:.0f}" if step.status != "SKIP" else "",
            # Text, not markup: details quote server output such as "[Errno 111]".
            Text(step.detail),
        )
    console.print(table)
    console.print(Text(report.summary(), style="green" if report.ok else "bold red"))


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
    )
