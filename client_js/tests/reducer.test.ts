import { describe, expect, it } from "vitest";
import { reduce, type Action } from "../src/core/reducer";
import { openThreadMessages, streamingRunId } from "../src/core/selectors";
import type { ChatState, OutgoingMessage, StreamEvent } from "../src/core/state";
import { completed, delta, ev, runStarted, state, userMessage } from "./fixtures";

function apply(start: ChatState, ...events: StreamEvent[]): ChatState {
  return events.reduce((s, event) => reduce(s, { type: "event", event }), start);
}

const loaded = (threadId = "t1") => state({ openThreadId: threadId, messages: { [threadId]: [] } });

describe("reducer: a run streaming into an open thread", () => {
  it("adds the user message, then streams the answer's text", () => {
    const s = apply(loaded(), userMessage(1, "u1", "t1", "count to 3"), runStarted(2, "r1", "t1", "a1"), delta(3, "r1", "1 "), delta(4, "r1", "2 "));
    const [user, answer] = s.messages.t1 ?? [];
    expect(user).toMatchObject({ id: "u1", role: "user", text: "count to 3", status: "complete" });
    expect(answer).toMatchObject({ id: "a1", role: "assistant", text: "1 2 ", status: "streaming", runId: "r1", seq: 4 });
    expect(streamingRunId(s)).toBe("r1");
  });

  it("completes with the final text", () => {
    const s = apply(loaded(), runStarted(1, "r1", "t1", "a1"), delta(2, "r1", "1 2"), completed(3, "r1", "t1", "a1", "1 2 3"));
    expect(s.messages.t1?.[0]).toMatchObject({ text: "1 2 3", status: "complete" });
    expect(streamingRunId(s)).toBeNull();
  });

  it("keeps the streamed text when a run is stopped or fails", () => {
    const base = apply(loaded(), runStarted(1, "r1", "t1", "a1"), delta(2, "r1", "partial"));
    const stopped = apply(base, ev("agent:run_stopped", 3, { run_id: "r1", message: null }));
    expect(stopped.messages.t1?.[0]).toMatchObject({ text: "partial", status: "stopped" });
    const failed = apply(base, ev("agent:run_failed", 3, { run_id: "r1", error: { code: "model_error", message: "boom" }, message: null }));
    expect(failed.messages.t1?.[0]).toMatchObject({ text: "partial", status: "failed", error: { code: "model_error" } });
  });

  it("attaches tool calls and their results to the run, shown on its message", () => {
    const s = apply(
      loaded(),
      runStarted(1, "r1", "t1", "a1"),
      ev("agent:tool_call", 2, { run_id: "r1", call_id: "c1", name: "calculator", args: { expression: "6*7" } }),
      ev("agent:tool_result", 3, { run_id: "r1", call_id: "c1", name: "calculator", result: 42, is_error: false }),
      delta(4, "r1", "It is 42."),
    );
    const answer = openThreadMessages(s).find((m) => m.role === "assistant");
    expect(answer?.parts).toEqual([
      { type: "tool_call", call_id: "c1", name: "calculator", args: { expression: "6*7" } },
      { type: "tool_result", call_id: "c1", name: "calculator", result: 42, is_error: false },
      { type: "text", text: "It is 42." },
    ]);
    expect(answer?.text).toBe("It is 42.");
  });

  it("ignores a delta it already has (same or older seq)", () => {
    const once = apply(loaded(), runStarted(1, "r1", "t1", "a1"), delta(2, "r1", "a"), delta(3, "r1", "b"));
    const again = apply(once, delta(3, "r1", "b"), delta(2, "r1", "a"));
    expect(again.messages.t1?.[0]?.text).toBe("ab");
    expect(again).toBe(once);
  });

  it("tracks runs of threads it has not loaded without inventing their messages", () => {
    const s = apply(state(), userMessage(1, "u1", "t9", "hello there"), runStarted(2, "r9", "t9", "a9"), delta(3, "r9", "x"));
    expect(s.messages.t9).toBeUndefined();
    expect(s.runs.r9).toMatchObject({ threadId: "t9", messageId: "a9" });
    expect(s.threads.map((t) => [t.id, t.title])).toEqual([["t9", "hello there"]]);
  });
});

