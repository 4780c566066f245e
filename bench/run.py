"""`make bench` / `make bench-quick`: every scenario, the full stack beside its baselines, in
one run on this machine. Writes bench/results/latest.{json,md,png} and prints the table.

    python -m bench [--quick] [--only rtt,hold,stream,resume]
    python -m bench [--quick] --only cluster    cross-node delivery, on its own
                                                (bench/cluster.py: bench/results/cluster.*)
    python -m bench [--quick] --only agent      CPU per token, create_agent graph vs our loop
                                                (bench/agent_cost.py: bench/results/agent_cost.*)
    python -m bench [--quick] --only history    chat history paging and search on SQLite
                                                (bench/history.py: bench/results/history.*)
    python -m bench [--quick] --only soak       200 streams for 10 minutes (--quick: 1):
                                                RSS slope and per-connection tables
                                                (bench/results/soak.*)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import urllib.request
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import cluster, history, provider_model, report
from bench.harness import (
    BENCH,
    GENERATOR_CORE,
    NODE_DIR,
    ROOT,
    SERVER_CORE,
    CpuWindow,
    Generator,
    ServerProcess,
    ServerSpec,
    check_tools,
    make_workdir,
    pin_self_to_generator_core,
    progress,
    raise_fd_limit,
    run_generator,
    running,
    show_written,
    wait_quiet,
)

RESULTS = BENCH / "results"
PY = sys.executable
SCENARIOS = ("rtt", "hold", "stream", "knee", "resume")
# (key, event, namespace) of the acked requests in scenario 1.
BENCH_RATE_LIMIT_PER_MIN = 100_000_000
REQUESTS = (("ping", "system:ping", "/system"), ("request", "chat:examples", "/chat"))


@dataclass(frozen=True)
class Plan:
    quick: bool
    rtt_clients: int = 50
    rtt_rounds: int = 3
    rtt_warmup_s: float = 2.0
    rtt_duration_s: float = 8.0
    hold_connections: int = 10_000
    hold_batch: int = 200
    hold_settle_s: float = 3.0
    hold_variants: bool = True  # also: bare and full stack with permessage-deflate accepted
    stream_clients: int = 200
    stream_text: str = "count to 100"
    stream_tokens_per_s: float = 50.0
    stream_warmup_s: float = 4.0
    stream_duration_s: float = 20.0
    calibration_duration_s: float = 6.0
    # The provider shape beside the demo: bench/provider_model.py at this pace.
    provider_tokens_per_s: float = 80.0
    # The knee: how many streams one core carries at p99 lag <= knee_max_p99_ms.
    knee_steps: tuple[int, ...] = (100, 150, 200, 300, 400, 500, 600)
    knee_max_p99_ms: float = 100.0
    knee_warmup_s: float = 3.0
    knee_duration_s: float = 10.0
    resume_events: int = 1000
    resume_repeats: int = 20
    # The soak (--only soak): 200 streams for soak_s, sampled every soak_sample_s.
    soak_s: float = 600.0
    soak_sample_s: float = 10.0
    # Before each measurement: wait (up to quiet_wait_s) for other processes to leave the
    # two cores alone, judged over quiet_sample_s windows.
    quiet_wait_s: float = 45.0
    quiet_sample_s: float = 1.0
    hold_before_s: float = 1.0


FULL_PLAN = Plan(quick=False)
QUICK_PLAN = Plan(
    quick=True,
    rtt_rounds=1,
    rtt_warmup_s=0.5,
    rtt_duration_s=1.5,
    hold_connections=1000,
    hold_batch=250,
    hold_settle_s=0.5,
    hold_variants=False,
    stream_warmup_s=0.8,
    stream_duration_s=2.5,
    calibration_duration_s=2.2,
    resume_repeats=5,
    knee_steps=(100, 200, 400),
    knee_warmup_s=0.8,
    knee_duration_s=2.5,
    soak_s=60.0,
    soak_sample_s=5.0,
    quiet_wait_s=0.0,
    quiet_sample_s=0.25,
    hold_before_s=0.3,
)


# ------------------------------------------------------------------ servers under test


def full_stack(label: str = "(a) full stack", **env: str) -> ServerSpec:
    database = "sqlite:///{workdir}/full-{port}.db"
    return ServerSpec(
        key="full",
        label=label,
        argv=[PY, "-m", "server", "serve", "--host", "127.0.0.1", "--port", "{port}"],
        env={
            "WS_LOG_LEVEL": "WARNING",
            "WS_DATABASE_URL": database,
            "WS_AUTH_MODE": "dev",
            # Scenario 1 sends as fast as acks come back: far past the per-connection event
            # limit, which would otherwise answer most requests with `rate_limited`.
            "WS_RATE_LIMIT_PER_MIN": str(BENCH_RATE_LIMIT_PER_MIN),
            **env,
        },
        login=True,
        ready_event="chat:ready",
    )


# What each provider-shaped stream is asked (the model answers every message the same way).
PROVIDER_TEXT = "what is (1234 + 5678) * 3 / 2?"


def provider_stack(tokens_per_s: str) -> ServerSpec:
    """The full stack answering with bench/provider_model.py and the calculator tool."""
    spec = full_stack(
        label="(a) full stack, provider-shaped model",
        WS_DEMO_TOKENS_PER_S=tokens_per_s,
        WS_AGENT="bench.provider_model:build",
        WS_AGENT_TOOLS="server.agent.calculator:calculator_tool",
    )
    return replace(spec, key="full_provider")


def full_stack_without_checkpoints(**env: str) -> ServerSpec:
    """The full stack with answers not checkpointed while they stream: what they cost."""
    spec = full_stack(label="(a-) full stack, answer checkpoints off", **env)
    return replace(
        spec,
        key="full_no_checkpoints",
        argv=[PY, "-m", "bench.servers.fullstack_variant", "--no-checkpoints"],
        env={**spec.env, "WS_HOST": "127.0.0.1", "WS_PORT": "{port}"},
    )


def bare(deflate: bool = False) -> ServerSpec:
    argv = [PY, "-m", "bench.servers.bare_aiohttp", "--port", "{port}"]
    if deflate:
        return ServerSpec("bare_deflate", "(b') bare tuned, deflate accepted", [*argv, "--deflate"])
    return ServerSpec("bare", "(b) bare python-socketio tuned", argv)


def asgi() -> ServerSpec:
    argv = [PY, "-m", "bench.servers.asgi_uvicorn", "--port", "{port}"]
    return ServerSpec("asgi", "(c) python-socketio ASGI/uvicorn defaults", argv)


def node() -> ServerSpec:
    argv = ["node", str(NODE_DIR / "server.mjs"), "{port}"]
    return ServerSpec("node", "(d) Node socket.io", argv)


# ------------------------------------------------------------------ scenarios


async def quiet_gate(plan: Plan, server: ServerProcess) -> dict[str, Any]:
    return await wait_quiet(plan.quiet_wait_s, plan.quiet_sample_s, ignore_pids=(server.pid,))


def cpu_marks(window: CpuWindow) -> Any:
    async def on_mark(name: str, _arg: str, _gen: Generator) -> None:
        if name == "measure_start":
            window.begin()
        elif name == "measure_end":
            window.end()

    return on_mark


async def measure_rtt(server: ServerProcess, plan: Plan, event: str, namespace: str) -> Any:
    window = CpuWindow(server)
    result = await run_generator(
        {
            "mode": "rtt",
            "url": server.url,
            "clients": plan.rtt_clients,
            "event": event,
            "namespace": namespace,
            "warmup_s": plan.rtt_warmup_s,
            "duration_s": plan.rtt_duration_s,
            **server.spec.generator_options(),
        },
        cpu_marks(window),
        timeout_s=120 + plan.rtt_warmup_s + plan.rtt_duration_s,
    )
    result.update(window.as_dict())
    latency = result["latency_ms"]
    progress(
        f"  {event}: {result['acks_per_s']:,.0f} acks/s, p50 {latency['p50']:.2f} ms, "
        f"p99 {latency['p99']:.2f} ms; server CPU {window.percent or 0:.0f}%, "
        f"generator CPU {result['generator_cpu_percent']:.0f}%"
    )
    return result


async def scenario_rtt(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Rounds interleave the servers; each server's best round (most acks/s) is reported:
    other work on the machine can only slow a CPU-bound server down, so the best round is the
    one least disturbed. Every round's acks/s is kept beside it."""
    specs = (full_stack(), bare(), asgi(), node())
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for round_no in range(1, plan.rtt_rounds + 1):
        for spec in specs:
            async with running(spec, workdir) as server:
                progress(
                    f"{spec.label}: scenario 1 (round {round_no}/{plan.rtt_rounds}), "
                    f"acked round trips, {plan.rtt_clients} clients"
                )
                for key, event, namespace in REQUESTS:
                    quiet = await quiet_gate(plan, server)
                    result = await measure_rtt(server, plan, event, namespace)
                    result["quiet_check"] = quiet
                    rounds.setdefault(spec.key, {}).setdefault(key, []).append(result)
    out: dict[str, Any] = {}
    for spec in specs:
        out[spec.key] = {"label": spec.label}
        for key, results in rounds[spec.key].items():
            chosen = dict(max(results, key=lambda r: float(r["acks_per_s"])))
            chosen["rounds_acks_per_s"] = [r["acks_per_s"] for r in results]
            out[spec.key][key] = chosen
    return out


