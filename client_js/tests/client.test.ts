import { afterEach, describe, expect, it, vi } from "vitest";
import { ChatClient, type ChatClientOptions } from "../src/core/client";
import { RESUME_KEY } from "../src/core/resume";
import { memoryStorage, type KeyValueStorage } from "../src/core/storage";
import type { StreamEvent } from "../src/core/state";
import { CONFIG, FakeManager, delta, historyMessage, runStarted, settle, userMessage } from "./fixtures";

const BASE = "http://chat.test";

interface Harness {
  client: ChatClient;
  managers: FakeManager[];
  fetch: ReturnType<typeof vi.fn>;
  session: KeyValueStorage;
  manager(): FakeManager;
}

function harness(options: Partial<ChatClientOptions> = {}, session: KeyValueStorage = memoryStorage()): Harness {
  const managers: FakeManager[] = [];
  let logins = 0;
  const fetch = vi.fn(async (url: string | URL) => {
    const path = new URL(String(url)).pathname;
    if (path === "/api/ws-config") return Response.json(CONFIG);
    if (path === "/api/auth/dev-login") return Response.json({ token: `token-${++logins}` });
    return new Response("", { status: 404 });
  });
  const client = new ChatClient({
    discoveryUrl: `${BASE}/api/ws-config`,
    fetch: fetch as unknown as typeof globalThis.fetch,
    sessionStorage: session,
    localStorage: memoryStorage(),
    createManager: (url, opts) => {
      const manager = new FakeManager(url, opts);
      managers.push(manager);
      return manager;
    },
    idleStopMs: 0,
    ...options,
  });
  const manager = () => {
    const m = managers.at(-1);
    if (!m) throw new Error("no manager yet");
    return m;
  };
  return { client, managers, fetch, session, manager };
}

const emit = (h: Harness, event: StreamEvent) => h.manager().chat.fire(event.name, event.payload);
const ready = (h: Harness, recovery: "fresh" | "recovered" | "reset", head = 0, epoch = "e1") =>
  h.manager().chat.fire("chat:ready", { epoch, head_seq: head, recovery, replayed: 0 });

