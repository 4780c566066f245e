"""Chat history on SQLite: paging back through a long thread, and searching many threads.

    python -m bench --only history [--quick]     (or python -m bench.history [--quick])

In process, through the store's own API (SqliteChatStore on a file in a temporary directory,
WAL, as the server runs it); no server, no network. Two measurements:

* Paging: one thread of 1,000 messages (user questions and answers made of a reasoning part
  and a text part), read newest first with list_messages(limit=50, before=<oldest id of the
  page before>) down to the first message: 20 pages a pass, timed page by page. Target:
  at most 20 ms a page.
* Search: 200 threads of 50 messages each, one user; list_threads(limit=50, query=...) for a
  word in most messages, a rare word, two prefixes together, and a word found nowhere.

Writes bench/results/history.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import BENCH, progress, show_written
from schemas.parts import MessagePart, ReasoningPart, TextPart
from server.stores.chat_sqlite import SqliteChatStore

RESULTS = BENCH / "results"
USER = "bench-user"
PAGE_TARGET_MS = 20.0
_VOCABULARY = (
    "lisbon porto tram river bridge castle museum harbour market garden station ticket "
    "weather sunny cloudy rain wind forecast planet orbit moon comet galaxy telescope "
    "recipe bread butter garlic tomato pasta oven minutes flour sugar lemon pepper "
    "budget invoice payment account balance report quarter revenue margin forecast "
    "python socket server client message thread stream buffer latency cache index query"
)
WORDS = tuple(_VOCABULARY.split())
# (label, query): a word in most messages, a rare one, two prefixes, one found nowhere.
QUERIES = (
    ("common word", "the"),
    ("rare word", "zanzibar"),
    ("two prefixes", "plan orb"),
    ("no match", "xylophone"),
)


@dataclass(frozen=True)
class Plan:
    quick: bool
    thread_messages: int = 1000
    page_limit: int = 50
    page_passes: int = 20
    search_threads: int = 200
    search_thread_messages: int = 50
    search_repeats: int = 30


FULL_PLAN = Plan(quick=False)
QUICK_PLAN = Plan(quick=True, page_passes=5, search_threads=50, search_repeats=10)


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _answer(rng: random.Random, extra: str = "") -> list[MessagePart]:
    text = " ".join(_sentence(rng, rng.randint(8, 16)) for _ in range(rng.randint(2, 5)))
    return [
        ReasoningPart(text=_sentence(rng, rng.randint(10, 20))),
        TextPart(text=f"The {text} {extra}".strip()),
    ]


async def _conversation(
    store: SqliteChatStore, rng: random.Random, messages: int, tag: str, rare: bool = False
) -> str:
    """One thread of `messages` messages, as the server writes them; returns its id."""
    thread_id: str | None = None
    for turn in range(messages // 2):
        key = f"{tag}-{turn}"
        sent = await store.send_user_message(
            user_id=USER,
            thread_id=thread_id,
            text=_sentence(rng, rng.randint(5, 12)),
            client_msg_id=key,
            run_id=f"run-{key}",
            answer_id=f"answer-{key}",
            history_limit=1,
        )
        thread_id = sent.thread.id
        extra = "Zanzibar." if rare and turn == 0 else ""
        await store.finish_assistant_message(
            message_id=f"answer-{key}", parts=_answer(rng, extra), status="complete"
        )
    assert thread_id is not None
    return thread_id


def _stats(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(p99, 3),
        "max_ms": round(ordered[-1], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


async def measure_paging(plan: Plan, workdir: Path) -> dict[str, Any]:
    store = SqliteChatStore(f"sqlite:///{workdir / 'paging.db'}")
    await store.open()
    try:
        started = time.perf_counter()
        thread_id = await _conversation(store, random.Random(1), plan.thread_messages, "p")
        progress(
            f"  paging: {plan.thread_messages} messages written in "
            f"{time.perf_counter() - started:.1f} s"
        )
        samples: list[float] = []
        for _ in range(plan.page_passes):
            before: str | None = None
            seen = 0
            while True:
                started = time.perf_counter()
                page = await store.list_messages(
                    user_id=USER, thread_id=thread_id, limit=plan.page_limit, before=before
                )
                if not page:
                    break
                samples.append((time.perf_counter() - started) * 1000)
                seen += len(page)
                before = page[0].id
            assert seen == plan.thread_messages, seen
    finally:
        await store.close()
    stats = _stats(samples)
    progress(
        f"  paging: {len(samples)} pages of {plan.page_limit}: p50 {stats['p50_ms']:.2f} ms, "
        f"p99 {stats['p99_ms']:.2f} ms, max {stats['max_ms']:.2f} ms"
    )
    pages = len(samples) // plan.page_passes
    return {"pages_per_pass": pages, "passes": plan.page_passes, **stats}


async def measure_search(plan: Plan, workdir: Path) -> dict[str, Any]:
    store = SqliteChatStore(f"sqlite:///{workdir / 'search.db'}")
    await store.open()
    try:
        started = time.perf_counter()
        rng = random.Random(2)
        for i in range(plan.search_threads):
            # A few threads hold the rare word once, in one answer.
            rare = i % 50 == 7
            await _conversation(store, rng, plan.search_thread_messages, f"s{i}", rare=rare)
        progress(
            f"  search: {plan.search_threads} threads x {plan.search_thread_messages} messages "
            f"written in {time.perf_counter() - started:.1f} s"
        )
        results: dict[str, Any] = {}
        for label, query in QUERIES:
            samples: list[float] = []
            found = 0
            for _ in range(plan.search_repeats):
                started = time.perf_counter()
                page = await store.list_threads(USER, limit=50, query=query)
                samples.append((time.perf_counter() - started) * 1000)
                found = len(page.threads)
            stats = _stats(samples)
            results[label] = {"query": query, "threads_on_page": found, **stats}
            progress(
                f"  search {label!r} ({query!r}): {found} threads, p50 {stats['p50_ms']:.2f} ms,"
                f" p99 {stats['p99_ms']:.2f} ms, max {stats['max_ms']:.2f} ms"
            )
    finally:
        await store.close()
    return results


async def run(plan: Plan) -> dict[str, Any]:
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="netra-bench-history-") as tmp:
        workdir = Path(tmp)
        paging = await measure_paging(plan, workdir)
        search = await measure_search(plan, workdir)
    finished = datetime.now(UTC)
    return {
        "meta": {
            "started_at": started.isoformat(),
            "elapsed_s": round((finished - started).total_seconds(), 1),
            "quick": plan.quick,
            "plan": asdict(plan),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "machine": platform.machine(),
        },
        "paging": paging,
        "search": search,
        "target_page_ms": PAGE_TARGET_MS,
        "page_target_met": paging["max_ms"] <= PAGE_TARGET_MS,
    }


def markdown(results: dict[str, Any]) -> str:
    meta, plan, paging = results["meta"], results["meta"]["plan"], results["paging"]
    met = "met" if results["page_target_met"] else "**missed**"
    lines = [
        "# netra-ws benchmark: chat history on SQLite",
        "",
        f"{'Quick' if meta['quick'] else 'Full'} run, {meta['started_at'][:19]}Z, "
        f"{meta['elapsed_s']:.0f} s; Python {meta['python']}, SQLite {meta['sqlite']}. "
        "In process, through SqliteChatStore (WAL, one file). Method: bench/history.py.",
        "",
        "| Measurement | Calls | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
        f"| list_messages, {plan['thread_messages']:,}-message thread, "
        f"{plan['page_limit']} a page back to the first | {paging['count']} "
        f"| {paging['p50_ms']:.2f} | {paging['p99_ms']:.2f} | {paging['max_ms']:.2f} |",
    ]
    for label, r in results["search"].items():
        lines.append(
            f"| list_threads search, {label} `{r['query']}` ({r['threads_on_page']} threads) "
            f"| {r['count']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.2f} |"
        )
    lines += [
        "",
        f"Paging: {paging['passes']} passes of {paging['pages_per_pass']} pages; target at most "
        f"{results['target_page_ms']:g} ms a page: {met}. Search: "
        f"{plan['search_threads']} threads x {plan['search_thread_messages']} messages of one "
        f"user, first page of 50, {plan['search_repeats']} calls per query.",
    ]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "history.json", out / "history.md"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    md_path.write_text(markdown(results))
    return [json_path, md_path]


def main(quick: bool = False, out: Path = RESULTS) -> None:
    plan = QUICK_PLAN if quick else FULL_PLAN
    progress(f"netra-ws history bench ({'quick' if quick else 'full'})")
    results = asyncio.run(run(plan))
    paths = write(results, out)
    show_written(paths[1].read_text(), paths)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.history")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    main(args.quick, args.out)