async def _rss_sample(server: ServerProcess) -> int:
    readings = []
    for _ in range(3):
        readings.append(server.rss_kib())
        await asyncio.sleep(0.1)
    return int(statistics.median(readings))


async def measure_hold(
    server: ServerProcess, plan: Plan, connections: int, client_deflate: bool = True
) -> dict[str, Any]:
    sampled: dict[str, int] = {}

    async def on_mark(name: str, arg: str, gen: Generator) -> None:
        if name == "logged_in":
            await asyncio.sleep(plan.hold_before_s)
            sampled["before"] = await _rss_sample(server)
            await gen.send("go")
        elif name == "held":
            await asyncio.sleep(plan.hold_settle_s)
            sampled["after"] = await _rss_sample(server)
            progress(f"  holding {arg}: server RSS {sampled['after'] / 1024:.0f} MiB")
            await gen.send("release")

    result = await run_generator(
        {
            "mode": "hold",
            "url": server.url,
            "connections": connections,
            "batch": plan.hold_batch,
            "deflate": client_deflate,
            **server.spec.generator_options(),
        },
        on_mark,
        timeout_s=900,
    )
    before, after = sampled["before"], sampled["after"]
    held = max(result["connected"], 1)
    result["rss_before_kib"] = before
    result["rss_after_kib"] = after
    result["bytes_per_connection"] = (after - before) * 1024 / held
    progress(
        f"  {result['connected']}/{connections} held, {result['failed']} failed, "
        f"opened in {result['open_s']:.1f}s; "
        f"{result['bytes_per_connection'] / 1000:.1f} KB per connection"
    )
    return result


