"""Server CPU per streamed token: a LangChain `create_agent` graph beside our bare tool loop.

    python -m bench.agent_cost [--quick]     (or python -m bench --only agent)

Both agents answer the same turns from the same offline model (the demo model at full speed,
"count to M": M chunks of one token), through a sink that does nothing, with the serving
coalescing policy; the model streamed alone is the baseline. What is left above it is each
agent's own work per token: LangGraph's graph machinery, callbacks and stream modes on one
side, our loop on the other. CPU time of this process, with the server's garbage-collector
settings, best of a few interleaved rounds (other work on the machine can only slow a round
down). Writes bench/results/agent_cost.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import HumanMessage

from bench.harness import BENCH, ROOT
from schemas.chat import UserStreamPayload
from server.agent.answer_stream import CoalescePolicy
from server.agent.contract import ApprovalAnswer, ChatAgent, RunInput
from server.agent.demo_model import DemoChatModel
from server.agent.graph_runner import GraphAgent
from server.agent.runner import ToolLoopAgent
from server.gc_tuning import tune_for_serving

RESULTS = BENCH / "results"


@dataclass(frozen=True)
class Plan:
    turns: int
    tokens: int
    rounds: int


FULL_PLAN = Plan(turns=20, tokens=2000, rounds=5)
QUICK_PLAN = Plan(turns=5, tokens=1000, rounds=3)


async def _no_sink(payload: UserStreamPayload) -> int:
    return 0


async def _no_gate(call_id: str, name: str, args: dict[str, Any]) -> ApprovalAnswer:
    return ApprovalAnswer("denied", args)


def _turn(agent: ChatAgent, prompt: str, number: int) -> Callable[[], Awaitable[object]]:
    def start() -> Awaitable[object]:
        run = RunInput(
            run_id=f"run-{number}",
            user_id="bench",
            thread_id=f"thread-{number}",
            conversation=[HumanMessage(prompt)],
            sink=_no_sink,
            approve=_no_gate,
        )
        return agent.run(run)

    return start


async def _model_alone(model: DemoChatModel, prompt: str) -> None:
    async for _ in model.astream([HumanMessage(prompt)]):
        pass


async def measure(plan: Plan) -> dict[str, float]:
    model = DemoChatModel(tokens_per_s=0)
    prompt = f"count to {plan.tokens}"
    policy = CoalescePolicy(interval_s=0.025, max_chars=64)
    loop = ToolLoopAgent(model, coalesce=policy)
    graph = GraphAgent(create_agent(model), coalesce=policy)
    variants: dict[str, Callable[[int], Awaitable[object]]] = {
        "model_alone_us": lambda n: _model_alone(model, prompt),
        "loop_us": lambda n: _turn(loop, prompt, n)(),
        "graph_us": lambda n: _turn(graph, prompt, n)(),
    }
    for turn in variants.values():
        await turn(-1)  # imports, caches and compiled schemas out of the way
    # As the server runs: what start-up made frozen out of collection, its thresholds.
    tune_for_serving()
    best = dict.fromkeys(variants, float("inf"))
    # Rounds interleave the variants, so a slow stretch of the machine hits all three.
    for _ in range(plan.rounds):
        for name, turn in variants.items():
            started = time.process_time()
            for number in range(plan.turns):
                await turn(number)
            best[name] = min(best[name], time.process_time() - started)
    per_token = {name: cpu / (plan.turns * plan.tokens) * 1e6 for name, cpu in best.items()}
    alone, loop_us, graph_us = (per_token[n] for n in variants)
    return {
        **per_token,
        "loop_overhead_us": loop_us - alone,
        "graph_overhead_us": graph_us - alone,
        "graph_to_loop": graph_us / loop_us,
        "graph_to_loop_overhead": (graph_us - alone) / max(loop_us - alone, 1e-9),
    }


def markdown(results: dict[str, Any]) -> str:
    r = results["per_token"]
    plan = results["plan"]
    return "\n".join(
        [
            "# Agent cost per streamed token",
            "",
            f"{plan['turns']} turns of {plan['tokens']} tokens, best of {plan['rounds']} rounds, "
            f"CPU time of one process ({results['machine']}).",
            "",
            "| | µs per token | above the model alone |",
            "|---|---:|---:|",
            f"| model streamed alone | {r['model_alone_us']:.1f} | |",
            f"| bare tool loop (`ToolLoopAgent`) | {r['loop_us']:.1f} "
            f"| {r['loop_overhead_us']:.1f} |",
            f"| `create_agent` graph (`GraphAgent`) | {r['graph_us']:.1f} "
            f"| {r['graph_overhead_us']:.1f} |",
            "",
            f"The graph costs {r['graph_to_loop']:.2f}x the loop per token in all, "
            f"{r['graph_to_loop_overhead']:.2f}x in the agent's own work.",
            "",
        ]
    )


def main(quick: bool = False, out: Path = RESULTS) -> None:
    plan = QUICK_PLAN if quick else FULL_PLAN
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        per_token = runner.run(measure(plan))
    results = {
        "started_at": datetime.now(UTC).isoformat(),
        "plan": asdict(plan),
        "machine": f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}",
        "versions": {
            name: metadata.version(name) for name in ("langchain", "langchain-core", "langgraph")
        },
        "per_token": {key: round(value, 3) for key, value in per_token.items()},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "agent_cost.json").write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    (out / "agent_cost.md").write_text(text)
    print(text)
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    print(f"wrote {shown}/agent_cost.json, {shown}/agent_cost.md", file=sys.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.agent_cost")
    parser.add_argument("--quick", action="store_true", help="fewer and shorter turns")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    args = parser.parse_args()
    main(args.quick, args.out)
