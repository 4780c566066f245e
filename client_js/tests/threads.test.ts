import { describe, expect, it } from "vitest";
import { reduce } from "../src/core/reducer";
import type { ChatState, StreamEvent } from "../src/core/state";
import { ev, historyMessage, state } from "./fixtures";

const thread = (id: string, title: string, updated = "2026-01-01T00:00:01Z") => ({
  id,
  title,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: updated,
});
const live = (s: ChatState, ...events: StreamEvent[]) => events.reduce((acc, event) => reduce(acc, { type: "event", event }), s);
const listed = () =>
  reduce(state({ openThreadId: "a", messages: { a: [] } }), {
    type: "threads",
    threads: [thread("a", "First"), thread("b", "Second", "2026-01-01T00:00:00Z")],
    nextBefore: "b",
  });

describe("threads, managed from any tab", () => {
  it("renames a thread everywhere it is listed", () => {
    let s = reduce(listed(), { type: "search", query: "sec", threads: [thread("b", "Second")], nextBefore: null, append: false });
    s = live(s, ev("chat:thread_updated", 3, { thread: thread("b", "Renamed", "2026-01-01T00:00:05Z") }));
    expect(s.threads.map((t) => t.title)).toEqual(["Renamed", "First"]);
    expect(s.threadSearch?.results.map((t) => t.title)).toEqual(["Renamed"]);
  });

  it("drops a deleted thread; the open one gives way to the new-chat view", () => {
    const s = live(listed(), ev("chat:thread_deleted", 4, { thread_id: "a" }));
    expect(s.threads.map((t) => t.id)).toEqual(["b"]);
    expect(s.openThreadId).toBeNull();
    expect(s.messages.a).toBeUndefined();
  });

  it("appends the next page of threads and remembers where the next one starts", () => {
    let s = listed();
    expect(s.threadsNextBefore).toBe("b");
    s = reduce(s, { type: "threads", threads: [thread("c", "Third", "2025-12-31T00:00:00Z")], nextBefore: null, append: true });
    expect(s.threads.map((t) => t.id)).toEqual(["a", "b", "c"]);
    expect(s.threadsNextBefore).toBeNull();
  });

  it("pages history: older messages go above, and has_more says whether there are more", () => {
    let s = reduce(state({ openThreadId: "t1" }), {
      type: "history",
      threadId: "t1",
      messages: [historyMessage({ id: "m3", role: "user", text: "3", client_msg_id: "c3" })],
      received: [],
      hasMore: true,
    });
    expect(s.hasOlder.t1).toBe(true);
    s = reduce(s, { type: "older_loading", threadId: "t1" });
    s = reduce(s, {
      type: "older",
      threadId: "t1",
      messages: [historyMessage({ id: "m1", role: "user", text: "1", client_msg_id: "c1" }), historyMessage({ id: "m2", role: "user", text: "2", client_msg_id: "c2" })],
      hasMore: false,
    });
    expect(s.messages.t1?.map((m) => m.id)).toEqual(["m1", "m2", "m3"]);
    expect(s.hasOlder.t1).toBe(false);
    expect(s.loadingOlder.t1).toBeUndefined();
  });
});