async def scenario_hold(plan: Plan, workdir: Path) -> dict[str, Any]:
    wanted = plan.hold_connections
    limit = raise_fd_limit(wanted + 4096)
    connections = min(wanted, max(limit - 1024, 100))
    note = None
    if connections < wanted:
        note = (
            f"open-files limit {limit} (hard limit of this machine) allows {connections} "
            f"connections, not {wanted}"
        )
        progress(f"scenario 2: {note}")
    variants: list[tuple[ServerSpec, bool]] = [(full_stack(), True), (bare(), True), (node(), True)]
    if plan.hold_variants:
        deflated = full_stack(
            label="(a'') full stack, deflate accepted", WS_WEBSOCKET_COMPRESSION="true"
        )
        variants += [
            (bare(deflate=True), True),
            (replace(deflated, key="full_deflate"), True),
        ]
    out: dict[str, Any] = {"requested": wanted, "connections": connections, "note": note}
    for spec, client_deflate in variants:
        key = spec.key if client_deflate else f"{spec.key}_no_client_deflate"
        async with running(spec, workdir) as server:
            progress(f"{spec.label}: scenario 2, hold {connections} connections")
            out[key] = await measure_hold(server, plan, connections, client_deflate)
            out[key]["label"] = spec.label
    return out


async def measure_stream(
    server: ServerProcess,
    plan: Plan,
    clients: int,
    warmup_s: float,
    duration_s: float,
    tag: str,
    token_ms: float | None = None,
    provider: bool = False,
) -> dict[str, Any]:
    quiet = await quiet_gate(plan, server)
    window = CpuWindow(server)
    shape: dict[str, Any] = {"text": plan.stream_text, "tokens_per_s": plan.stream_tokens_per_s}
    if provider:
        shape = {
            "text": PROVIDER_TEXT,
            "tokens_per_s": plan.provider_tokens_per_s,
            "token_sizes": list(provider_model.SIZES),
        }
    result = await run_generator(
        {
            "mode": "stream",
            "url": server.url,
            "clients": clients,
            **shape,
            "warmup_s": warmup_s,
            "duration_s": duration_s,
            "tag": tag,
            **({"token_ms": token_ms} if token_ms else {}),
            **server.spec.generator_options(),
        },
        cpu_marks(window),
        timeout_s=300 + warmup_s + duration_s,
    )
    result.update(window.as_dict())
    result["quiet_check"] = quiet
    lag, emit = result["lag_schedule_ms"], result["lag_emit_ms"]
    progress(
        f"  {clients} streams: token-to-receipt lag p50 {lag.get('p50', 0):.1f} ms, "
        f"p99 {lag.get('p99', 0):.1f} ms (emit-to-receipt p99 {emit.get('p99', 0):.1f} ms); "
        f"{result['frames_per_s']:,.0f} frames/s, {result['tokens_delivered_per_s']:,.0f} of "
        f"{result['tokens_offered_per_s']:,.0f} tokens/s; server CPU {window.percent or 0:.0f}%; "
        f"runs whole {result['runs_whole']}, short {result['runs_short']}"
    )
    return result


