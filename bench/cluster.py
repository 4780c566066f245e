"""Cross-node delivery: each node's CPU for a fixed publish load, by how users are spread.

    python -m bench --only cluster [--quick]     (or python -m bench.cluster [--quick])

One redis-server, 1, 2 or 4 nodes on it, and a fixed load of user-stream events published
to every user in turn. Every connection of a user is on one node. The events are appended
(and so published) by the harness through the replay store, exactly as a node appends them,
so the nodes' CPU is delivery alone: receiving, decoding and sending to their connections.
Each node's CPU time comes from /proc/<pid>/stat (utime + stime) over the window.

Two deliveries side by side: per-stream channels (this code: a node subscribes to the
streams of its own connections) and one channel for everything (the delivery before,
`bench.servers.cluster_broadcast`, where every node decodes every event).

On 2 cores: every node shares core 0 (`taskset`), and Redis, the publisher and the Node
clients share core 1. CPU time is work done, so a node's figure holds while core 0 has room;
the report gives both cores' use to show it had. Writes bench/results/cluster.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bench.harness import (
    BENCH,
    CLOCK_TICKS,
    GENERATOR_CORE,
    ROOT,
    SERVER_CORE,
    Generator,
    ServerProcess,
    ServerSpec,
    check_tools,
    core_jiffies,
    free_port,
    make_workdir,
    pin_self_to_generator_core,
    progress,
    run_generator,
    running,
    show_written,
    wait_quiet,
)
from bench.servers.cluster_broadcast import BroadcastAnnouncer
from server.cluster.delivery import StreamAnnouncer
from server.cluster.stream_subscriber import StreamSubscriber
from server.stores.replay_redis import Announcer, RedisReplayStore

RESULTS = BENCH / "results"
PY = sys.executable
MODES = {
    "channels": "a channel per stream (a node hears its own streams)",
    "broadcast": "one channel (every node hears every stream: before)",
}
# A delta as an answer sends it: WS_DELTA_FLUSH_CHARS (64) of text at most.
BODY = {"run_id": "bench-run", "text": "tokens of an answer, streamed as the model writes them "}


@dataclass(frozen=True)
class ClusterPlan:
    quick: bool
    # (nodes, which nodes have users): every node, or only the first.
    layouts: tuple[tuple[int, str], ...] = ((1, "even"), (2, "even"), (4, "even"), (4, "first"))
    users: int = 240
    rate_per_s: float = 2000.0
    idle_s: float = 3.0
    warmup_s: float = 3.0
    duration_s: float = 15.0
    drain_s: float = 1.5
    churn_streams: int = 2000
    quiet_wait_s: float = 30.0
    # Rounds interleave every configuration; each is reported by its median round (the
    # machine may be shared, and contention changes how many events a wakeup carries).
    rounds: int = 3


FULL_PLAN = ClusterPlan(quick=False)
QUICK_PLAN = ClusterPlan(
    quick=True,
    users=120,
    rate_per_s=1000.0,
    idle_s=1.0,
    warmup_s=1.0,
    duration_s=4.0,
    drain_s=1.0,
    churn_streams=300,
    quiet_wait_s=0.0,
    rounds=1,
)


def _pid_cpu_s(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class RedisProcess:
    """redis-server on core 1 (with the clients and the publisher), no persistence."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._log = (workdir / "redis.log").open("wb")
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(workdir)]
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(GENERATOR_CORE), *argv],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.pid = self.proc.pid

    async def wait_ready(self) -> None:
        client = Redis.from_url(self.url)
        try:
            for _ in range(500):
                try:
                    if await client.ping():
                        return
                except (RedisError, OSError):
                    await asyncio.sleep(0.02)
            raise RuntimeError("redis-server did not answer")
        finally:
            await client.aclose()

    async def flushall(self) -> None:
        client = Redis.from_url(self.url)
        try:
            await client.flushall()
        finally:
            await client.aclose()

    def cpu_s(self) -> float:
        return _pid_cpu_s(self.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self._log.close()


def node_spec(mode: str, n: int, index: int, redis_url: str, secret: str) -> ServerSpec:
    env = {
        "WS_LOG_LEVEL": "WARNING",
        "WS_AUTH_MODE": "dev",
        "WS_JWT_SECRET": secret,
        "WS_REDIS_URL": redis_url,
        # One SQLite file for the nodes of a run, as on one machine (docs/operations.md).
        "WS_DATABASE_URL": f"sqlite:///{{workdir}}/cluster-{mode}-{n}.db",
    }
    if mode == "channels":
        argv = [PY, "-m", "server", "serve", "--host", "127.0.0.1", "--port", "{port}"]
    else:
        argv = [PY, "-m", "bench.servers.cluster_broadcast"]
        env.update({"WS_HOST": "127.0.0.1", "WS_PORT": "{port}"})
    return ServerSpec(
        key=f"cluster-{mode}-{n}-{index}",
        label=f"{mode}, node {index + 1}/{n}",
        argv=argv,
        env=env,
        login=True,
        ready_event="chat:ready",
    )


def announcer(mode: str) -> Announcer:
    return StreamAnnouncer() if mode == "channels" else BroadcastAnnouncer()


class Publisher:
    """Appends an event to each user in turn at a fixed total rate, as a node would."""

    def __init__(self, store: RedisReplayStore, users: list[str], rate_per_s: float) -> None:
        self._store = store
        self._users = users
        self._rate = rate_per_s
        self.sent = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        users = self._users
        while not self._stop.is_set():
            # At most 64 appends in flight: one behind schedule catches up over the next
            # turns instead of opening a connection per event.
            due = min(64, int((loop.time() - started) * self._rate) - self.sent)
            if due <= 0:
                await asyncio.sleep(0.002)
                continue
            now = datetime.now(UTC)
            first = self.sent
            self.sent += due
            await asyncio.gather(
                *(
                    self._store.append(users[(first + i) % len(users)], "agent:delta", BODY, now)
                    for i in range(due)
                )
            )

    def stop(self) -> None:
        self._stop.set()


def _cpu(servers: list[ServerProcess]) -> list[float]:
    return [server.cpu_s() for server in servers]


async def measure_layout(
    plan: ClusterPlan, workdir: Path, redis: RedisProcess, mode: str, n: int, layout: str
) -> dict[str, Any]:
    await redis.flushall()
    secret = secrets.token_hex(32)
    users = [f"bench-cluster-{i}" for i in range(plan.users)]
    async with AsyncExitStack() as stack:
        servers = [
            await stack.enter_async_context(
                running(node_spec(mode, n, i, redis.url, secret), workdir)
            )
            for i in range(n)
        ]
        # Every connection of a user on one node: user i on node i mod n, or all on node 1.
        home = [i % n if layout == "even" else 0 for i in range(len(users))]
        targets = [{"url": servers[h].url, "user": u} for u, h in zip(users, home, strict=True)]
        # With every user on node 1, each other node holds one connection of a user nothing
        # is sent to: a node of a deployment has connections (python-socketio's manager only
        # starts listening at a node's first connection).
        targets += [
            {"url": server.url, "user": f"bench-cluster-idle-{i}"}
            for i, server in enumerate(servers)
            if layout != "even" and i > 0
        ]
        store = RedisReplayStore.from_url(redis.url, 1000, 300.0, announcer=announcer(mode))
        await store.open()
        stack.push_async_callback(store.close)
        out: dict[str, Any] = {}

        async def on_mark(name: str, _arg: str, gen: Generator) -> None:
            if name == "connected":
                out.update(await _window(plan, redis, servers, store, users, gen))

        generator = await run_generator(
            {"mode": "follow", "targets": targets, "login": True, "ready_event": "chat:ready"},
            on_mark,
            timeout_s=300 + plan.idle_s + plan.warmup_s + plan.duration_s,
        )
    per_url = generator["per_url"]
    published = out["published_in_window"]
    nodes = []
    for i, server in enumerate(servers):
        cpu_s = out["node_cpu_s"][i]
        delivered = per_url.get(server.url, {}).get("events", 0)
        nodes.append(
            {
                "node": i + 1,
                "users": home.count(i),
                "cpu_percent": 100 * cpu_s / out["window_s"],
                "idle_cpu_percent": 100 * out["node_idle_cpu_s"][i] / out["idle_s"],
                "events_delivered": delivered,
                "cpu_us_per_published_event": 1e6 * cpu_s / published if published else None,
                "cpu_us_per_delivered_event": 1e6 * cpu_s / delivered if delivered else None,
            }
        )
    result = {
        "mode": mode,
        "nodes": n,
        "layout": layout,
        "users": len(users),
        "per_node": nodes,
        "generator": generator,
        **{k: v for k, v in out.items() if not k.startswith("node_")},
    }
    received = generator["events_in_window"] + generator["events_outside_window"]
    result["every_event_delivered"] = received == out["published_total"]
    cpus = ", ".join(f"{node['cpu_percent']:.1f}%" for node in nodes)
    progress(
        f"  {mode}, {n} nodes ({layout}): node CPU {cpus}; Redis {out['redis_cpu_percent']:.1f}%;"
        f" {received:,} of {out['published_total']:,} events received, "
        f"{generator['seq_gaps']} gaps; lag p50 {generator['lag_ms'].get('p50', 0):.1f} ms "
        f"p99 {generator['lag_ms'].get('p99', 0):.1f} ms"
    )
    return result


async def _window(
    plan: ClusterPlan,
    redis: RedisProcess,
    servers: list[ServerProcess],
    store: RedisReplayStore,
    users: list[str],
    gen: Generator,
) -> dict[str, Any]:
    pids = tuple(s.pid for s in servers)
    quiet = await wait_quiet(plan.quiet_wait_s, 0.5, ignore_pids=pids)
    idle_start = _cpu(servers)
    await asyncio.sleep(plan.idle_s)
    idle = [b - a for a, b in zip(idle_start, _cpu(servers), strict=True)]

    publisher = Publisher(store, users, plan.rate_per_s)
    publishing = asyncio.create_task(publisher.run())
    await asyncio.sleep(plan.warmup_s)
    await gen.send("measure_start")
    t0, cpu0, redis0, sent0 = time.monotonic(), _cpu(servers), redis.cpu_s(), publisher.sent
    cores0, own0 = core_jiffies(), time.process_time()
    await asyncio.sleep(plan.duration_s)
    t1, cpu1, redis1, sent1 = time.monotonic(), _cpu(servers), redis.cpu_s(), publisher.sent
    cores1, own1 = core_jiffies(), time.process_time()
    await gen.send("measure_end")
    publisher.stop()
    await publishing
    await asyncio.sleep(plan.drain_s)  # events in flight reach their clients
    await gen.send("release")

    window = t1 - t0
    busy = {}
    for core in (SERVER_CORE, GENERATOR_CORE):
        used = cores1[core][0] - cores0[core][0]
        total = cores1[core][1] - cores0[core][1]
        busy[core] = 100 * used / total if total else 0.0
    return {
        "window_s": window,
        "idle_s": plan.idle_s,
        "node_cpu_s": [b - a for a, b in zip(cpu0, cpu1, strict=True)],
        "node_idle_cpu_s": idle,
        "redis_cpu_percent": 100 * (redis1 - redis0) / window,
        "publisher_cpu_percent": 100 * (own1 - own0) / window,
        "published_in_window": sent1 - sent0,
        "published_per_s": (sent1 - sent0) / window,
        "published_total": publisher.sent,
        "core0_busy_percent": busy[SERVER_CORE],
        "core1_busy_percent": busy[GENERATOR_CORE],
        "quiet_check": quiet,
    }


async def measure_churn(plan: ClusterPlan, redis: RedisProcess) -> dict[str, Any]:
    """What subscribing per stream costs: follow (one SUBSCRIBE, awaited) and unfollow of
    distinct streams, one after another, as connections come and go."""
    subscriber = StreamSubscriber(redis.url)
    count = plan.churn_streams
    async with subscriber.running():
        for _ in range(500):
            if subscriber.connected:
                break
            await asyncio.sleep(0.01)
        redis0, t0 = redis.cpu_s(), time.perf_counter()
        for i in range(count):
            await subscriber.follow(f"churn-{i}")
        t1 = time.perf_counter()
        for i in range(count):
            subscriber.unfollow(f"churn-{i}")
        # Unsubscribes are sent without waiting: a follow afterwards is confirmed after them.
        await subscriber.follow("churn-last")
        t2, redis1 = time.perf_counter(), redis.cpu_s()
    result = {
        "streams": count,
        "follow_us": 1e6 * (t1 - t0) / count,
        "unfollow_us": 1e6 * (t2 - t1) / count,
        "redis_cpu_us_per_subscribe_and_unsubscribe": 1e6 * (redis1 - redis0) / count,
    }
    progress(
        f"  subscribe churn: follow {result['follow_us']:.0f} us (a round trip), unfollow "
        f"{result['unfollow_us']:.0f} us; Redis CPU "
        f"{result['redis_cpu_us_per_subscribe_and_unsubscribe']:.0f} us per pair "
        "(at the 10 ms resolution of /proc)"
    )
    return result


async def run(plan: ClusterPlan) -> dict[str, Any]:
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "meta": {
            "started_at": started.isoformat(),
            "quick": plan.quick,
            "plan": asdict(plan),
            "cores": os.cpu_count(),
            "nodes_core": SERVER_CORE,
            "redis_publisher_clients_core": GENERATOR_CORE,
            "git_commit": _git("rev-parse", "--short", "HEAD"),
            "git_dirty": bool(_git("status", "--porcelain")),
        },
        "runs": [],
    }
    with make_workdir() as tmp:
        workdir = Path(tmp)
        redis = RedisProcess(workdir)
        try:
            await redis.wait_ready()
            rounds: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
            for round_no in range(1, plan.rounds + 1):
                for n, layout in plan.layouts:
                    for mode in MODES:
                        progress(
                            f"=== cluster (round {round_no}/{plan.rounds}): {mode}, {n} nodes, "
                            f"users on {layout} ==="
                        )
                        measured = await measure_layout(plan, workdir, redis, mode, n, layout)
                        rounds.setdefault((n, layout, mode), []).append(measured)
            results["runs"] = [_median_round(measured) for measured in rounds.values()]
            progress("=== cluster: subscribe churn ===")
            results["churn"] = await measure_churn(plan, redis)
        finally:
            redis.stop()
    finished = datetime.now(UTC)
    results["meta"]["elapsed_s"] = round((finished - started).total_seconds(), 1)
    return results


