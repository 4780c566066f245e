import type { UIMessage, UIMessageChunk } from "ai";
import { describe, expect, it } from "vitest";
import { NetraChatTransport } from "../src/ai-sdk/transport";
import { ChatClient } from "../src/core/client";
import { memoryStorage, type KeyValueStorage } from "../src/core/storage";
import type { StreamEvent } from "../src/core/state";
import { CONFIG, FakeManager, completed, delta, historyMessage, runStarted, settle } from "./fixtures";

const BASE = "http://chat.test";

interface Harness {
  transport: NetraChatTransport;
  manager(): FakeManager;
  emit(event: StreamEvent): void;
  requests(event: string): unknown[];
}

async function harness(answer: (event: string, payload: Record<string, unknown>) => unknown, storage: KeyValueStorage = memoryStorage()): Promise<Harness> {
  const managers: FakeManager[] = [];
  const fetch = async (url: string | URL) => {
    const path = new URL(String(url)).pathname;
    if (path === "/api/ws-config") return Response.json(CONFIG);
    return Response.json({ token: "token" });
  };
  const client = new ChatClient({
    discoveryUrl: `${BASE}/api/ws-config`,
    fetch: fetch as unknown as typeof globalThis.fetch,
    sessionStorage: memoryStorage(),
    localStorage: memoryStorage(),
    createManager: (url, options) => {
      const manager = new FakeManager(url, options);
      manager.socket = ((socket) => (namespace, opts) => {
        const made = socket.call(manager, namespace, opts);
        made.onRequest = (event, payload) => {
          const data = answer(event, payload as Record<string, unknown>);
          return data instanceof Promise ? data : { ok: true, data };
        };
        return made;
      })(manager.socket);
      managers.push(manager);
      return manager;
    },
    idleStopMs: 0,
  });
  const transport = new NetraChatTransport({ client, storage });
  const manager = () => managers.at(-1)!;
  client.retain();
  await settle();
  await manager().chat.accept();
  await manager().system.accept();
  manager().chat.fire("chat:ready", { epoch: "e1", head_seq: 0, recovery: "fresh", replayed: 0 });
  return {
    transport,
    manager,
    emit: (event) => manager().chat.fire(event.name, event.payload),
    requests: (event) => manager().chat.emitted.filter((e) => e.event === event).map((e) => e.payload),
  };
}

const user = (id: string, text: string): UIMessage => ({ id, role: "user", parts: [{ type: "text", text }] });