async def scenario_stream(plan: Plan, workdir: Path) -> dict[str, Any]:
    rate = plan.stream_tokens_per_s
    env = {"WS_DEMO_TOKENS_PER_S": f"{rate:g}"}
    spec = full_stack(**env)
    async with running(spec, workdir) as server:
        progress(f"{spec.label}: scenario 3, one stream alone (calibration)")
        calibration = await measure_stream(server, plan, 1, 0.5, plan.calibration_duration_s, "cal")
        # The demo model sleeps 1/rate between tokens and then waits to be resumed, so even an
        # idle server sees it run a little slower than nominal; lag is measured against the
        # pace it keeps alone (see docs/performance.md).
        pace = calibration["pace_ms_per_token"].get("p50")
        progress(
            f"  idle pace {pace or 0:.2f} ms per token (nominal {1000 / rate:.2f}); "
            f"{spec.label}: scenario 3, {plan.stream_clients} concurrent streams"
        )
        main = await measure_stream(
            server,
            plan,
            plan.stream_clients,
            plan.stream_warmup_s,
            plan.stream_duration_s,
            "main",
            token_ms=pace,
        )
    # The same load with answer checkpoints off, measured against the same pace.
    off = full_stack_without_checkpoints(**env)
    async with running(off, workdir) as server:
        progress(f"{off.label}: scenario 3, {plan.stream_clients} concurrent streams")
        unchecked = await measure_stream(
            server,
            plan,
            plan.stream_clients,
            plan.stream_warmup_s,
            plan.stream_duration_s,
            "nockpt",
            token_ms=pace,
        )
    # The provider shape: its own pace, measured alone first, then 200 streams of it.
    shaped = provider_stack(f"{plan.provider_tokens_per_s:g}")
    async with running(shaped, workdir) as server:
        progress(f"{shaped.label}: scenario 3, one stream alone (calibration)")
        provider_cal = await measure_stream(
            server, plan, 1, 0.5, plan.calibration_duration_s, "pcal", provider=True
        )
        provider_pace = provider_cal["pace_ms_per_token"].get("p50")
        progress(f"{shaped.label}: scenario 3, {plan.stream_clients} concurrent streams")
        provider = await measure_stream(
            server,
            plan,
            plan.stream_clients,
            plan.stream_warmup_s,
            plan.stream_duration_s,
            "prov",
            token_ms=provider_pace,
            provider=True,
        )
    return {
        "calibration_1_stream": calibration,
        "streams": main,
        "streams_no_checkpoints": unchecked,
        "provider_calibration_1_stream": provider_cal,
        "provider_streams": provider,
        "label": spec.label,
    }


