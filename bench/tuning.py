"""Evidence for docs/performance.md's tuning list.

    python -m bench.tuning profile   # py-spy on the full stack under scenarios 1 and 3
    python -m bench.tuning whatif    # the unchanged full stack with launch-time tuning applied

`profile` writes bench/results/profile.md (top costs by function and by package) and the raw
collapsed stacks (profile-*.txt, for flame graph tools). `whatif` writes
bench/results/tuning.{json,md}: scenario 1 and memory per held connection for the full stack
as it is, with uvloop, with orjson as python-socketio's json, with permessage-deflate refused,
and with all three, beside the bare tuned baseline, in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import (
    GENERATOR_CORE,
    ROOT,
    Generator,
    ServerProcess,
    ServerSpec,
    check_tools,
    make_workdir,
    pin_self_to_generator_core,
    progress,
    raise_fd_limit,
    running,
)
from bench.run import (
    FULL_PLAN,
    PY,
    REQUESTS,
    RESULTS,
    RESUME_ENV,
    Plan,
    bare,
    full_stack,
    machine_info,
    measure_hold,
    measure_resume,
    measure_rtt,
    quiet_gate,
    versions,
)

PROFILE_RATE_HZ = 200
TOP = 25

# Where a frame's file lives, for the by-package table (first match wins).
PACKAGES = (
    ("/socketio/", "python-socketio"),
    ("/engineio/", "python-engineio"),
    ("/aiohttp/", "aiohttp"),
    ("/pydantic/", "pydantic"),
    ("/pydantic_core/", "pydantic"),
    ("/langchain_core/", "langchain-core"),
    ("/langchain/", "langchain"),
    ("/loguru/", "loguru"),
    ("/asyncio/", "asyncio (stdlib)"),
    ("/json/", "json (stdlib)"),
    ("/work/main/server/", "netra-ws server/"),
    ("/namespaces/", "netra-ws namespaces/"),
    ("/schemas/", "netra-ws schemas/"),
    ("/server/", "netra-ws server/"),
)


def _package(frame: str) -> str:
    path = frame[frame.rfind("(") + 1 : -1] if frame.endswith(")") else frame
    for marker, name in PACKAGES:
        if marker in path:
            return name
    if "/lib/python3" in path:
        return "other stdlib"
    return "other"


def _short(frame: str) -> str:
    """`func (/long/path/site-packages/pkg/mod.py)` -> `func (pkg/mod.py)`."""
    if not frame.endswith(")") or "(" not in frame:
        return frame
    name, path = frame[: frame.rfind(" (")], frame[frame.rfind("(") + 1 : -1]
    for cut in ("site-packages/", "/lib/python3.11/", str(ROOT) + "/"):
        if cut in path:
            path = path.split(cut, 1)[1]
            break
    return f"{name} ({path})"


# Frames on every stack (interpreter start, CLI, the event loop itself): left out of the
# inclusive ranking, where they would only say "100%".
SCAFFOLDING = (
    "<frozen runpy>",
    "typer/",
    "click/",
    "threading.py",
    "server/__main__.py",
    "server/cli/main.py",
    "run_app (aiohttp/web.py)",
    "run_until_complete (",
    "run_forever (",
    "_run_once (",
    "Handle._run (",
    "uvloop",
)


def summarize(raw: str) -> dict[str, Any]:
    """Collapsed stacks (`a;b;c N` per line) -> self and inclusive shares."""
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        self_counts[_short(frames[-1])] += count
        packages[_package(frames[-1])] += count
        for frame in {_short(f) for f in frames}:
            if not any(marker in frame for marker in SCAFFOLDING):
                inclusive[frame] += count

    def top(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, 100.0 * n / total) for name, n in counter.most_common(TOP)]

    return {
        "samples": total,
        "self": top(self_counts),
        "inclusive": top(inclusive),
        "packages": top(packages),
    }


def callees(raw: str, target: str) -> tuple[float, list[tuple[str, float]]]:
    """The share of samples with `target` on the stack, and how it splits among the frames it
    calls directly ("(self)": in `target` itself), each as % of all samples."""
    total = under = 0
    children: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";") if f]
        total += count
        at = next((i for i, f in enumerate(frames) if f.startswith(target)), None)
        if at is None:
            continue
        under += count
        children[frames[at + 1] if at + 1 < len(frames) else "(self)"] += count
    if not total:
        return 0.0, []
    return 100.0 * under / total, [(c, 100.0 * n / total) for c, n in children.most_common(12)]


# Per profile: the functions whose direct callees are broken down in profile.md.
BREAKDOWNS = {
    "ping": ("EventNamespace.client_event (", "EventNamespace.dispatch ("),
    "request": ("EventNamespace.client_event (", "EventNamespace.dispatch ("),
    "streams": ("ToolLoopAgent.run (", "Emitter.to_user (", "Emitter._deliver ("),
}


async def _py_spy(pid: int, seconds: float, output: Path) -> None:
    py_spy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    proc = await asyncio.create_subprocess_exec(
        "taskset",
        "-c",
        str(GENERATOR_CORE),
        py_spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        str(PROFILE_RATE_HZ),
        "--format",
        "raw",
        "--full-filenames",
        "--nolineno",
        "--gil",
        "--output",
        str(output),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), seconds + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-400:]}")


async def profile_rtt(server: ServerProcess, plan: Plan, event: str, ns: str, out: Path) -> Any:
    """Runs scenario 1 and records the server with py-spy inside the measured window."""
    task: asyncio.Task[None] | None = None
    seconds = plan.rtt_duration_s - 2

    async def on_mark(name: str, _arg: str, _gen: Generator) -> None:
        nonlocal task
        if name == "measure_start":
            task = asyncio.create_task(_py_spy(server.pid, seconds, out))

    from bench import harness

    result = await harness.run_generator(
        {
            "mode": "rtt",
            "url": server.url,
            "clients": plan.rtt_clients,
            "event": event,
            "namespace": ns,
            "warmup_s": plan.rtt_warmup_s,
            "duration_s": plan.rtt_duration_s,
            **server.spec.generator_options(),
        },
        on_mark,
        timeout_s=300,
    )
    if task is not None:
        await task
    return result


async def profile_stream(server: ServerProcess, plan: Plan, out: Path) -> Any:
    task: asyncio.Task[None] | None = None

    async def on_mark(name: str, _arg: str, _gen: Generator) -> None:
        nonlocal task
        if name == "measure_start":
            task = asyncio.create_task(_py_spy(server.pid, plan.stream_duration_s - 2, out))

    from bench import harness

    result = await harness.run_generator(
        {
            "mode": "stream",
            "url": server.url,
            "clients": plan.stream_clients,
            "text": plan.stream_text,
            "tokens_per_s": plan.stream_tokens_per_s,
            "warmup_s": plan.stream_warmup_s,
            "duration_s": plan.stream_duration_s,
            "tag": "prof",
            **server.spec.generator_options(),
        },
        on_mark,
        timeout_s=300,
    )
    if task is not None:
        await task
    return result


def _profile_md(name: str, title: str, summary: dict[str, Any], note: str, raw: str) -> list[str]:
    lines = [f"## {title}", "", note, "", f"{summary['samples']:,} samples.", ""]
    lines += ["**Self time by package** (the frame on top of the stack)", ""]
    lines += ["| Package | % of samples |", "|---|---:|"]
    lines += [f"| {pkg} | {pct:.1f} |" for pkg, pct in summary["packages"][:12]]
    lines += ["", "**Top functions, inclusive** (on the stack)", ""]
    lines += ["| Function | % |", "|---|---:|"]
    lines += [f"| `{fn}` | {pct:.1f} |" for fn, pct in summary["inclusive"]]
    lines += ["", "**Top functions, self**", ""]
    lines += ["| Function | % |", "|---|---:|"]
    lines += [f"| `{fn}` | {pct:.1f} |" for fn, pct in summary["self"][:15]]
    for target in BREAKDOWNS.get(name, ()):
        share, parts = callees(raw, target)
        if not parts:
            continue
        lines += ["", f"**What `{target.rstrip(' (')}` calls** ({share:.1f}% of samples)", ""]
        lines += ["| Callee | % of all samples |", "|---|---:|"]
        lines += [f"| `{fn}` | {pct:.1f} |" for fn, pct in parts]
    lines += ["", f"Raw collapsed stacks: `bench/results/profile-{name}.txt`.", ""]
    return lines


async def profile(out: Path) -> None:
    plan = replace(FULL_PLAN, rtt_warmup_s=3.0, rtt_duration_s=12.0, stream_duration_s=12.0)
    sections: list[str] = [
        "# Profile of the full stack",
        "",
        f"{datetime.now(UTC).isoformat()[:19]}Z. py-spy at {PROFILE_RATE_HZ} Hz (on core "
        f"{GENERATOR_CORE}, `--gil`) on `python -m server serve` (core 0) while the load "
        "generator runs: only samples of a thread holding the GIL count, so idle waits (the "
        "event loop in epoll, the SQLite and executor threads' idle waits) are left out. "
        "Inclusive shares leave out the frames every stack has (interpreter, CLI, the event "
        "loop's own `_run_once`/`Handle._run`). Regenerate with `make bench-profile`.",
        "",
    ]
    with make_workdir() as tmp:
        workdir = Path(tmp)
        spec = full_stack()
        async with running(spec, workdir) as server:
            for key, event, ns in REQUESTS:
                raw = out / f"profile-{key}.txt"
                progress(f"{spec.label}: profiling scenario 1, {event}")
                result = await profile_rtt(server, plan, event, ns, raw)
                text = raw.read_text()
                note = (
                    f"Scenario 1, `{event}`, {plan.rtt_clients} clients: "
                    f"{result['acks_per_s']:,.0f} acks/s while sampled."
                )
                sections += _profile_md(key, f"Scenario 1: {event}", summarize(text), note, text)
        spec = full_stack(WS_DEMO_TOKENS_PER_S=f"{plan.stream_tokens_per_s:g}")
        async with running(spec, workdir) as server:
            raw = out / "profile-streams.txt"
            progress(f"{spec.label}: profiling scenario 3, {plan.stream_clients} streams")
            result = await profile_stream(server, plan, raw)
            text = raw.read_text()
            note = (
                f"Scenario 3, {plan.stream_clients} streams of `{plan.stream_text}` at "
                f"{plan.stream_tokens_per_s:g} tokens/s: {result['tokens_delivered_per_s']:,.0f} "
                f"of {result['tokens_offered_per_s']:,.0f} tokens/s delivered while sampled."
            )
            sections += _profile_md(
                "streams", "Scenario 3: 200 streams", summarize(text), note, text
            )
    (out / "profile.md").write_text("\n".join(sections))
    progress("wrote bench/results/profile.md")


def variant(label: str, flags: tuple[str, ...], env: dict[str, str]) -> ServerSpec:
    spec = full_stack(label=label, **env)
    spec.argv = [PY, "-m", "bench.servers.fullstack_variant", *flags]
    spec.env["WS_HOST"] = "127.0.0.1"
    spec.env["WS_PORT"] = "{port}"
    return spec


# (key, label, launcher flags, extra WS_* settings): the full stack as it is, each change the
# tuning list makes or made, one at a time, then the remaining launch-time ones together.
VARIANTS: tuple[tuple[str, str, tuple[str, ...], dict[str, str]], ...] = (
    ("as_is", "(a) full stack as it is", (), {}),
    (
        "deflate_on",
        "(a) with permessage-deflate accepted",
        (),
        {"WS_WEBSOCKET_COMPRESSION": "true"},
    ),
    ("asyncio_loop", "(a) on the standard asyncio loop", ("--asyncio-loop",), {}),
    ("orjson", "(a) + orjson as python-socketio's json", ("--orjson",), {}),
    (
        "inline_handlers",
        "(a) + python-socketio async_handlers=False",
        ("--inline-handlers",),
        {},
    ),
    (
        "orjson_inline",
        "(a) + orjson + async_handlers=False",
        ("--orjson", "--inline-handlers"),
        {},
    ),
)


async def whatif(out: Path, hold_connections: int) -> None:
    plan = FULL_PLAN
    raise_fd_limit(hold_connections + 4096)
    results: dict[str, Any] = {
        "meta": {
            "started_at": datetime.now(UTC).isoformat(),
            "machine": machine_info(),
            "versions": versions(),
            "hold_connections": hold_connections,
            "rounds": plan.rtt_rounds,
        },
        "variants": {},
    }
    specs = [(key, variant(label, flags, env)) for key, label, flags, env in VARIANTS]
    specs.append(("bare", bare()))
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with make_workdir() as tmp:
        workdir = Path(tmp)
        for round_no in range(1, plan.rtt_rounds + 1):
            for key, spec in specs:
                async with running(spec, workdir) as server:
                    progress(f"{spec.label}: scenario 1, round {round_no}/{plan.rtt_rounds}")
                    for request, event, ns in REQUESTS:
                        await quiet_gate(plan, server)
                        result = await measure_rtt(server, plan, event, ns)
                        rounds.setdefault(key, {}).setdefault(request, []).append(result)
        for key, spec in specs:
            entry: dict[str, Any] = {"label": spec.label}
            for request, results_ in rounds[key].items():
                entry[request] = dict(max(results_, key=lambda r: float(r["acks_per_s"])))
                entry[request]["rounds_acks_per_s"] = [r["acks_per_s"] for r in results_]
            async with running(spec, workdir) as server:
                progress(f"{spec.label}: hold {hold_connections} connections")
                entry["hold"] = await measure_hold(server, plan, hold_connections)
            if spec.key == "full":
                resume_spec = replace(spec, env={**spec.env, **RESUME_ENV})
                async with running(resume_spec, workdir) as server:
                    progress(f"{spec.label}: resume of {plan.resume_events} missed events")
                    entry["resume"] = await measure_resume(server, plan)
            results["variants"][key] = entry
    results["meta"]["finished_at"] = datetime.now(UTC).isoformat()
    (out / "tuning.json").write_text(json.dumps(results, indent=2) + "\n")
    text = _whatif_md(results)
    (out / "tuning.md").write_text(text)
    print(text)
    progress("wrote bench/results/tuning.json and tuning.md")


def _whatif_md(results: dict[str, Any]) -> str:
    variants = results["variants"]
    base = variants["as_is"]
    lines = [
        "# Launch-time tuning of the unchanged full stack",
        "",
        f"{results['meta']['started_at'][:19]}Z; scenario 1 with 50 clients (best of "
        f"{results['meta']['rounds']} interleaved rounds), and memory per "
        f"held connection with {results['meta']['hold_connections']:,} connections, and resume "
        "of 1,000 missed events (median of 20). Server "
        "code unchanged: `bench/servers/fullstack_variant.py` applies each change at launch. "
        "Regenerate with `make bench-tuning`. Each row differs from the full stack as it is by "
        "the change it names.",
        "",
        "| Variant | ping acks/s | vs as is | request acks/s | vs as is | KB per connection "
        "| resume of 1,000 p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in variants.values():
        ping, req = entry["ping"]["acks_per_s"], entry["request"]["acks_per_s"]
        resume = f"{entry['resume']['resume_ms']['p50']:.1f}" if "resume" in entry else "n/a"
        lines.append(
            f"| {entry['label']} | {ping:,.0f} | {ping / base['ping']['acks_per_s']:.2f}x | "
            f"{req:,.0f} | {req / base['request']['acks_per_s']:.2f}x | "
            f"{entry['hold']['bytes_per_connection'] / 1000:.1f} | {resume} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tuning")
    parser.add_argument("what", choices=("profile", "whatif"))
    parser.add_argument("--hold", type=int, default=2000, help="connections for memory")
    args = parser.parse_args()
    check_tools()
    pin_self_to_generator_core()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.what == "profile":
        asyncio.run(profile(RESULTS))
    else:
        asyncio.run(whatif(RESULTS, args.hold))
    sys.exit(0)


if __name__ == "__main__":
    main()
