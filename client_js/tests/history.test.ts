import { describe, expect, it } from "vitest";
import { mergeHistory } from "../src/core/history";
import { reduce } from "../src/core/reducer";
import type { ChatState, StreamEvent } from "../src/core/state";
import { completed, delta, ev, historyMessage, runStarted, state, userMessage } from "./fixtures";

const live = (s: ChatState, ...events: StreamEvent[]) => events.reduce((acc, event) => reduce(acc, { type: "event", event }), s);
const textOf = (s: ChatState, id = "a1") => s.messages.t1?.find((m) => m.id === id)?.text;

// A reload mid-answer: history holds "1 2 3" up to seq 5; the stream goes on at seq 6.
const snapshot = [
  historyMessage({ id: "u1", role: "user", text: "count to 9", client_msg_id: "c1" }),
  historyMessage({ id: "a1", role: "assistant", text: "1 2 3", parts: [{ type: "text", text: "1 2 3" }], status: "streaming", run_id: "r1", seq: 5, reply_to: "u1" }),
];
// Events this tab received before the history answer came back.
const before = [userMessage(1, "u1", "t1", "count to 9", "c1"), runStarted(2, "r1", "t1", "a1"), delta(3, "r1", "1"), delta(4, "r1", " 2"), delta(5, "r1", " 3"), delta(6, "r1", " 4"), delta(7, "r1", " 5")];

describe("history, then live events", () => {
  it("continues a streaming message from its seq: nothing doubled, nothing missing", () => {
    const s = mergeHistory(state({ openThreadId: "t1" }), "t1", snapshot, before);
    expect(textOf(s)).toBe("1 2 3 4 5");
    expect(s.messages.t1?.find((m) => m.id === "a1")).toMatchObject({ status: "streaming", seq: 7 });
    // Live events after the merge carry on, and a late duplicate is ignored.
    const after = live(s, delta(8, "r1", " 6"), delta(7, "r1", " 5"), completed(9, "r1", "t1", "a1", "1 2 3 4 5 6"));
    expect(textOf(after)).toBe("1 2 3 4 5 6");
    expect(after.messages.t1?.find((m) => m.id === "a1")?.status).toBe("complete");
  });

  it("keeps only the seq the snapshot lacks when it is older than what arrived", () => {
    const older = [snapshot[0]!, { ...snapshot[1]!, text: "1", parts: [{ type: "text" as const, text: "1" }], seq: 3 }];
    const s = mergeHistory(state({ openThreadId: "t1" }), "t1", older, before);
    expect(textOf(s)).toBe("1 2 3 4 5");
  });

  it("ignores buffered deltas for an answer history already has complete", () => {
    const done = [snapshot[0]!, { ...snapshot[1]!, text: "1 2 3 4 5 6 7 8 9", parts: [{ type: "text" as const, text: "1 2 3 4 5 6 7 8 9" }], status: "complete" as const, seq: null }];
    const s = mergeHistory(state({ openThreadId: "t1" }), "t1", done, before);
    expect(textOf(s)).toBe("1 2 3 4 5 6 7 8 9");
    expect(s.messages.t1?.map((m) => m.id)).toEqual(["u1", "a1"]);
  });

  it("adds messages that arrived after the snapshot was taken, once", () => {
    const later = [...before, userMessage(8, "u2", "t1", "next", "c2"), runStarted(9, "r2", "t1", "a2", "u2"), delta(10, "r2", "ok")];
    const s = mergeHistory(state({ openThreadId: "t1" }), "t1", snapshot, later);
    expect(s.messages.t1?.map((m) => m.id)).toEqual(["u1", "a1", "u2", "a2"]);
    expect(textOf(s, "a2")).toBe("ok");
  });

  it("adds a tool call that came after the snapshot to its parts, and not one it already has", () => {
    const events = [
      runStarted(2, "r1", "t1", "a1"),
      ev("agent:tool_call", 4, { run_id: "r1", call_id: "old", name: "calculator", args: { expression: "0" } }),
      ev("agent:tool_call", 6, { run_id: "r1", call_id: "k", name: "calculator", args: { expression: "1+1" } }),
    ];
    const s = mergeHistory(state({ openThreadId: "t1" }), "t1", snapshot, events);
    expect(s.messages.t1?.find((m) => m.id === "a1")?.parts).toEqual([
      { type: "text", text: "1 2 3" },
      { type: "tool_call", call_id: "k", name: "calculator", args: { expression: "1+1" } },
    ]);
  });

  it("leaves other threads' events alone", () => {
    const other = [runStarted(2, "rx", "t2", "ax"), delta(3, "rx", "elsewhere")];
    const s = mergeHistory(state({ openThreadId: "t1" }), "t1", snapshot, other);
    expect(s.messages.t2).toBeUndefined();
    expect(textOf(s)).toBe("1 2 3");
  });

  it("drops outgoing messages the history shows delivered", () => {
    const start = state({
      openThreadId: "t1",
      outbox: [{ clientMsgId: "c1", threadId: "t1", draftId: "d", text: "count to 9", source: "typed", createdAt: "2026-01-01T00:00:00Z", queuedAt: 0, delivery: "sending", error: null }],
    });
    expect(mergeHistory(start, "t1", snapshot, []).outbox).toEqual([]);
  });
});