async def scenario_knee(plan: Plan, workdir: Path) -> dict[str, Any]:
    """More and more streams of the demo shape on one server process, until p99 lag passes
    knee_max_p99_ms: the knee is the most streams measured under it."""
    rate = plan.stream_tokens_per_s
    steps: list[dict[str, Any]] = []
    knee = None
    for clients in plan.knee_steps:
        # A fresh server per step: no step inherits the last one's history or heap.
        async with running(full_stack(WS_DEMO_TOKENS_PER_S=f"{rate:g}"), workdir) as server:
            progress(f"scenario knee: {clients} streams at {rate:g} tokens/s")
            result = await measure_stream(
                server,
                plan,
                clients,
                plan.knee_warmup_s,
                plan.knee_duration_s,
                f"knee{clients}",
                token_ms=1000 / rate,
            )
        steps.append(result)
        p99 = result["lag_schedule_ms"].get("p99")
        if p99 is None or p99 > plan.knee_max_p99_ms:
            break
        knee = clients
    return {"max_p99_ms": plan.knee_max_p99_ms, "knee_streams": knee, "steps": steps}


SOAK_REPLAY_MAX_EVENTS = 1000


async def scenario_soak(plan: Plan, workdir: Path) -> dict[str, Any]:
    """200 streams for soak_s: the server's RSS and its per-connection tables, sampled as it
    goes and once more after every client left."""
    # The replay store keeps up to WS_REPLAY_MAX_EVENTS events per user (10,000 by default,
    # about 400 s of these streams): 1,000 lets it reach its bound within the first minute,
    # so the rest of the soak shows whether anything else grows.
    spec = full_stack(
        WS_DEMO_TOKENS_PER_S=f"{plan.stream_tokens_per_s:g}",
        WS_REPLAY_MAX_EVENTS=str(SOAK_REPLAY_MAX_EVENTS),
    )
    spec = replace(
        spec,
        key="full_soak",
        argv=[PY, "-m", "bench.servers.fullstack_variant", "--bench-tables"],
        env={**spec.env, "WS_HOST": "127.0.0.1", "WS_PORT": "{port}"},
    )
    samples: list[dict[str, Any]] = []
    heap: dict[str, Any] = {}
    async with running(spec, workdir) as server:
        baseline = await asyncio.to_thread(_tables, server)
        sampler: asyncio.Task[None] | None = None

        async def sample_forever(started: float) -> None:
            loop = asyncio.get_running_loop()
            while True:
                tables = await asyncio.to_thread(_tables, server)
                collections = await asyncio.to_thread(_tables, server, "gc")
                samples.append(
                    {
                        "t_s": round(loop.time() - started, 1),
                        "rss_kib": server.rss_kib(),
                        "tables": tables,
                        "gc": collections,
                    }
                )
                await asyncio.sleep(plan.soak_sample_s)

        async def on_mark(name: str, arg: str, gen: Generator) -> None:
            nonlocal sampler
            if name == "measure_start":
                heap["start"] = await asyncio.to_thread(_tables, server, "objects")
                window.begin()
                sampler = asyncio.create_task(sample_forever(asyncio.get_running_loop().time()))
            elif name == "measure_end":
                window.end()
                if sampler is not None:
                    sampler.cancel()
                heap["end"] = await asyncio.to_thread(_tables, server, "objects")
                # The same after a full collection: garbage in cycles waiting for one, or not.
                heap["end_collected"] = await asyncio.to_thread(
                    _tables, server, "objects?collect=1"
                )

        window = CpuWindow(server)
        progress(f"{spec.label}: soak, {plan.stream_clients} streams for {plan.soak_s:.0f}s")
        result = await run_generator(
            {
                "mode": "stream",
                "url": server.url,
                "clients": plan.stream_clients,
                "text": plan.stream_text,
                "tokens_per_s": plan.stream_tokens_per_s,
                "warmup_s": 2.0,
                "duration_s": plan.soak_s,
                "tag": "soak",
                "token_ms": 1000 / plan.stream_tokens_per_s,
                **server.spec.generator_options(),
            },
            on_mark,
            timeout_s=300 + plan.soak_s,
        )
        result.update(window.as_dict())
        # Every client has closed: each table should be back where it started.
        await asyncio.sleep(3.0)
        after = await asyncio.to_thread(_tables, server)
        rss_after = server.rss_kib()
    slope = _slope_kib_per_min(samples)
    progress(
        f"  soak: RSS {samples[0]['rss_kib'] / 1024:.0f} -> {samples[-1]['rss_kib'] / 1024:.0f} "
        f"MiB, slope over the second half {slope:+.1f} KiB/min; tables after: {after}"
    )
    return {
        "replay_max_events": SOAK_REPLAY_MAX_EVENTS,
        "duration_s": plan.soak_s,
        "clients": plan.stream_clients,
        "samples": samples,
        "rss_slope_kib_per_min": slope,
        "tables_baseline": baseline,
        "tables_after": after,
        "rss_after_clients_left_kib": rss_after,
        "heap": heap,
        "streams": result,
    }