/** Subscribes and connects both namespaces; returns the /chat auth sent. */
async function connect(h: Harness): Promise<object> {
  await settle();
  const auth = await h.manager().chat.accept();
  await h.manager().system.accept();
  return auth;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("ChatClient lifecycle", () => {
  it("connects on the first subscriber, with everything from discovery, and one Manager for both namespaces", async () => {
    const h = harness();
    expect(h.fetch).not.toHaveBeenCalled();
    h.client.subscribe(() => {});
    await settle();
    expect(h.managers).toHaveLength(1);
    const m = h.manager();
    expect(m.url).toBe(BASE);
    expect(m.options).toMatchObject({
      path: "/socket.io",
      transports: ["websocket", "polling"],
      reconnectionDelay: 10,
      reconnectionDelayMax: 20,
      randomizationFactor: 0,
      reconnectionAttempts: Infinity,
      timeout: 1000,
      autoConnect: false,
    });
    expect(m.sockets.map((s) => [s.namespace, s.connectCalls])).toEqual([
      ["/chat", 1],
      ["/system", 1],
    ]);
  });

  it("StrictMode's subscribe, unsubscribe, subscribe opens one connection", async () => {
    const h = harness();
    h.client.subscribe(() => {})();
    h.client.subscribe(() => {});
    await settle();
    expect(h.managers).toHaveLength(1);
    expect(h.fetch.mock.calls.filter(([url]) => String(url).endsWith("/api/ws-config"))).toHaveLength(1);
    expect(h.client.running).toBe(true);
  });

  it("closes the sockets after the last subscriber leaves", async () => {
    const h = harness();
    const a = h.client.subscribe(() => {});
    const b = h.client.subscribe(() => {});
    await connect(h);
    a();
    await settle();
    expect(h.manager().chat.connected).toBe(true);
    b();
    await settle();
    expect(h.client.running).toBe(false);
    expect(h.manager().chat.connected).toBe(false);
    expect(h.manager().system.connected).toBe(false);
  });
});

describe("ChatClient connecting", () => {
  it("asks for a fresh token on every connect and resumes from where it was", async () => {
    const h = harness();
    h.client.subscribe(() => {});
    expect(await connect(h)).toEqual({ token: "token-1" });
    ready(h, "fresh", 3);
    emit(h, userMessage(4, "u1", "t1", "hi"));
    h.manager().chat.drop();
    expect(h.client.getSnapshot().connection.status).toBe("reconnecting");
    expect(await h.manager().chat.accept()).toEqual({ token: "token-3", resume: { epoch: "e1", last_seq: 4 } });
  });

  it("reports a refused connect with the server's reason and code, and tries again", async () => {
    const h = harness();
    h.client.subscribe(() => {});
    await settle();
    await h.manager().chat.refuse("token_expired", "Token has expired");
    expect(h.client.getSnapshot().connection).toEqual({
      status: "error",
      error: { message: "Token has expired", code: "token_expired" },
      offline: false,
    });
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(h.manager().chat.connectCalls).toBe(2);
  });

  it("reports a discovery failure", async () => {
    const h = harness({ fetch: (async () => new Response("", { status: 502 })) as unknown as typeof fetch });
    h.client.subscribe(() => {});
    await settle();
    expect(h.client.getSnapshot().connection).toMatchObject({ status: "error", error: { code: "discovery_failed" } });
    expect(h.managers).toHaveLength(0);
  });

  it("says clearly when a JWT server gets no token provider", async () => {
    const jwt = { ...CONFIG, auth: { mode: "jwt" as const, dev_login_url: null } };
    const h = harness({ fetch: (async () => Response.json(jwt)) as unknown as typeof fetch });
    h.client.subscribe(() => {});
    await settle();
    await h.manager().chat.refuse("auth_required", "No token");
    expect(h.client.getSnapshot().connection.error).toMatchObject({ code: "no_token_provider" });
    expect(h.client.getSnapshot().connection.error?.message).toMatch(/netraTokenProvider/);
  });
});

describe("ChatClient stream", () => {
  it("drops events it already has, by seq", async () => {
    const h = harness();
    h.client.openThread("t1");
    h.client.subscribe(() => {});
    await settle();
    h.manager().chat.onRequest = (event) =>
      event === "chat:history" ? { ok: true, data: { messages: [] } } : { ok: true, data: { threads: [], examples: [] } };
    await connect(h);
    ready(h, "fresh", 0);
    await settle();
    emit(h, runStarted(1, "r1", "t1", "a1"));
    emit(h, delta(2, "r1", "a"));
    const before = h.client.getSnapshot();
    emit(h, delta(2, "r1", "a"));
    emit(h, runStarted(1, "r1", "t1", "a1"));
    expect(h.client.getSnapshot()).toBe(before);
    expect(before.messages.t1?.[0]?.text).toBe("a");
  });

  it("reloads threads and history when the server says reset", async () => {
    const h = harness();
    h.client.openThread("t1");
    h.client.subscribe(() => {});
    await settle();
    const asked: string[] = [];
    h.manager().chat.onRequest = (event) => {
      asked.push(event);
      if (event === "chat:history") return { ok: true, data: { messages: [historyMessage({ id: "u1", role: "user", text: "hi" })] } };
      return { ok: true, data: { threads: [], examples: [] } };
    };
    await connect(h);
    ready(h, "fresh", 5);
    await settle();
    expect(asked.sort()).toEqual(["chat:examples", "chat:history", "chat:threads"]);
    asked.length = 0;
    h.manager().chat.drop();
    await h.manager().chat.accept();
    ready(h, "recovered", 5);
    await settle();
    expect(asked).toEqual([]);
    h.manager().chat.drop();
    await h.manager().chat.accept();
    ready(h, "reset", 1, "e2");
    await settle();
    expect(asked.sort()).toEqual(["chat:history", "chat:threads"]);
    expect(JSON.parse(h.session.getItem(RESUME_KEY) ?? "null")).toEqual({ epoch: "e2", last_seq: 1 });
    expect(h.client.getSnapshot().messages.t1?.map((m) => m.id)).toEqual(["u1"]);
  });

  it("loads a thread opened while offline once the connection recovers", async () => {
    const h = harness();
    h.client.subscribe(() => {});
    await settle();
    const asked: unknown[] = [];
    h.manager().chat.onRequest = (event, payload) => {
      if (event === "chat:history") asked.push(payload);
      return { ok: true, data: { threads: [], examples: [], messages: [] } };
    };
    await connect(h);
    ready(h, "fresh", 0);
    await settle();
    h.manager().chat.drop();
    h.client.openThread("t3");
    expect(asked).toEqual([]);
    await h.manager().chat.accept();
    ready(h, "recovered", 0);
    await settle();
    expect(asked).toEqual([{ thread_id: "t3", limit: 50 }]);
    expect(h.client.getSnapshot().messages.t3).toEqual([]);
  });

  it("after a reload mid-answer shows the text so far and continues it, buffering what arrives before history", async () => {
    const session = memoryStorage();
    session.setItem(RESUME_KEY, JSON.stringify({ epoch: "e1", last_seq: 3 }));
    session.setItem("netra.openThread", "t1");
    const h = harness({}, session);
    h.client.subscribe(() => {});
    await settle();
    let answerHistory: (value: unknown) => void = () => {};
    h.manager().chat.onRequest = (event) => {
      if (event === "chat:history") return new Promise((resolve) => (answerHistory = resolve));
      return { ok: true, data: { threads: [], examples: [] } };
    };
    expect(await connect(h)).toMatchObject({ resume: { epoch: "e1", last_seq: 3 } });
    // Replayed before ready, then live while history is on its way.
    emit(h, delta(4, "r1", " 2"));
    ready(h, "recovered", 4);
    await settle();
    emit(h, delta(5, "r1", " 3"));
    emit(h, delta(6, "r1", " 4"));
    answerHistory({
      ok: true,
      data: {
        messages: [
          historyMessage({ id: "u1", role: "user", text: "count" }),
          historyMessage({ id: "a1", role: "assistant", text: "1 2 3", parts: [{ type: "text", text: "1 2 3" }], status: "streaming", run_id: "r1", seq: 5 }),
        ],
      },
    });
    await settle();
    emit(h, delta(7, "r1", " 5"));
    const answer = h.client.getSnapshot().messages.t1?.find((m) => m.id === "a1");
    expect(answer).toMatchObject({ text: "1 2 3 4 5", status: "streaming", seq: 7 });
  });
});

describe("ChatClient sending", () => {
  it("queues while offline and sends once connected, retrying under the same client_msg_id", async () => {
    const h = harness();
    h.client.subscribe(() => {});
    const id = h.client.send("  calculate 6 * 7 ");
    expect(h.client.getSnapshot().outbox).toEqual([expect.objectContaining({ clientMsgId: id, text: "calculate 6 * 7", delivery: "queued" })]);
    await settle();
    let sends = 0;
    h.manager().chat.onRequest = (event, payload) => {
      if (event !== "chat:send") return { ok: true, data: { threads: [], examples: [] } };
      sends += 1;
      // The first ack is lost; the retry gets the server's answer.
      if (sends === 1) return Promise.reject(new Error("operation has timed out"));
      const p = payload as { client_msg_id: string };
      return { ok: true, data: { thread_id: "t1", message_id: "u1", run_id: "r1", duplicate: p.client_msg_id === id } };
    };
    await connect(h);
    ready(h, "fresh", 0);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const sent = h.manager().chat.emitted.filter((e) => e.event === "chat:send").map((e) => e.payload);
    expect(sent).toEqual([
      { client_msg_id: id, text: "calculate 6 * 7", source: "typed" },
      { client_msg_id: id, text: "calculate 6 * 7", source: "typed" },
    ]);
    const s = h.client.getSnapshot();
    expect(s.outbox).toEqual([]);
    expect(s.openThreadId).toBe("t1");
    expect(s.messages.t1?.map((m) => m.text)).toEqual(["calculate 6 * 7"]);
  });

  it("sends into the open thread, and never an empty message", async () => {
    const h = harness();
    h.client.openThread("t5");
    expect(h.client.send("   ")).toBeNull();
    h.client.subscribe(() => {});
    await settle();
    h.manager().chat.onRequest = (event) =>
      event === "chat:send"
        ? { ok: true, data: { thread_id: "t5", message_id: "u9", run_id: "r9", duplicate: false } }
        : { ok: true, data: { threads: [], examples: [], messages: [] } };
    h.client.send("more", "example");
    await connect(h);
    ready(h, "fresh", 0);
    await settle();
    expect(h.manager().chat.emitted.find((e) => e.event === "chat:send")?.payload).toMatchObject({ thread_id: "t5", source: "example" });
  });
});

describe("ChatClient: one answer at a time, outages, threads", () => {
  it("shows a send refused with conflict as not sent, with the reason", async () => {
    const h = harness();
    h.client.openThread("t1");
    h.client.subscribe(() => {});
    await settle();
    h.manager().chat.onRequest = (event) =>
      event === "chat:send"
        ? { ok: false, error: { code: "conflict", message: "An answer is running", details: { run_id: "r1" } } }
        : { ok: true, data: { threads: [], examples: [], messages: [] } };
    await connect(h);
    ready(h, "fresh", 0);
    await settle();
    h.client.send("again");
    await settle();
    expect(h.client.getSnapshot().outbox).toEqual([
      expect.objectContaining({ text: "again", delivery: "failed", error: expect.objectContaining({ code: "conflict" }) }),
    ]);
  });

  it("calls a drop that lasts an outage: sending is refused with the reason until chat:ready", async () => {
    vi.useFakeTimers();
    const h = harness({ offlineAfterMs: 5000 });
    h.client.subscribe(() => {});
    await vi.advanceTimersByTimeAsync(0);
    h.manager().chat.onRequest = () => ({ ok: true, data: { threads: [], examples: [], messages: [] } });
    await h.manager().chat.accept();
    ready(h, "fresh", 0);
    h.manager().chat.drop();
    expect(h.client.getSnapshot().connection).toMatchObject({ status: "reconnecting", offline: false });
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.client.getSnapshot().connection.offline).toBe(true);
    expect(h.client.send("hello")).toBeNull();
    expect(h.client.getSnapshot().notices.at(-1)?.text).toMatch(/cannot be reached/);
    await h.manager().chat.accept();
    ready(h, "recovered", 0);
    expect(h.client.getSnapshot().connection.offline).toBe(false);
    expect(h.client.send("hello")).not.toBeNull();
  });

  it("asks for older history before the first loaded message, and for threads by page and query", async () => {
    const h = harness({ threadPageSize: 2 });
    h.client.openThread("t1");
    h.client.subscribe(() => {});
    await settle();
    const asked: Array<[string, unknown]> = [];
    h.manager().chat.onRequest = (event, payload) => {
      asked.push([event, payload]);
      if (event === "chat:history") {
        const before = (payload as { before?: string }).before;
        const messages = before ? [historyMessage({ id: "m1", role: "user", text: "1", client_msg_id: "c1" })] : [historyMessage({ id: "m2", role: "user", text: "2", client_msg_id: "c2" })];
        return { ok: true, data: { messages, has_more: !before } };
      }
      if (event === "chat:threads") return { ok: true, data: { threads: [], next_before: (payload as { query?: string }).query ? null : "t9" } };
      if (event === "chat:rename_thread") return { ok: true, data: { thread: { id: "t1", title: "New title", created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" } } };
      if (event === "chat:delete_thread") return { ok: true, data: { deleted: true } };
      return { ok: true, data: { examples: [] } };
    };
    await connect(h);
    ready(h, "fresh", 0);
    await settle();
    expect(h.client.getSnapshot().hasOlder.t1).toBe(true);
    await h.client.loadOlder();
    expect(h.client.getSnapshot().messages.t1?.map((m) => m.id)).toEqual(["m1", "m2"]);
    await h.client.loadMoreThreads();
    await h.client.searchThreads("plants");
    expect(await h.client.renameThread("t1", " New title ")).toBe(true);
    expect(h.client.getSnapshot().threads.map((t) => t.title)).toEqual(["New title"]);
    expect(await h.client.deleteThread("t1")).toBe(true);
    expect(h.client.getSnapshot().openThreadId).toBeNull();
    expect(asked.filter(([event]) => event !== "chat:examples")).toEqual([
      ["chat:threads", { limit: 2 }],
      ["chat:history", { thread_id: "t1", limit: 50 }],
      ["chat:history", { thread_id: "t1", limit: 50, before: "m2" }],
      ["chat:threads", { limit: 2, before: "t9" }],
      ["chat:threads", { query: "plants", limit: 2 }],
      ["chat:rename_thread", { thread_id: "t1", title: "New title" }],
      ["chat:delete_thread", { thread_id: "t1" }],
    ]);
  });
});
