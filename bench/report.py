"""Targets, the Markdown table and the chart, from a results dict (bench/results/latest.json).

`python -m bench.report [results.json]` rebuilds latest.md and latest.png from the JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from server.chat.checkpoints import DEFAULT_INTERVAL_MS, DEFAULT_MAX_CHARS

SERVER_ORDER = ("full", "bare", "asgi", "node")
SHORT = {
    "full": "(a) full stack",
    "bare": "(b) bare tuned",
    "asgi": "(c) ASGI defaults",
    "node": "(d) Node socket.io",
    "bare_deflate": "(b') bare tuned, deflate accepted",
    "full_no_client_deflate": "(a') full stack, client offers no deflate",
    "full_deflate": "(a'') full stack, deflate accepted (WS_WEBSOCKET_COMPRESSION=true)",
}
HOLD_EXTRAS = ("bare_deflate", "full_no_client_deflate", "full_deflate")
REQUEST_NAMES = {"ping": "system:ping", "request": "/chat request (chat:examples)"}
# Throughput of the full stack over each baseline, at least.
RATIO_TARGETS = (("bare", 1.3), ("asgi", 1.5), ("node", 0.5))
MAX_BYTES_PER_CONNECTION = 25_000
MAX_STREAM_P99_LAG_MS = 50.0
MAX_RESUME_MS = 10.0


def _target(name: str, want: str, value: float | None, met: bool | None, shown: str) -> Any:
    return {"target": name, "want": want, "value": value, "shown": shown, "met": met}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    scenarios = results.get("scenarios", {})
    out: list[dict[str, Any]] = []
    rtt = scenarios.get("rtt")
    if rtt and "full" in rtt:
        for request, request_name in REQUEST_NAMES.items():
            full = rtt["full"][request]["acks_per_s"]
            for base, minimum in RATIO_TARGETS:
                if base not in rtt:
                    continue
                ratio = full / rtt[base][request]["acks_per_s"]
                out.append(
                    _target(
                        f"{request_name}: full stack vs {SHORT[base]}",
                        f">= {minimum:g}x",
                        ratio,
                        ratio >= minimum,
                        f"{ratio:.2f}x",
                    )
                )
    hold = scenarios.get("hold")
    if hold and "full" in hold:
        per = hold["full"]["bytes_per_connection"]
        out.append(
            _target(
                f"memory per held connection, full stack ({hold['full']['connected']:,} held)",
                f"<= {MAX_BYTES_PER_CONNECTION / 1000:g} KB",
                per,
                per <= MAX_BYTES_PER_CONNECTION,
                f"{per / 1000:.1f} KB",
            )
        )
    stream = scenarios.get("stream")
    if stream:
        main = stream["streams"]
        p99 = main["lag_schedule_ms"].get("p99")
        out.append(
            _target(
                f"{main['clients']} streams at {main['tokens_per_s_per_stream']:g} tokens/s: "
                "p99 token-to-receipt lag",
                f"<= {MAX_STREAM_P99_LAG_MS:g} ms",
                p99,
                None if p99 is None else p99 <= MAX_STREAM_P99_LAG_MS,
                "n/a" if p99 is None else f"{p99:.1f} ms",
            )
        )
    if stream and "provider_streams" in stream:
        shaped = stream["provider_streams"]
        p99 = shaped["lag_schedule_ms"].get("p99")
        out.append(
            _target(
                f"{shaped['clients']} provider-shaped streams at "
                f"{shaped['tokens_per_s_per_stream']:g} tokens/s: p99 token-to-receipt lag",
                f"<= {MAX_STREAM_P99_LAG_MS:g} ms",
                p99,
                None if p99 is None else p99 <= MAX_STREAM_P99_LAG_MS,
                "n/a" if p99 is None else f"{p99:.1f} ms",
            )
        )
    knee = scenarios.get("knee")
    if knee:
        out.append(
            _target(
                f"streams one core carries at p99 lag <= {knee['max_p99_ms']:g} ms (the knee)",
                "reported",
                knee["knee_streams"],
                None,
                _knee_shown(knee),
            )
        )
    resume = scenarios.get("resume")
    if resume:
        p50 = resume["resume_ms"]["p50"]
        out.append(
            _target(
                f"resume of {resume['events']:,} missed events (median, connect to chat:ready)",
                f"<= {MAX_RESUME_MS:g} ms",
                p50,
                p50 <= MAX_RESUME_MS,
                f"{p50:.1f} ms",
            )
        )
    return out


def _knee_shown(knee: dict[str, Any]) -> str:
    steps = knee["steps"]
    if knee["knee_streams"] is None:
        return f"under {steps[0]['clients']}" if steps else "n/a"
    if len(steps) and steps[-1]["clients"] != knee["knee_streams"]:
        return f"{knee['knee_streams']} (next step, {steps[-1]['clients']}, over)"
    return f"{knee['knee_streams']} or more (every step under)"


def _met(value: bool | None) -> str:
    return "reported" if value is None else ("**met**" if value else "**not met**")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}%"


def _rounds(r: dict[str, Any]) -> str:
    return ", ".join(f"{v:,.0f}" for v in r.get("rounds_acks_per_s", [r["acks_per_s"]]))


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _others(r: dict[str, Any]) -> str:
    """CPU that other processes took on the server's and the generator's cores."""
    core0, core1 = r.get("core0_busy_percent"), r.get("core1_busy_percent")
    if core0 is None or core1 is None:
        return "n/a"
    on0 = max(0.0, core0 - (r.get("server_cpu_percent") or 0.0))
    on1 = max(0.0, core1 - (r.get("generator_cpu_percent") or 0.0))
    return f"{on0:.0f}% / {on1:.0f}%"


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    machine, versions = meta["machine"], meta["versions"]
    scenarios = results["scenarios"]
    dirty = " (with uncommitted changes)" if versions["git_dirty"] == "True" else ""
    lines = [
        "# netra-ws benchmark: latest run",
        "",
        f"{'Quick' if meta['quick'] else 'Full'} run, {meta['started_at'][:19]}Z, "
        f"{meta.get('elapsed_s', 0):.0f} s. {machine['cpu_model']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB; servers on core {machine['server_core']}, load generator "
        f"on core {machine['generator_core']} (`taskset`). Python {versions['python']}, "
        f"python-socketio {versions['python-socketio']}, aiohttp {versions['aiohttp']}, "
        f"uvicorn {versions['uvicorn']}, Node {versions['node']}, socket.io "
        f"{versions['npm:socket.io']}, socket.io-client {versions['npm:socket.io-client']}; "
        f"commit {versions['git_commit']}{dirty}. Method: docs/performance.md.",
        "",
        "## Targets",
        "",
        "| Target | Wanted | Measured | |",
        "|---|---|---|---|",
    ]
    for t in results.get("targets", []):
        lines.append(f"| {t['target']} | {t['want']} | {t['shown']} | {_met(t['met'])} |")

    rtt = scenarios.get("rtt")
    if rtt:
        clients = rtt.get("full", next(iter(rtt.values())))["ping"]["clients"]
        lines += [
            "",
            f"## 1. Acked round trips, {clients} concurrent clients",
            "",
            "Each server's best round is shown (other processes can only slow a server down); "
            "every round is listed on the right.",
            "",
        ]
        for request, request_name in REQUEST_NAMES.items():
            full = rtt.get("full", {}).get(request, {}).get("acks_per_s")
            lines += [
                f"**{request_name}**",
                "",
                "| Server | acks/s | p50 ms | p99 ms | server CPU | generator CPU "
                "| other load, cores 0 / 1 | full stack ÷ this | every round, acks/s |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for key in SERVER_ORDER:
                if key not in rtt:
                    continue
                r = rtt[key][request]
                ratio = f"{full / r['acks_per_s']:.2f}x" if full else "n/a"
                lines.append(
                    f"| {SHORT[key]} | {r['acks_per_s']:,.0f} | {r['latency_ms']['p50']:.2f} | "
                    f"{r['latency_ms']['p99']:.2f} | {_pct(r['server_cpu_percent'])} | "
                    f"{_pct(r['generator_cpu_percent'])} | {_others(r)} | {ratio} | "
                    f"{_rounds(r)} |"
                )
            lines.append("")

    hold = scenarios.get("hold")
    if hold:
        lines += [
            f"## 2. Held authenticated connections ({hold['connections']:,} requested each)",
            "",
        ]
        if hold.get("note"):
            lines += [f"Note: {hold['note']}.", ""]
        lines += [
            "| Server | held | failed | RSS before MiB | RSS after MiB | per connection KB |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for key in (*SERVER_ORDER, *HOLD_EXTRAS):
            if key not in hold:
                continue
            h = hold[key]
            lines.append(
                f"| {SHORT[key]} | {h['connected']:,} | {h['failed']:,} | "
                f"{h['rss_before_kib'] / 1024:.0f} | {h['rss_after_kib'] / 1024:.0f} | "
                f"{h['bytes_per_connection'] / 1000:.1f} |"
            )
        lines.append("")

    stream = scenarios.get("stream")
    if stream:
        main = stream["streams"]
        lines += [
            f"## 3. Concurrent agent runs, full stack, `{main['text']}` at "
            f"{main['tokens_per_s_per_stream']:g} tokens/s each",
            "",
            "| Streams | lag p50 ms | lag p99 ms | lag p99 vs nominal pace | emit→receipt p50 / "
            "p99 ms | model pace ms/token | between runs p50 / p99 ms | frames/s | tokens/s "
            "delivered / offered | server CPU | other load, cores 0 / 1 |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in (stream["calibration_1_stream"], main):
            lag, emit, nominal = s["lag_schedule_ms"], s["lag_emit_ms"], s["lag_nominal_ms"]
            lines.append(
                f"| {s['clients']} | {lag.get('p50', 0):.1f} | {lag.get('p99', 0):.1f} | "
                f"{nominal.get('p99', 0):.1f} | {emit.get('p50', 0):.1f} / "
                f"{emit.get('p99', 0):.1f} | {_ms(s['pace_ms_per_token'].get('p50'))} | "
                f"{_between(s)} | {s['frames_per_s']:,.0f} | {s['tokens_delivered_per_s']:,.0f} / "
                f"{s['tokens_offered_per_s']:,.0f} | {_pct(s['server_cpu_percent'])} | "
                f"{_others(s)} |"
            )
        cal = stream["calibration_1_stream"]
        lines += [
            "",
            "Lag: a delta's receipt time minus the time its last token k was due: run start "
            "(`ts` of `agent:run_started`) + (k - 1) x the pace the model keeps alone on an idle "
            f"server ({cal['schedule_ms_per_token']:.2f} ms/token, measured by the one-stream "
            f"run; nominal {1000 / main['tokens_per_s_per_stream']:.2f}). Emit→receipt: receipt "
            "minus the delta's `ts`. Model pace: the median time per token between the first "
            "and last delta of the runs that ended inside the window (n/a: none did). Between "
            "runs: from a run's outcome reaching the client to the first delta of the next run "
            "the client asked for then (sending it, storing it, starting the run): each stream "
            "produces tokens only between those gaps, which is why fewer tokens/s are "
            "delivered than the streams would offer if they never paused.",
            "",
        ]
        shaped, shaped_cal = (
            stream.get("provider_streams"),
            stream.get("provider_calibration_1_stream"),
        )
        if shaped and shaped_cal:
            lines += [
                f"**Provider-shaped streams** (bench/provider_model.py): OpenAI-style chunks of "
                f"1-4 characters at {shaped['tokens_per_s_per_stream']:g} tokens/s, each run a "
                "sentence, a `calculator` call streamed in argument fragments, the tool's "
                "result, then an answer of 163 tokens. Lag as above, each turn anchored on "
                "`agent:run_started` or `agent:tool_result`, against the pace one stream keeps "
                f"alone ({shaped_cal['schedule_ms_per_token']:.2f} ms/token). Tokens/s counts "
                "text tokens delivered; offered counts every token, tool-call fragments too. "
                "Whole runs: the deltas a client received make up the stored answer's text.",
                "",
                "| Streams | lag p50 ms | lag p99 ms | emit→receipt p50 / p99 ms | frames/s | "
                "text tokens/s delivered / tokens offered | runs whole / short | server CPU | "
                "other load, cores 0 / 1 |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for s in (shaped_cal, shaped):
                lag, emit = s["lag_schedule_ms"], s["lag_emit_ms"]
                lines.append(
                    f"| {s['clients']} | {lag.get('p50', 0):.1f} | {lag.get('p99', 0):.1f} | "
                    f"{emit.get('p50', 0):.1f} / {emit.get('p99', 0):.1f} | "
                    f"{s['frames_per_s']:,.0f} | {s['tokens_delivered_per_s']:,.0f} / "
                    f"{s['tokens_offered_per_s']:,.0f} | {s.get('runs_whole', 0)} / "
                    f"{s.get('runs_short', 0)} | {_pct(s['server_cpu_percent'])} | "
                    f"{_others(s)} |"
                )
            lines.append("")
        off = stream.get("streams_no_checkpoints")
        if off:
            lines += [
                f"**Answer checkpoints**: the same {main['clients']} streams with each answer's "
                "text written to the database while it streams (on, the default: every "
                f"{DEFAULT_INTERVAL_MS:,} ms or {DEFAULT_MAX_CHARS:,} new characters, all runs "
                "in one transaction) and not (off).",
                "",
                "| Checkpoints | lag p50 ms | lag p99 ms | emit→receipt p99 ms | tokens/s "
                "delivered | server CPU | other load, cores 0 / 1 |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for name, s in (("on", main), ("off", off)):
                lag = s["lag_schedule_ms"]
                lines.append(
                    f"| {name} | {lag.get('p50', 0):.1f} | {lag.get('p99', 0):.1f} | "
                    f"{s['lag_emit_ms'].get('p99', 0):.1f} | "
                    f"{s['tokens_delivered_per_s']:,.0f} | {_pct(s['server_cpu_percent'])} | "
                    f"{_others(s)} |"
                )
            lines.append("")

    knee = scenarios.get("knee")
    if knee:
        lines += [
            f"## 3b. The knee: streams of `count to 100` at 50 tokens/s one core carries at p99 "
            f"lag <= {knee['max_p99_ms']:g} ms",
            "",
            f"Knee: **{_knee_shown(knee)}**. A fresh server per step; lag against the nominal "
            "pace (20 ms/token); steps stop at the first one over.",
            "",
            "| Streams | lag p50 ms | lag p99 ms | emit→receipt p99 ms | tokens/s delivered / "
            "offered | runs whole / short | server CPU | other load, cores 0 / 1 |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in knee["steps"]:
            lag = s["lag_schedule_ms"]
            lines.append(
                f"| {s['clients']} | {lag.get('p50', 0):.1f} | {lag.get('p99', 0):.1f} | "
                f"{s['lag_emit_ms'].get('p99', 0):.1f} | {s['tokens_delivered_per_s']:,.0f} / "
                f"{s['tokens_offered_per_s']:,.0f} | {s.get('runs_whole', 0)} / "
                f"{s.get('runs_short', 0)} | {_pct(s['server_cpu_percent'])} | {_others(s)} |"
            )
        lines.append("")

    resume = scenarios.get("resume")
    if resume:
        r, n = resume["resume_ms"], resume["resume_nothing_missed_ms"]
        lines += [
            f"## 4. Resume, full stack ({resume['repeats']} connects each)",
            "",
            "| Connect with `resume` → `chat:ready` | p50 ms | p90 ms | max ms |",
            "|---|---:|---:|---:|",
            f"| {resume['events']:,} missed events replayed | {r['p50']:.1f} | {r['p90']:.1f} | "
            f"{r['max']:.1f} |",
            f"| nothing missed | {n['p50']:.1f} | {n['p90']:.1f} | {n['max']:.1f} |",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = results["scenarios"]
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    fig.suptitle(
        f"netra-ws benchmark ({'quick' if results['meta']['quick'] else 'full'} run, "
        f"{results['meta']['started_at'][:10]})"
    )
    ax = axes[0][0]
    rtt = scenarios.get("rtt", {})
    keys = [k for k in SERVER_ORDER if k in rtt]
    if keys:
        width = 0.38
        for i, (request, name) in enumerate(REQUEST_NAMES.items()):
            values = [rtt[k][request]["acks_per_s"] for k in keys]
            xs = [j + (i - 0.5) * width for j in range(len(keys))]
            bars = ax.bar(xs, values, width, label=name)
            ax.bar_label(bars, fmt="{:,.0f}", fontsize=7)
        ax.set_xticks(
            range(len(keys)), [SHORT[k].replace(") ", ")\n", 1) for k in keys], fontsize=8
        )
        ax.legend(fontsize=8)
    ax.set_title("1. Acked round trips: acks/s (higher is better)")

    ax = axes[0][1]
    hold = scenarios.get("hold", {})
    keys = [k for k in (*SERVER_ORDER, *HOLD_EXTRAS) if k in hold]
    if keys:
        values = [hold[k]["bytes_per_connection"] / 1000 for k in keys]
        labels = [SHORT[k].split(" (WS_")[0].replace(", ", ",\n", 1) for k in keys]
        bars = ax.barh(labels, values, color="tab:purple")
        ax.bar_label(bars, fmt="{:.1f}", fontsize=8)
        ax.axvline(MAX_BYTES_PER_CONNECTION / 1000, color="red", linestyle="--", label="target")
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=8)
        ax.legend(fontsize=8)
    ax.set_title("2. Server memory per held connection, KB (lower is better)")

    ax = axes[1][0]
    stream = scenarios.get("stream")
    if stream:
        runs = [
            (f"{s['clients']} stream(s)", s)
            for s in (stream["calibration_1_stream"], stream["streams"])
        ]
        if "streams_no_checkpoints" in stream:
            off = stream["streams_no_checkpoints"]
            runs.append((f"{off['clients']} streams, checkpoints off", off))
        labels = ["p50", "p90", "p99"]
        width = 0.8 / len(runs)
        for i, (name, s) in enumerate(runs):
            values = [s["lag_schedule_ms"].get(q, 0) for q in labels]
            xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(labels))]
            bars = ax.bar(xs, values, width, label=name)
            ax.bar_label(bars, fmt="{:.0f}", fontsize=8)
        ax.set_xticks(range(len(labels)), labels)
        ax.axhline(MAX_STREAM_P99_LAG_MS, color="red", linestyle="--", label="p99 target")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    ax.set_title("3. Token-to-receipt lag, ms, log scale (lower is better)")

    ax = axes[1][1]
    resume = scenarios.get("resume")
    if resume:
        rows = [
            (f"{resume['events']:,} replayed", resume["resume_ms"]),
            ("nothing missed", resume["resume_nothing_missed_ms"]),
        ]
        width = 0.38
        for i, q in enumerate(("p50", "p90")):
            xs = [j + (i - 0.5) * width for j in range(len(rows))]
            bars = ax.bar(xs, [r[q] for _, r in rows], width, label=q)
            ax.bar_label(bars, fmt="{:.1f}", fontsize=8)
        ax.set_xticks(range(len(rows)), [name for name, _ in rows])
        ax.axhline(MAX_RESUME_MS, color="red", linestyle="--", label="target")
        ax.legend(fontsize=8)
    ax.set_title("4. Resume: connect to chat:ready, ms (lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict[str, Any], out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = out / "latest.json", out / "latest.md", out / "latest.png"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    md_path.write_text(text)
    chart(results, png_path)
    return {"files": [json_path, md_path, png_path], "md_text": text}


def soak_markdown(results: dict[str, Any]) -> str:
    soak = results["scenarios"]["soak"]
    meta = results["meta"]
    samples = soak["samples"]
    streams = soak["streams"]
    lag = streams["lag_schedule_ms"]
    first, last = samples[0], samples[-1]
    lines = [
        "# netra-ws soak",
        "",
        f"{'Quick' if meta['quick'] else 'Full'} run, {meta['started_at'][:19]}Z, commit "
        f"{meta['versions']['git_commit']}. `python -m bench --only soak`: the full stack "
        f"(bench/servers/fullstack_variant.py --bench-tables) with {soak['clients']} streams of "
        f"`count to 100` at 50 tokens/s for {soak['duration_s']:.0f} s, RSS and the size of "
        f"each per-connection table sampled every {meta['plan']['soak_sample_s']:g} s, and "
        "once more 3 s after every client closed. The replay store keeps at most "
        f"{soak.get('replay_max_events', 10_000):,} events per user "
        "(`WS_REPLAY_MAX_EVENTS`; 10,000 by default, which these streams reach after about "
        "400 s): a bound reached within the first minute, so growth after it is not the "
        "store filling up.",
        "",
        f"- RSS {first['rss_kib'] / 1024:.1f} MiB at the first sample, "
        f"{last['rss_kib'] / 1024:.1f} MiB at the last; slope over the second half "
        f"**{soak['rss_slope_kib_per_min']:+.1f} KiB/min**; "
        f"{soak['rss_after_clients_left_kib'] / 1024:.1f} MiB after the clients left.",
        f"- Streams: lag p50 {lag.get('p50', 0):.1f} ms, p99 {lag.get('p99', 0):.1f} ms; "
        f"{streams['runs_completed']:,} runs completed, {streams.get('runs_whole', 0):,} whole, "
        f"{streams.get('runs_short', 0):,} short, {streams['runs_failed']:,} failed; server "
        f"CPU {_pct(streams.get('server_cpu_percent'))}.",
        "",
        "| Table | before | first sample | last sample | max | after the clients left |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, base in soak["tables_baseline"].items():
        values = [sample["tables"][name] for sample in samples]
        lines.append(
            f"| `{name}` | {base} | {values[0]} | {values[-1]} | {max(values)} | "
            f"{soak['tables_after'][name]} |"
        )
    lines += [
        "",
        "Collections in each interval (`gc.callbacks` in the bench server): count and longest "
        "pause in ms per generation.",
        "",
        "| t s | RSS MiB | young: n, max ms | middle: n, max ms | full: n, max ms |",
        "|---:|---:|---:|---:|---:|",
    ]
    for sample in samples:
        cells = []
        for generation in ("0", "1", "2"):
            g = sample.get("gc", {}).get(generation, {})
            top = g.get("max_ms")
            cells.append(f"{g.get('count', 0)}, {'-' if top is None else f'{top:.1f}'}")
        lines.append(
            f"| {sample['t_s']:.0f} | {sample['rss_kib'] / 1024:.1f} | {' | '.join(cells)} |"
        )
    return "\n".join(lines) + "\n"


def write_soak(results: dict[str, Any], out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "soak.json", out / "soak.md"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    text = soak_markdown(results)
    md_path.write_text(text)
    return {"files": [json_path, md_path], "md_text": text}


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results"
    json_path = source / "latest.json" if source.is_dir() else source
    results = json.loads(json_path.read_text())
    results["targets"] = targets(results)
    paths = write(results, json_path.parent)
    print(paths["md_text"])


if __name__ == "__main__":
    main()


def _between(stream: dict[str, Any]) -> str:
    gap = stream.get("between_runs_ms") or {}
    if "p50" not in gap:
        return "n/a"
    return f"{gap['p50']:.0f} / {gap['p99']:.0f}"