async function drain(stream: ReadableStream<UIMessageChunk>): Promise<UIMessageChunk[]> {
  const out: UIMessageChunk[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

const send = (h: Harness, chatId: string, messages: UIMessage[], abortSignal?: AbortSignal) =>
  h.transport.sendMessages({ trigger: "submit-message", chatId, messageId: undefined, messages, abortSignal });

describe("NetraChatTransport", () => {
  it("sends the last user message, learns the chat's thread, and streams the run, events sent before the ack included", async () => {
    let h!: Harness;
    h = await harness((event) => {
      if (event !== "chat:send") return {};
      // The run starts before the ack reaches the client.
      h.emit(runStarted(1, "r1", "t1", "m1"));
      return { thread_id: "t1", message_id: "u1", run_id: "r1", duplicate: false };
    });
    const stream = await send(h, "chat-1", [user("x1", "count to 2")]);
    expect(h.transport.threadOf("chat-1")).toBe("t1");
    expect(h.requests("chat:send")).toEqual([{ client_msg_id: expect.any(String), text: "count to 2", source: "typed" }]);
    h.emit(delta(2, "r1", "1 2"));
    h.emit(completed(3, "r1", "t1", "m1", "1 2"));
    const chunks = await drain(stream);
    expect(chunks.map((c) => c.type)).toEqual(["start", "text-start", "text-delta", "text-end", "finish"]);
    expect(chunks[0]).toMatchObject({ messageId: "m1" });
  });

  it("a retried message keeps its client_msg_id; a later one in the chat goes to its thread", async () => {
    const h = await harness((event, payload) =>
      event === "chat:send" ? { thread_id: "t1", message_id: "u1", run_id: `r-${String(payload.client_msg_id)}`, duplicate: false } : { messages: [] },
    );
    await send(h, "chat-1", [user("x1", "hello")]);
    await send(h, "chat-1", [user("x1", "hello")]);
    await send(h, "chat-1", [user("x1", "hello"), user("x2", "again")]);
    const sent = h.requests("chat:send") as Array<{ client_msg_id: string; thread_id?: string }>;
    expect(sent[0]?.client_msg_id).toBe(sent[1]?.client_msg_id);
    expect(sent[2]?.client_msg_id).not.toBe(sent[0]?.client_msg_id);
    expect(sent[2]?.thread_id).toBe("t1");
  });

  it("the chat's thread survives a reload through its storage", async () => {
    const storage = memoryStorage();
    const h = await harness(() => ({ thread_id: "t9", message_id: "u1", run_id: "r1", duplicate: false }), storage);
    await send(h, "chat-1", [user("x1", "hello")]);
    expect(new NetraChatTransport({ storage, client: h.transport.client }).threadOf("chat-1")).toBe("t9");
  });

  it("aborting the request stops the run on the server and ends the stream", async () => {
    const h = await harness((event) =>
      event === "chat:send" ? { thread_id: "t1", message_id: "u1", run_id: "r1", duplicate: false } : { stopped: true },
    );
    const abort = new AbortController();
    const stream = await send(h, "chat-1", [user("x1", "count to 200")], abort.signal);
    h.emit(runStarted(1, "r1", "t1", "m1"));
    abort.abort();
    await drain(stream);
    await settle();
    expect(h.requests("chat:stop")).toEqual([{ run_id: "r1" }]);
  });

  it("regenerate asks for a new answer to the message's user message", async () => {
    const h = await harness(() => ({ thread_id: "t1", run_id: "r2", reply_to: "u1", duplicate: false }));
    await h.transport.sendMessages({ trigger: "regenerate-message", chatId: "chat-1", messageId: "m1", messages: [], abortSignal: undefined });
    expect(h.requests("chat:regenerate")).toEqual([{ client_msg_id: expect.any(String), message_id: "m1" }]);
  });

  it("approve answers the call named by the approval id", async () => {
    const h = await harness(() => ({ decision: "approved" }));
    expect(await h.transport.approve("r1:call_2", true)).toBe("approved");
    expect(h.requests("chat:approve")).toEqual([{ run_id: "r1", call_id: "call_2", approved: true }]);
  });

  it("reconnects to an answer still streaming: history's parts, then only later events", async () => {
    const storage = memoryStorage();
    storage.setItem("netra.aiSdk.threads", JSON.stringify({ "chat-1": "t1" }));
    let h!: Harness;
    h = await harness((event) => {
      if (event !== "chat:history") return {};
      // Replayed while history is on the way: one event already in the snapshot, one after it.
      h.emit(delta(4, "r1", "2 "));
      h.emit(delta(5, "r1", "3"));
      return {
        has_more: false,
        messages: [
          historyMessage({ id: "u1", role: "user", text: "count to 3" }),
          historyMessage({ id: "m1", role: "assistant", run_id: "r1", reply_to: "u1", status: "streaming", seq: 4, parts: [{ type: "text", text: "1 2 " }] }),
        ],
      };
    }, storage);
    const stream = await h.transport.reconnectToStream({ chatId: "chat-1" });
    expect(stream).not.toBeNull();
    h.emit(completed(6, "r1", "t1", "m1", "1 2 3"));
    const chunks = await drain(stream!);
    const text = chunks.map((c) => (c.type === "text-delta" ? c.delta : "")).join("");
    expect(text).toBe("1 2 3");
    expect(chunks[0]).toMatchObject({ type: "start", messageId: "m1" });
  });

  it("has nothing to reconnect to when the last answer is finished, or the chat has no thread", async () => {
    const storage = memoryStorage();
    storage.setItem("netra.aiSdk.threads", JSON.stringify({ "chat-1": "t1" }));
    const h = await harness(
      () => ({ has_more: false, messages: [historyMessage({ id: "m1", role: "assistant", run_id: "r1", status: "complete" })] }),
      storage,
    );
    expect(await h.transport.reconnectToStream({ chatId: "chat-1" })).toBeNull();
    expect(await h.transport.reconnectToStream({ chatId: "chat-2" })).toBeNull();
  });

  it("after a connect that lost events, an open stream catches up from history without repeating", async () => {
    let history = false;
    const h = await harness((event) => {
      if (event === "chat:send") return { thread_id: "t1", message_id: "u1", run_id: "r1", duplicate: false };
      history = true;
      return {
        has_more: false,
        messages: [
          historyMessage({ id: "m1", role: "assistant", run_id: "r1", reply_to: "u1", status: "complete", seq: 3, parts: [{ type: "text", text: "1 2 3" }] }),
        ],
      };
    });
    const stream = await send(h, "chat-1", [user("x1", "count to 3")]);
    h.emit(runStarted(1, "r1", "t1", "m1"));
    h.emit(delta(2, "r1", "1 "));
    h.manager().chat.fire("chat:ready", { epoch: "e2", head_seq: 0, recovery: "reset", replayed: 0 });
    const chunks = await drain(stream);
    expect(history).toBe(true);
    expect(chunks.map((c) => (c.type === "text-delta" ? c.delta : "")).join("")).toBe("1 2 3");
    expect(chunks.at(-1)).toEqual({ type: "finish", finishReason: "stop" });
  });
});
