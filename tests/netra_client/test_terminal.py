"""`netra-ws chat` with piped input against a real server: reasoning, tool calls, approvals
and the thread commands, as a person reading the terminal sees them."""

from __future__ import annotations

import asyncio
import os
import sys

from netra_client.terminal import PROMPT
from tests.harness import LiveServer

CHAT_TIMEOUT_S = 60.0


async def _chat(server: LiveServer, lines: list[str], user: str = "tia") -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WS_")}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "server", "chat", server.url, "--user", user),
        env={**env, "COLUMNS": "200"},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    piped = "".join(line + "\n" for line in lines).encode()
    stdout, stderr = await asyncio.wait_for(process.communicate(piped), CHAT_TIMEOUT_S)
    assert process.returncode == 0, stdout.decode() + stderr.decode()
    return stdout.decode(), stderr.decode()


def _after(out: str, line: str, until: str | None = None) -> str:
    """What the chat printed after the echo of `line`, up to the echo of `until` (by default
    up to the next prompt)."""
    rest = out.split(f"{PROMPT}{line}\n", 1)[1]
    return rest.split(PROMPT if until is None else f"{PROMPT}{until}\n", 1)[0]


async def test_reasoning_and_tool_calls_show_as_they_stream(server: LiveServer) -> None:
    out, _ = await _chat(server, ["think about tides", "calculate 6*7"])
    thought = _after(out, "think about tides").splitlines()
    assert thought[0].startswith("thinking: ")
    assert len(thought) == 2  # the reasoning line, then the answer on its own line
    assert not thought[1].startswith("thinking")
    assert _after(out, "calculate 6*7").splitlines() == [
        '⚙ calculator({"expression": "6*7"}) → 42',
        "6*7 = 42.",
    ]


async def test_a_tool_that_needs_approval_asks_y_or_n(server: LiveServer) -> None:
    out, news = await _chat(
        server,
        ["remind me to water the plants", "maybe", "y", "remind me to call mum", "n", "count to 2"],
    )
    approved = _after(out, "remind me to water the plants")
    assert '⚙ create_reminder({"text": "water the plants"}) ? awaiting your approval' in approved
    assert 'approve create_reminder({"text": "water the plants"})? [y/n]' in approved
    assert "⚙ create_reminder ✓ approved" in approved
    assert '"text": "water the plants"' in approved.split("✓ approved", 1)[1]
    assert "answer y or n" in news
    denied = _after(out, "remind me to call mum")
    assert "⚙ create_reminder ✗ denied" in denied
    # The line that was no answer is sent after the turn, in order.
    assert f"{PROMPT}maybe\n" in out.split("✓ approved", 1)[1]
    assert _after(out, "count to 2").strip() == "1 2"


async def test_end_of_input_denies_a_waiting_approval(server: LiveServer) -> None:
    out, news = await _chat(server, ["remind me to stretch"])
    assert "⚙ create_reminder ✗ denied" in out
    assert "end of input" in news


async def test_threads_can_be_searched_renamed_regenerated_and_deleted(
    server: LiveServer,
) -> None:
    out, news = await _chat(
        server,
        [
            "count to 2",
            "/rename Counting practice",
            "/regenerate",
            "/history",
            "/new",
            "calculate 1+1",
            "/threads counting",
            "/threads",
            "/delete",
            "/threads",
        ],
    )
    assert "renamed: Counting practice" in news
    assert _after(out, "/regenerate").strip() == "1 2"
    assert _after(out, "/history", "/new").splitlines() == [
        f"{PROMPT}count to 2",
        "↻ answer 1 / 2",
        "1 2",
        "↻ answer 2 / 2",
        "1 2",
    ]
    assert "Counting practice" in _after(out, "/threads counting")
    assert "calculate 1+1" not in _after(out, "/threads counting")
    listed = out.split(f"{PROMPT}/threads\n")
    assert "calculate 1+1" in listed[1]
    assert "deleted thread" in news
    assert "calculate 1+1" not in listed[2]
    assert "Counting practice" in listed[2]


async def test_more_pages_back_through_a_long_thread(server: LiveServer) -> None:
    turns = [f"count to {n}" for n in range(1, 12)]
    out, news = await _chat(server, [*turns, "/history", "/more", "/more"])
    shown = _after(out, "/history", "/more").splitlines()
    assert len(shown) == 20  # the newest 20 of 22 messages
    assert shown[:2] == [f"{PROMPT}count to 2", "1 2"]
    assert "older messages: /more" in news
    older = _after(out, "/more", "/more").splitlines()
    assert older == ["── 2 older messages ──", f"{PROMPT}count to 1", "1"]
    assert "no older messages" in news
