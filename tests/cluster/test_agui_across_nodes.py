"""POST /api/agui in a cluster: a run posted to one node, its stream dropped, posted again
(same threadId and runId) to another node, goes on there with nothing doubled (the other
node follows the user's stream through Redis and catches up from the replay store); and a
run whose events left the replay window ends that stream with `stream_gap`."""

from __future__ import annotations

import asyncio

from tests.cluster_nodes import NodeFactory
from tests.harness import LiveServer
from tests.server.http.test_agui import post, run_input, snapshot, text_of, types

EVERYTHING = " ".join(str(n) for n in range(1, 301))


async def our_thread(node: LiveServer, token: str) -> str:
    """A thread of ours: the id a client keeps its conversation under across nodes."""
    _, events = await post(node, run_input("count to 1"), token)
    thread: str = events[1]["value"]["threadId"]
    return thread


def answer_so_far(events: list[dict[str, object]]) -> str:
    """The text of the snapshot's last answer (after the last user message), if any yet."""
    messages = snapshot(events)
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    answers = [m for m in messages[last_user:] if m["role"] == "assistant"]
    return "".join(str(m.get("content") or "") for m in answers)


async def test_a_dropped_stream_goes_on_on_another_node(make_node: NodeFactory) -> None:
    async with make_node(demo_tokens_per_s=300) as first, make_node() as second:
        token = await first.token("alice")
        body = run_input("count to 300", await our_thread(first, token))
        status, dropped = await post(first, body, token, stop_after=20)
        assert status == 200
        got = text_of(dropped)
        assert got

        status, resumed = await post(second, body, token)
        assert status == 200
        assert resumed[1] == dropped[1]  # the same run of ours: nothing sent again
        # The snapshot holds the answer as far as the owner's checkpoint; the rest follows.
        assert EVERYTHING.startswith(got)
        assert answer_so_far(resumed) + text_of(resumed) == EVERYTHING
        assert resumed[-1]["type"] == "RUN_FINISHED"
        assert [m["role"] for m in snapshot(resumed)].count("user") == 2


async def test_events_gone_from_the_replay_window_end_the_stream_with_a_gap(
    make_node: NodeFactory,
) -> None:
    # A small window and rare checkpoints: the stored answer lags far behind the stream.
    slow_checkpoints = {"checkpoint_interval_ms": 60_000, "checkpoint_chars": 100_000}
    async with (
        make_node(demo_tokens_per_s=300, replay_max_events=5, **slow_checkpoints) as first,
        make_node(replay_max_events=5, **slow_checkpoints) as second,
    ):
        token = await first.token("alice")
        body = run_input("count to 1000", await our_thread(first, token))
        status, _ = await post(first, body, token, stop_after=40)
        assert status == 200
        await asyncio.sleep(0.2)
        status, resumed = await post(second, body, token)
        assert status == 200
        assert resumed[-1]["type"] == "RUN_ERROR"
        assert resumed[-1]["code"] == "stream_gap"
        assert "TEXT_MESSAGE_CONTENT" not in types(resumed)
        # Once the run is over its answer is stored whole: the next request's snapshot has it.
        for _ in range(50):
            await asyncio.sleep(0.2)
            status, again = await post(second, body, token)
            if again[-1]["type"] == "RUN_FINISHED":
                break
        assert answer_so_far(again) == " ".join(str(n) for n in range(1, 1001))
        assert "TEXT_MESSAGE_CONTENT" not in types(again)
