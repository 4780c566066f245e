"""`netra-ws smoke`: drive a server end to end through `netra_client` and report each step.

With no URL a throwaway server runs in this process (loopback, free port, temporary SQLite);
with a URL that server is checked instead. Every step is timed and passes or fails on its own;
steps whose prerequisite failed are skipped rather than reported as extra failures.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
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

from netra_client import NetraClient, NetraError, RunTranscript, Sequenced, dev_login, discover
from schemas.chat import AgentDelta, Example, UserStreamPayload
from schemas.discovery import WsConfig
from schemas.registry import SERVER_EVENTS
from server.settings import Settings

Status = Literal["PASS", "FAIL", "SKIP"]
STEP_TIMEOUT_S = 30.0
# Below the step's own limit, so a slow run reports the client's timeout, not the step's.
RUN_TIMEOUT_S = 25.0

_COUNT_RE = re.compile(r"^\s*count\s+to\s+(\d+)\s*$", re.IGNORECASE)
_CALCULATE_RE = re.compile(r"^\s*calculate\s+(.+?)\s*$", re.IGNORECASE | re.DOTALL)
# A sentence ends at . ! or ? (closing quotes and brackets allowed) before a space or the end.
_SENTENCE_END_RE = re.compile(r"[.!?][\"')\]]*(?=\s|$)")
_MIN_SENTENCES = 3
_STYLES: dict[Status, str] = {"PASS": "green", "FAIL": "bold red", "SKIP": "yellow"}


class CheckFailed(Exception):
    """An expectation the server did not meet; the message is the FAIL detail."""


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


class _Smoke:
    def __init__(self, report: SmokeReport) -> None:
        self.report = report
        self.url = report.target or ""
        self.config: WsConfig | None = None
        self.token = ""
        self.client: NetraClient | None = None
        self.examples: dict[str, Example] = {}
        self.runs: dict[str, RunTranscript] = {}
        self.seqs: list[int] = []
        self.first_seq = 1

    async def step(
        self, name: str, needs: tuple[str, ...], check: Callable[[], Awaitable[str]]
    ) -> None:
        passed = {s.name for s in self.report.steps if s.status == "PASS"}
        missing = [need for need in needs if need not in passed]
        if missing:
            self.report.steps.append(StepResult(name, "SKIP", 0.0, f"needs {', '.join(missing)}"))
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
        self.report.steps.append(StepResult(name, status, ms, detail))

    def connected(self) -> NetraClient:
        assert self.client is not None
        return self.client

    async def discovery(self) -> str:
        self.config = config = await discover(self.url)
        transports = "+".join(config.transports)
        return (
            f"protocol {config.protocol_version}, server {config.server_version}, "
            f"auth {config.auth.mode}, {transports}"
        )

    async def dev_login(self) -> str:
        assert self.config is not None
        if self.config.auth.mode != "dev":
            raise CheckFailed("the server uses jwt auth, so dev-login is off")
        login = await dev_login(self.url, user_id=f"smoke-{secrets.token_hex(4)}")
        self.token = login.token
        return f"user {login.principal.id}, expires {login.expires_at:%Y-%m-%d %H:%M}Z"

    async def connect(self) -> str:
        self.client = client = NetraClient(self.url, self.token)

        def record(item: Sequenced[UserStreamPayload]) -> None:
            self.seqs.append(item.seq)

        for model in SERVER_EVENTS:
            if issubclass(model, UserStreamPayload):
                client.on(model, record)
        await client.connect()
        hello, ready = client.hello, client.ready
        # connect() returns only once both arrived.
        assert hello is not None
        assert ready is not None
        self.first_seq = ready.head_seq + 1
        return f"hello as {hello.principal.id}; ready {ready.recovery}, head_seq {ready.head_seq}"

    async def ping(self) -> str:
        started = time.perf_counter()
        await self.connected().ping()
        return f"round trip {(time.perf_counter() - started) * 1000:.1f} ms"

    async def list_examples(self) -> str:
        examples = (await self.connected().examples()).examples
        for example in examples:
            kind = (
                "count"
                if _COUNT_RE.match(example.prompt)
                else "calculate"
                if _CALCULATE_RE.match(example.prompt)
                else "other"
            )
            self.examples.setdefault(kind, example)
        missing = {"count", "calculate", "other"} - set(self.examples)
        if len(examples) < 3 or missing:
            raise CheckFailed(f"{len(examples)} examples; no {', '.join(sorted(missing))} kind")
        return f"{len(examples)} examples: count, calculate, other"

    async def run(self, kind: str) -> RunTranscript:
        transcript = await self.connected().run_prompt(
            self.examples[kind].prompt, timeout_s=RUN_TIMEOUT_S
        )
        self.runs[kind] = transcript
        if transcript.outcome != "completed":
            raise CheckFailed(f"run {transcript.outcome}: {transcript.error}")
        return transcript

    async def run_count(self) -> str:
        match = _COUNT_RE.match(self.examples["count"].prompt)
        assert match is not None
        expected = " ".join(str(i) for i in range(1, int(match.group(1)) + 1))
        transcript = await self.run("count")
        if transcript.text != expected or transcript.streamed_text != expected:
            raise CheckFailed(f"expected {expected!r}, got {transcript.text[:60]!r}")
        deltas = sum(isinstance(item.event, AgentDelta) for item in transcript.events)
        shown = expected if len(expected) <= 20 else f"1 2 ... {expected.rsplit(' ', 1)[-1]}"
        return f"exact {shown!r}, {deltas} delta{'' if deltas == 1 else 's'}"

    async def run_calculate(self) -> str:
        match = _CALCULATE_RE.match(self.examples["calculate"].prompt)
        assert match is not None
        transcript = await self.run("calculate")
        calls, results = transcript.tool_calls, transcript.tool_results
        if len(calls) != 1 or len(results) != 1:
            raise CheckFailed(f"{len(calls)} tool calls and {len(results)} results, expected 1")
        args, result = calls[0].args, results[0].result
        if not isinstance(args, dict) or args.get("expression") != match.group(1):
            raise CheckFailed(f"tool args {args!r}, expected {{'expression': {match.group(1)!r}}}")
        if isinstance(result, bool) or not isinstance(result, int | float):
            raise CheckFailed(f"tool result {result!r} is {type(result).__name__}, not a number")
        if str(result) not in transcript.text:
            raise CheckFailed(f"answer {transcript.text!r} does not contain {result}")
        return f"{calls[0].name}({args}) -> {result}; answer {_clip(transcript.text)!r}"

    async def run_other(self) -> str:
        transcript = await self.run("other")
        sentences = len(_SENTENCE_END_RE.findall(transcript.text))
        if sentences < _MIN_SENTENCES:
            raise CheckFailed(f"{sentences} sentences: {_clip(transcript.text)!r}")
        return f"{sentences} sentences, {len(transcript.text)} chars"

    async def history(self) -> str:
        transcript = self.runs["count"]
        messages = (await self.connected().history(transcript.thread_id)).messages
        answer = next(
            (m for m in messages if m.role == "assistant" and m.run_id == transcript.run_id), None
        )
        if answer is None:
            raise CheckFailed(f"no assistant message for run {transcript.run_id}")
        if answer.status != "complete" or answer.text != transcript.text:
            raise CheckFailed(f"assistant message {answer.status}: {_clip(answer.text)!r}")
        return f"{len(messages)} messages, assistant answer complete"

    async def resend(self) -> str:
        transcript = self.runs["count"]
        again = await self.connected().send(
            self.examples["count"].prompt, transcript.thread_id, transcript.client_msg_id
        )
        same = (again.message_id, again.run_id) == (transcript.sent.message_id, transcript.run_id)
        if not (again.duplicate and same):
            raise CheckFailed(f"duplicate={again.duplicate}, message {again.message_id}")
        return "same client_msg_id -> duplicate=true, same message and run"

    async def seq_contiguity(self) -> str:
        client = self.connected()
        first = self.first_seq
        expected = list(range(first, first + len(self.seqs)))
        if not self.seqs or self.seqs != expected:
            raise CheckFailed(f"seqs not {first}, {first + 1}, ...: {self.seqs[:20]}")
        if client.cursor.duplicates or client.cursor.gaps:
            raise CheckFailed(
                f"{client.cursor.duplicates} repeats, gaps at {client.cursor.gaps[:5]}"
            )
        return f"{len(self.seqs)} events, seq {self.seqs[0]}..{self.seqs[-1]}, no gaps or repeats"


async def run_smoke(url: str | None = None) -> SmokeReport:
    """Run every step against `url`, or against a server started here when it is None."""
    report = SmokeReport(target=url.rstrip("/") if url else None)
    smoke = _Smoke(report)
    async with AsyncExitStack() as stack:
        if url is None:

            async def start() -> str:
                try:
                    server = local_server()
                    smoke.url = report.target = await stack.enter_async_context(server)
                except ValidationError as exc:
                    raise CheckFailed(f"refusing to start: {_errors(exc)}") from None
                return f"{smoke.url}, temporary SQLite"

            await smoke.step("server", (), start)
        await smoke.step("discovery", ("server",) if url is None else (), smoke.discovery)
        await smoke.step("dev-login", ("discovery",), smoke.dev_login)
        try:
            await smoke.step("connect", ("dev-login",), smoke.connect)
            await smoke.step("ping", ("connect",), smoke.ping)
            await smoke.step("examples", ("connect",), smoke.list_examples)
            await smoke.step("run count", ("examples",), smoke.run_count)
            await smoke.step("run calculate", ("examples",), smoke.run_calculate)
            await smoke.step("run other", ("examples",), smoke.run_other)
            await smoke.step("history", ("run count",), smoke.history)
            await smoke.step("idempotent resend", ("run count",), smoke.resend)
            await smoke.step("seq contiguity", ("connect",), smoke.seq_contiguity)
        finally:
            if smoke.client is not None:
                await smoke.client.close()
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


def _clip(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