describe("reducer: sending", () => {
  const outgoing = (over: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
    clientMsgId: "c1",
    threadId: null,
    draftId: "draft-1",
    text: "hi",
    source: "typed",
    createdAt: "2026-01-01T00:00:00Z",
    queuedAt: 0,
    delivery: "queued",
    error: null,
    ...over,
  });

  it("shows a queued message in the new-chat view, then opens the thread the server made", () => {
    let s = reduce(state(), { type: "queue", item: outgoing() });
    s = reduce(s, { type: "queue", item: outgoing({ clientMsgId: "c2", text: "again" }) });
    expect(openThreadMessages(s).map((m) => [m.text, m.delivery])).toEqual([
      ["hi", "queued"],
      ["again", "queued"],
    ]);
    s = apply(s, userMessage(1, "u1", "t7", "hi", "c1"));
    expect(s.openThreadId).toBe("t7");
    expect(s.outbox).toEqual([expect.objectContaining({ clientMsgId: "c2", threadId: "t7" })]);
    expect(openThreadMessages(s).map((m) => [m.text, m.delivery])).toEqual([
      ["hi", null],
      ["again", "queued"],
    ]);
  });

  it("takes the ack as delivery when it arrives before chat:message, without doubling", () => {
    let s = reduce(state(), { type: "queue", item: outgoing() });
    const sent: Action = { type: "sent", clientMsgId: "c1", result: { thread_id: "t7", message_id: "u1", run_id: "r1", duplicate: false } };
    s = reduce(s, sent);
    s = apply(s, userMessage(1, "u1", "t7", "hi", "c1"));
    expect(s.openThreadId).toBe("t7");
    expect(s.messages.t7?.map((m) => m.id)).toEqual(["u1"]);
    expect(s.outbox).toEqual([]);
  });

  it("marks a refused message failed and keeps it for a retry", () => {
    let s = reduce(state(), { type: "queue", item: outgoing() });
    s = reduce(s, { type: "delivery", clientMsgId: "c1", delivery: "failed", error: { code: "rate_limited", message: "slow down" } });
    expect(openThreadMessages(s)[0]).toMatchObject({ status: "failed", delivery: "failed", error: { message: "slow down" } });
  });
});

describe("reducer: connection and threads", () => {
  it("records status and reason, and clears the reason once ready", () => {
    let s = reduce(state(), { type: "connection", status: "error", error: { message: "Token has expired", code: "token_expired" } });
    expect(s.connection).toEqual({ status: "error", error: { message: "Token has expired", code: "token_expired" }, offline: false });
    s = reduce(s, { type: "ready", ready: { epoch: "e", head_seq: 0, recovery: "fresh", replayed: 0 } });
    expect(s.connection).toEqual({ status: "connected", error: null, offline: false });
  });

  it("moves a thread with new activity to the top", () => {
    let s = reduce(state(), {
      type: "threads",
      threads: [
        { id: "a", title: "A", created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:02Z" },
        { id: "b", title: "B", created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:01Z" },
      ],
    });
    s = apply(s, userMessage(5, "u1", "b", "later"));
    expect(s.threads.map((t) => t.id)).toEqual(["b", "a"]);
  });

  it("drops a thread the server no longer has and leaves it if open", () => {
    const s = reduce(loaded("gone"), { type: "thread_missing", threadId: "gone" });
    expect(s.openThreadId).toBeNull();
    expect(s.messages.gone).toBeUndefined();
  });
});

describe("reducer: app:event", () => {
  it("shows a notification once, even when it is replayed", () => {
    const note = ev("app:event", 7, { topic: "notification", data: { title: "Build done", body: "all green", level: "warning" } });
    const s = apply(loaded(), note, note);
    expect(s.notices).toEqual([{ id: "app-event-7", level: "warning", text: "Build done: all green" }]);
  });

  it("ignores topics it does not know", () => {
    const s = apply(loaded(), ev("app:event", 8, { topic: "billing.invoice", data: { id: 1 } }));
    expect(s.notices).toEqual([]);
  });
});
