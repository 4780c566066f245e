import { describe, expect, it, vi } from "vitest";
import { ChatClient } from "../src/core/client";
import { expireOutbox } from "../src/core/outbox";
import { reduce } from "../src/core/reducer";
import { openThreadMessages, sendBlockedReason } from "../src/core/selectors";
import type { OutgoingMessage } from "../src/core/state";
import { memoryStorage } from "../src/core/storage";
import type { Timers } from "../src/core/store";
import { CONFIG, FakeManager, settle, state } from "./fixtures";

const item = (over: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  clientMsgId: "c1",
  threadId: "t1",
  draftId: "d",
  text: "hi",
  source: "typed",
  createdAt: "2026-01-01T00:00:00Z",
  queuedAt: 1_000,
  delivery: "queued",
  error: null,
  ...over,
});

/** Timers run by hand, at a clock the test moves. */
function clock() {
  let now = 1_000;
  const due: Array<{ at: number; fn: () => void; id: number }> = [];
  let ids = 0;
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      ids += 1;
      due.push({ at: now + ms, fn, id: ids });
      return ids;
    },
    clearTimeout: (handle) => {
      const index = due.findIndex((d) => d.id === handle);
      if (index >= 0) due.splice(index, 1);
    },
  };
  const advance = (ms: number) => {
    now += ms;
    for (const d of due.filter((x) => x.at <= now).sort((a, b) => a.at - b.at)) {
      due.splice(due.indexOf(d), 1);
      d.fn();
    }
  };
  return { timers, now: () => now, advance };
}

describe("outbox time limit", () => {
  it("marks a message that waited longer than the limit failed, and only such", () => {
    const s = state({ outbox: [item(), item({ clientMsgId: "c2", queuedAt: 20_000 }), item({ clientMsgId: "c3", delivery: "sending" })] });
    const expired = expireOutbox(s, 31_000, 30_000);
    expect(expired.outbox.map((o) => [o.clientMsgId, o.delivery])).toEqual([
      ["c1", "failed"],
      ["c2", "queued"],
      ["c3", "sending"],
    ]);
    expect(expired.outbox[0]?.error).toEqual({ code: "timeout", message: "No connection to the server for 30 s" });
    expect(expireOutbox(s, 30_999, 30_000)).toBe(s);
  });

  it("gives a retried message a new full wait", () => {
    let s = state({ outbox: [item({ delivery: "failed", error: { code: "timeout", message: "x" } })] });
    s = reduce(s, { type: "requeue", clientMsgId: "c1", now: 50_000 });
    expect(s.outbox[0]).toMatchObject({ delivery: "queued", error: null, queuedAt: 50_000 });
    expect(reduce(s, { type: "expire", now: 79_999, limitMs: 30_000 })).toBe(s);
  });

  it("shows a message typed during a drop as waiting, then not sent once the limit passes", async () => {
    const { timers, now, advance } = clock();
    const fetch = vi.fn(async () => Response.json(CONFIG));
    let manager: FakeManager | null = null;
    const client = new ChatClient({
      discoveryUrl: "http://chat.test/api/ws-config",
      fetch: fetch as unknown as typeof globalThis.fetch,
      sessionStorage: memoryStorage(),
      localStorage: memoryStorage(),
      createManager: (url, opts) => (manager = new FakeManager(url, opts)),
      timers,
      now,
      outboxLimitMs: 30_000,
      offlineAfterMs: 8_000,
    });
    client.subscribe(() => {});
    await settle();
    const id = client.send("hello");
    expect(openThreadMessages(client.getSnapshot()).map((m) => m.delivery)).toEqual(["queued"]);
    advance(29_000);
    expect(client.getSnapshot().outbox[0]?.delivery).toBe("queued");
    advance(2_000);
    expect(client.getSnapshot().outbox[0]).toMatchObject({ clientMsgId: id, delivery: "failed", error: { code: "timeout" } });
    expect(manager).not.toBeNull();
  });

  it("turns a long reconnect into an outage: sending is refused, with the reason", () => {
    let s = reduce(state(), { type: "connection", status: "reconnecting", error: { message: "websocket error", code: null } });
    expect(sendBlockedReason(s)).toBeNull();
    s = reduce(s, { type: "offline" });
    expect(sendBlockedReason(s)).toMatch(/cannot be reached \(websocket error\)/);
    s = reduce(s, { type: "ready", ready: { epoch: "e", head_seq: 0, recovery: "recovered", replayed: 0 } });
    expect(sendBlockedReason(s)).toBeNull();
    const refused = reduce(state(), { type: "connection", status: "error", error: { message: "Cannot reach the server", code: "discovery_failed" } });
    expect(sendBlockedReason(refused)).toBe("Not connected: Cannot reach the server.");
  });
});