def _tables(server: ServerProcess, what: str = "tables") -> dict[str, Any]:
    with urllib.request.urlopen(f"{server.url}/bench/{what}", timeout=5) as response:
        tables: dict[str, Any] = json.loads(response.read())
        return tables


def _slope_kib_per_min(samples: list[dict[str, Any]]) -> float:
    """Least-squares slope of RSS over the second half of the samples (the first half is
    warm-up: the heap and the stores fill to their working size)."""
    half = samples[len(samples) // 2 :]
    if len(half) < 2:
        return 0.0
    xs: list[float] = [float(s["t_s"]) / 60 for s in half]
    ys = [float(s["rss_kib"]) for s in half]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    covariance: float = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return covariance / var


# The full stack set up for scenario 4: the demo model at full speed, one delta per token.
RESUME_ENV = {"WS_DEMO_TOKENS_PER_S": "0", "WS_DELTA_FLUSH_MS": "0", "WS_DELTA_FLUSH_CHARS": "1"}


async def measure_resume(server: ServerProcess, plan: Plan) -> dict[str, Any]:
    quiet = await quiet_gate(plan, server)
    result = await run_generator(
        {
            "mode": "resume",
            "url": server.url,
            "events": plan.resume_events,
            "count_to": plan.resume_events,
            "repeats": plan.resume_repeats,
            **server.spec.generator_options(),
        },
        timeout_s=300,
    )
    resumed, nothing = result["resume_ms"], result["resume_nothing_missed_ms"]
    progress(
        f"  resume of {plan.resume_events}: p50 {resumed['p50']:.1f} ms, p90 "
        f"{resumed['p90']:.1f} ms; with nothing missed p50 {nothing['p50']:.1f} ms"
    )
    result["quiet_check"] = quiet
    return result


async def scenario_resume(plan: Plan, workdir: Path) -> dict[str, Any]:
    spec = full_stack(**RESUME_ENV)
    async with running(spec, workdir) as server:
        progress(f"{spec.label}: scenario 4, resume of {plan.resume_events} missed events")
        result = await measure_resume(server, plan)
    result["label"] = spec.label
    return result


# ------------------------------------------------------------------ machine and versions


def _run(*argv: str) -> str:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=10, check=False, cwd=ROOT
        ).stdout.strip()
    except OSError:
        return ""


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cpu_model": cpu_model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
        "server_core": SERVER_CORE,
        "generator_core": GENERATOR_CORE,
    }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "node": _run("node", "--version")}
    for dist in (
        "netra-ws",
        "python-socketio",
        "python-engineio",
        "aiohttp",
        "uvicorn",
        "uvloop",
        "orjson",
        "websockets",
        "httptools",
        "pydantic",
        "langchain-core",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    for package in ("socket.io", "socket.io-client"):
        manifest = BENCH / "node_modules" / package / "package.json"
        out[f"npm:{package}"] = json.loads(manifest.read_text())["version"]
    out["git_commit"] = _run("git", "rev-parse", "--short", "HEAD")
    out["git_dirty"] = str(bool(_run("git", "status", "--porcelain")))
    return out


# ------------------------------------------------------------------ main


async def run(plan: Plan, only: tuple[str, ...]) -> dict[str, Any]:
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "meta": {
            "started_at": started.isoformat(),
            "quick": plan.quick,
            "plan": asdict(plan),
            "machine": machine_info(),
            "versions": versions(),
        },
        "scenarios": {},
    }
    runners = {
        "rtt": scenario_rtt,
        "hold": scenario_hold,
        "stream": scenario_stream,
        "knee": scenario_knee,
        "resume": scenario_resume,
        "soak": scenario_soak,
    }
    with make_workdir() as tmp:
        workdir = Path(tmp)
        for name in only:
            progress(f"=== scenario {name} ===")
            results["scenarios"][name] = await runners[name](plan, workdir)
    finished = datetime.now(UTC)
    results["meta"]["finished_at"] = finished.isoformat()
    results["meta"]["elapsed_s"] = round((finished - started).total_seconds(), 1)
    results["meta"]["machine"]["loadavg_at_end"] = os.getloadavg()
    results["targets"] = report.targets(results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="fewer connections, shorter runs")
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma list of {', '.join(SCENARIOS)}; or cluster, agent or history, alone",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    args = parser.parse_args()
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    if "cluster" in only:
        # Several nodes and a Redis of its own, written to results of its own.
        if only != ("cluster",):
            parser.error("run --only cluster on its own")
        cluster.main(args.quick, args.out)
        return
    if "agent" in only:
        # In-process, no sockets: the agents' own cost per token, written to results of its own.
        if only != ("agent",):
            parser.error("run --only agent on its own")
        from bench import agent_cost  # LangChain is loaded for this run only

        agent_cost.main(args.quick, args.out)
        return
    if "history" in only:
        # The chat store in process, no servers: results of its own as well.
        if only != ("history",):
            parser.error("run --only history on its own")
        history.main(args.quick, args.out)
        return
    if "soak" in only and only != ("soak",):
        parser.error("run --only soak on its own")
    unknown = set(only) - {*SCENARIOS, "soak"}
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}")
    check_tools()
    pin_self_to_generator_core()
    plan = QUICK_PLAN if args.quick else FULL_PLAN
    progress(
        f"netra-ws bench ({'quick' if plan.quick else 'full'}): servers on core {SERVER_CORE}, "
        f"load generator on core {GENERATOR_CORE}; scenarios {', '.join(only)}"
    )
    results = asyncio.run(run(plan, only))
    args.out.mkdir(parents=True, exist_ok=True)
    if only == ("soak",):
        # Results of its own: latest.* stays the last run of the main scenarios.
        paths = report.write_soak(results, args.out)
    else:
        paths = report.write(results, args.out)
    show_written(paths["md_text"], paths["files"])


if __name__ == "__main__":
    main()
