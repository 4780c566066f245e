"""`netra-ws smoke`: passes against a healthy server, fails cleanly when there is none."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from typer.testing import CliRunner

from netra_client.smoke import run_smoke
from server.cli.main import cli
from tests.conftest import SettingsFactory
from tests.harness import LiveServer, live_server

SUBPROCESS_TIMEOUT_S = 90.0
STEPS = [
    "discovery",
    "dev-login",
    "connect",
    "ping",
    "examples",
    "run count",
    "run calculate",
    "run other",
    "history",
    "idempotent resend",
    "seq contiguity",
]


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_every_step_passes_against_a_live_server(server: LiveServer) -> None:
    report = await run_smoke(server.url)
    assert [(s.name, s.status) for s in report.steps] == [(name, "PASS") for name in STEPS]
    assert report.ok
    assert report.summary() == f"{len(STEPS)} passed, 0 failed"


async def test_command_prints_the_table_and_exits_0(server: LiveServer) -> None:
    # The command runs its own event loop, so it gets a thread while this loop serves.
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["smoke", server.url])
    assert result.exit_code == 0, result.output
    assert f"{len(STEPS)} passed, 0 failed" in result.output
    for name in STEPS:
        assert name in result.output
    assert "FAIL" not in result.output


async def test_a_failed_step_fails_the_run_and_skips_what_needs_it(
    make_settings: SettingsFactory,
) -> None:
    async with live_server(make_settings(auth_mode="jwt", jwt_secret="s" * 32)) as live:
        report = await run_smoke(live.url)
    statuses = {s.name: s.status for s in report.steps}
    assert statuses["discovery"] == "PASS"
    assert statuses["dev-login"] == "FAIL"
    assert statuses["connect"] == "SKIP"
    assert not report.ok
    assert report.summary() == f"1 passed, 1 failed, {len(STEPS) - 2} skipped"


def test_nothing_listening_exits_1_with_a_fail_row() -> None:
    result = CliRunner().invoke(cli, ["smoke", f"http://127.0.0.1:{_unused_port()}"])
    assert result.exit_code == 1
    assert not isinstance(result.exception, Exception)  # typer.Exit, not a crash
    assert "Traceback" not in result.output
    discovery_row = next(line for line in result.output.splitlines() if "discovery" in line)
    assert "FAIL" in discovery_row
    assert "0 passed, 1 failed" in result.output


async def test_without_a_url_it_starts_its_own_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WS_")}
    env["COLUMNS"] = "160"  # one table row per line
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "smoke",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), SUBPROCESS_TIMEOUT_S)
    output = stdout.decode()
    assert process.returncode == 0, output + stderr.decode()
    assert f"{len(STEPS) + 1} passed, 0 failed" in output
    assert "server" in output
    assert "Traceback" not in stderr.decode()