def _mean_cpu(run_result: dict[str, Any]) -> float:
    nodes = run_result["per_node"]
    return sum(float(node["cpu_percent"]) for node in nodes) / len(nodes)


def _median_round(measured: list[dict[str, Any]]) -> dict[str, Any]:
    chosen = dict(sorted(measured, key=_mean_cpu)[len(measured) // 2])
    chosen["rounds_mean_cpu_percent"] = [round(_mean_cpu(r), 2) for r in measured]
    chosen["rounds"] = len(measured)
    return chosen


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, check=False)
    return done.stdout.strip()


def markdown(results: dict[str, Any]) -> str:
    meta, plan = results["meta"], results["meta"]["plan"]
    lines = [
        "# netra-ws benchmark: cross-node delivery",
        "",
        f"{'Quick' if meta['quick'] else 'Full'} run, {meta['started_at'][:19]}Z, "
        f"{meta['elapsed_s']:.0f} s, commit {meta['git_commit']}"
        f"{' (working tree with uncommitted changes)' if meta.get('git_dirty') else ''}. "
        f"{meta['cores']} cores: every "
        f"node on core {meta['nodes_core']}, Redis, the publisher and the Node clients on core "
        f"{meta['redis_publisher_clients_core']} (`taskset`). Method: bench/cluster.py.",
        "",
        f"{plan['users']} users, one connection each, each user's connection on one node; "
        f"{plan['rate_per_s']:,.0f} `agent:delta` events/s in all, to each user in turn "
        f"({plan['rate_per_s'] / plan['users']:.1f}/s per user), appended through the replay "
        f"store by the harness; {plan['duration_s']:g} s measured after {plan['warmup_s']:g} s. "
        "Node CPU is utime + stime from /proc over the window, in % of one core. "
        f"{plan['rounds']} round(s), interleaved; each row is its configuration's median round "
        "(by mean CPU per node), every round's mean listed below.",
        "",
        "| Delivery | Nodes | Users on | Users per node | CPU per node | Mean per node | "
        "All nodes | CPU per event delivered | Redis | Events received | Lag p50 / p99 | "
        "Cores 0 / 1 busy |",
        "|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["runs"]:
        nodes = r["per_node"]
        cpus = [node["cpu_percent"] for node in nodes]
        gen = r["generator"]
        received = gen["events_in_window"] + gen["events_outside_window"]
        ok = "all" if r["every_event_delivered"] and gen["seq_gaps"] == 0 else "**missing**"
        lag = gen["lag_ms"]
        per_event = [n["cpu_us_per_delivered_event"] for n in nodes if n["events_delivered"]]
        lines.append(
            f"| {r['mode']} | {r['nodes']} | {'every node' if r['layout'] == 'even' else 'node 1'}"
            f" | {' / '.join(str(node['users']) for node in nodes)}"
            f" | {' / '.join(f'{c:.1f}%' for c in cpus)} | {sum(cpus) / len(cpus):.1f}%"
            f" | {sum(cpus):.1f}% | {sum(per_event) / len(per_event):.0f} µs"
            f" | {r['redis_cpu_percent']:.1f}%"
            f" | {received:,} ({ok}) | {lag.get('p50', 0):.1f} / {lag.get('p99', 0):.1f} ms"
            f" | {r['core0_busy_percent']:.0f}% / {r['core1_busy_percent']:.0f}% |"
        )
    lines += [
        "",
        "Modes: " + "; ".join(f"**{k}**: {v}" for k, v in MODES.items()) + ". "
        "CPU per event delivered: a node's CPU over the events its own connections received, "
        "averaged over the nodes that had any. With every user on node 1, each other node "
        "holds one connection of a user nothing is sent to.",
        "",
        "Mean CPU per node in every round: "
        + "; ".join(
            f"{r['mode']} {r['nodes']} ({r['layout']}) "
            + ", ".join(f"{c:.1f}" for c in r.get("rounds_mean_cpu_percent", []))
            for r in results["runs"]
        )
        + " %.",
        "",
        "Idle CPU per node (connections held, nothing published): "
        + "; ".join(
            f"{r['mode']} {r['nodes']} ({r['layout']}) "
            + "/".join(f"{node['idle_cpu_percent']:.1f}" for node in r["per_node"])
            for r in results["runs"]
        )
        + " %.",
    ]
    churn = results.get("churn")
    if churn:
        lines += [
            "",
            f"Subscribe churn ({churn['streams']:,} streams, one after another): a follow "
            f"(SUBSCRIBE, confirmation awaited) {churn['follow_us']:.0f} µs, an unfollow "
            f"{churn['unfollow_us']:.0f} µs; Redis CPU "
            f"{churn['redis_cpu_us_per_subscribe_and_unsubscribe']:.0f} µs per subscribe and "
            "unsubscribe (/proc counts in 10 ms ticks).",
        ]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "cluster.json", out / "cluster.md"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    md_path.write_text(markdown(results))
    return [json_path, md_path]


def main(quick: bool = False, out: Path = RESULTS) -> None:
    check_tools()
    if shutil.which("redis-server") is None:
        sys.exit("bench: the cluster scenario needs redis-server on PATH (make system-deps)")
    pin_self_to_generator_core()
    plan = QUICK_PLAN if quick else FULL_PLAN
    progress(
        f"netra-ws cluster bench ({'quick' if quick else 'full'}): nodes on core {SERVER_CORE}, "
        f"Redis, publisher and clients on core {GENERATOR_CORE}"
    )
    results = asyncio.run(run(plan))
    paths = write(results, out)
    show_written(paths[1].read_text(), paths)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.cluster")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    main(args.quick, args.out)
    sys.exit(0)
