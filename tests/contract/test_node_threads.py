"""Thread management, paging, search, regenerate and one answer at a time per thread, as two
tabs of one Node socket.io-client user see them (tests/node/threads_contract.mjs)."""

from __future__ import annotations

from typing import Any

from tests.conftest import SettingsFactory
from tests.contract.node import run_node_script
from tests.harness import live_server


def _ids(messages: list[dict[str, Any]]) -> list[str]:
    return [m["id"] for m in messages]


async def test_two_tabs_see_threads_paging_search_regenerate_and_conflicts(
    make_settings: SettingsFactory,
) -> None:
    # Fast enough to finish quickly, slow enough that `count to 3000` is still running
    # while the conflicting calls are made.
    async with live_server(make_settings(demo_tokens_per_s=1500)) as live:
        seen = await run_node_script("threads_contract.mjs", live.url)

    _check_parts(seen)
    _check_regenerate(seen)
    _check_paging(seen)
    _check_rename_and_search(seen)
    _check_conflict(seen)
    _check_delete(seen)
    # Both tabs got the whole stream, in the same order, without gaps.
    assert seen["seqsA"] == list(range(1, len(seen["seqsA"]) + 1))
    assert seen["seqsB"] == seen["seqsA"]


def _check_parts(seen: dict[str, Any]) -> None:
    calc = seen["calc"]
    live = calc["liveA"]
    assert [p["type"] for p in live] == ["tool_call", "tool_result", "text"]
    call, result, text = live
    assert (call["name"], call["args"]) == ("calculator", {"expression": "(12 + 30) * 2 / 4"})
    assert (result["call_id"], result["result"], result["is_error"]) == (call["call_id"], 21, False)
    assert "21" in text["text"]
    # One answer, one shape: folded live on either tab, completed, stored.
    assert calc["liveB"] == live
    assert calc["completed"]["parts"] == live
    assert calc["completed"]["text"] == text["text"]
    [stored] = [m for m in calc["history"]["messages"] if m["role"] == "assistant"]
    assert stored["parts"] == live
    assert (stored["id"], stored["status"]) == (calc["completed"]["id"], "complete")
    if calc["usage"] is not None:
        usage = calc["usage"]
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def _check_regenerate(seen: dict[str, Any]) -> None:
    regen = seen["regenerate"]
    ack = regen["ack"]
    assert ack["ok"] is True, ack
    assert ack["data"]["duplicate"] is False
    assert regen["repeat"]["data"] == {**ack["data"], "duplicate": True}
    user_message = seen["calc"]["history"]["messages"][0]
    assert ack["data"]["reply_to"] == user_message["id"]
    started = regen["startedOnB"]
    assert started["event"] == "agent:run_started"
    assert started["reply_to"] == user_message["id"]
    messages = regen["history"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "assistant"]
    first, second = messages[1:]
    assert first["id"] == seen["calc"]["completed"]["id"]
    assert second["run_id"] == ack["data"]["run_id"]
    assert first["reply_to"] == second["reply_to"] == user_message["id"]
    assert second["status"] == "complete"
    assert [p["type"] for p in second["parts"]] == ["tool_call", "tool_result", "text"]


def _check_paging(seen: dict[str, Any]) -> None:
    pages = seen["threadsPages"]
    assert [len(p["threads"]) for p in pages] == [2, 2, 1]
    assert [p["next_before"] is None for p in pages] == [False, False, True]
    paged = [t["id"] for page in pages for t in page["threads"]]
    assert paged == [t["id"] for t in seen["allThreads"]["threads"]]
    assert sorted(paged) == sorted(seen["threadIds"])
    assert seen["allThreads"]["next_before"] is None

    history = seen["historyPages"]
    assert [len(p["messages"]) for p in history] == [2, 2, 2]
    assert [p["has_more"] for p in history] == [True, True, False]
    newest_last = [m for page in reversed(history) for m in page["messages"]]
    assert _ids(newest_last) == _ids(seen["fullHistory"]["messages"])
    assert [m["text"] for m in newest_last[::2]] == ["count to 1", "count to 5", "count to 6"]
    assert seen["fullHistory"]["has_more"] is False


def _check_rename_and_search(seen: dict[str, Any]) -> None:
    calc_thread = seen["threadIds"][0]
    renamed = seen["rename"]
    assert renamed["ok"] is True, renamed
    assert renamed["data"]["thread"]["title"] == "Budget arithmetic"
    assert seen["renamedOnB"]["thread"] == renamed["data"]["thread"]
    search = seen["search"]
    assert search["budget"] == [calc_thread]
    assert search["bothWords"] == [calc_thread]  # every word, as a prefix, in any order
    assert search["pineapple"] == [seen["threadIds"][2]]  # in a message, not the title
    assert search["nothing"] == []


def _check_conflict(seen: dict[str, Any]) -> None:
    conflict = seen["conflict"]
    for refused in (conflict["send"], conflict["regenerate"]):
        assert refused["ok"] is False, refused
        assert refused["error"]["code"] == "conflict"
        assert refused["error"]["details"]["run_id"] == conflict["runId"]
    # Another thread answers meanwhile; once stopped, the thread takes a message again.
    assert conflict["otherThread"]["duplicate"] is False
    assert conflict["stop"]["data"] == {"stopped": True}
    assert conflict["endOnB"] == "agent:run_stopped"
    assert conflict["after"]["thread_id"] == seen["threadIds"][1]


def _check_delete(seen: dict[str, Any]) -> None:
    deleted = seen["delete"]
    doomed = seen["threadIds"][4]
    assert deleted["ack"] == {"ok": True, "data": {"deleted": True}}
    assert deleted["onB"]["thread_id"] == doomed
    assert doomed not in deleted["threads"]
    assert len(deleted["threads"]) == 4
    assert deleted["history"]["error"]["code"] == "not_found"
    assert deleted["again"]["error"]["code"] == "not_found"
    names = seen["namesB"]
    assert names.index("chat:thread_updated") < names.index("chat:thread_deleted")
