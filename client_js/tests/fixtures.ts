/* Test doubles: a fake socket.io Manager/Socket pair and builders for protocol payloads. */
import type { ChatServerEvents, HistoryMessage, WsConfig } from "../src/generated/protocol";
import type { Part } from "../src/core/parts";
import { initialState, type ChatState, type StreamEvent } from "../src/core/state";
import type { ManagerLike, SocketLike } from "../src/core/transport";

type Handler = (...args: unknown[]) => void;
type AckHandler = (event: string, payload: unknown) => unknown;

export class FakeSocket implements SocketLike {
  connected = false;
  active = false;
  connectCalls = 0;
  readonly emitted: Array<{ event: string; payload: unknown }> = [];
  private readonly handlers = new Map<string, Set<Handler>>();
  /** Answers each emitWithAck; a returned promise that never settles is a lost ack. */
  onRequest: AckHandler = () => ({ ok: true, data: {} });

  constructor(
    readonly namespace: string,
    private readonly auth: (cb: (data: object) => void) => void,
  ) {}

  connect(): this {
    this.active = true;
    this.connectCalls += 1;
    return this;
  }

  disconnect(): this {
    const was = this.connected;
    this.connected = false;
    this.active = false;
    if (was) this.fire("disconnect", "io client disconnect");
    return this;
  }

  on(event: string, listener: Handler): this {
    const set = this.handlers.get(event) ?? new Set();
    set.add(listener);
    this.handlers.set(event, set);
    return this;
  }

  off(event: string, listener?: Handler): this {
    if (listener) this.handlers.get(event)?.delete(listener);
    else this.handlers.delete(event);
    return this;
  }

  timeout(_ms: number) {
    return {
      emitWithAck: async (event: string, payload: unknown): Promise<unknown> => {
        this.emitted.push({ event, payload });
        return this.onRequest(event, payload);
      },
    };
  }

  listenerCount(event: string): number {
    return this.handlers.get(event)?.size ?? 0;
  }

  /** Runs the auth callback as socket.io would on connect, and returns what it sent. */
  authData(): Promise<object> {
    return new Promise((resolve) => this.auth(resolve));
  }

  /** The server accepts the connect: returns the auth it was sent. */
  async accept(): Promise<object> {
    const data = await this.authData();
    this.connected = true;
    this.fire("connect");
    return data;
  }

  /** The server refuses the connect, as socket.io reports it. */
  async refuse(code: string, message: string): Promise<void> {
    await this.authData();
    this.active = false;
    this.fire("connect_error", Object.assign(new Error(message), { data: { code, message } }));
  }

  /** The transport drops; the Manager will reconnect. */
  drop(): void {
    this.connected = false;
    this.fire("disconnect", "transport close");
  }

  fire(event: string, ...args: unknown[]): void {
    for (const handler of [...(this.handlers.get(event) ?? [])]) handler(...args);
  }
}

export class FakeManager implements ManagerLike {
  readonly sockets: FakeSocket[] = [];
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(
    readonly url: string,
    readonly options: object,
  ) {}

  socket(namespace: string, options: { auth: (cb: (data: object) => void) => void }): FakeSocket {
    const socket = new FakeSocket(namespace, options.auth);
    this.sockets.push(socket);
    return socket;
  }

  on(event: string, listener: Handler): this {
    const set = this.handlers.get(event) ?? new Set();
    set.add(listener);
    this.handlers.set(event, set);
    return this;
  }

  off(event: string, listener?: Handler): this {
    if (listener) this.handlers.get(event)?.delete(listener);
    return this;
  }

  get chat(): FakeSocket {
    const socket = this.sockets.find((s) => s.namespace === "/chat");
    if (!socket) throw new Error("no /chat socket");
    return socket;
  }

  get system(): FakeSocket {
    const socket = this.sockets.find((s) => s.namespace === "/system");
    if (!socket) throw new Error("no /system socket");
    return socket;
  }
}

export const CONFIG: WsConfig = {
  protocol_version: 1,
  server_version: "0.1.0",
  deployment_id: "test",
  url: null,
  path: "/socket.io",
  namespaces: { chat: "/chat", system: "/system" },
  transports: ["websocket", "polling"],
  auth: { mode: "dev", dev_login_url: "/api/auth/dev-login" },
  reconnection: { delay_ms: 10, delay_max_ms: 20, randomization: 0, attempts: null },
  timeouts: { ping_interval_ms: 25000, ping_timeout_ms: 20000, ack_timeout_ms: 1000, connect_timeout_ms: 1000 },
  limits: { max_payload_bytes: 1_000_000, max_message_chars: 20_000, events_per_minute: 600 },
  replay: { enabled: true, max_events: 10000, ttl_s: 3600 },
  features: [],
};

export function state(overrides: Partial<ChatState> = {}): ChatState {
  return { ...initialState(null, "draft-1"), ...overrides };
}

const TS = "2026-01-01T00:00:00Z";

export function at(second: number): string {
  return new Date(Date.parse(TS) + second * 1000).toISOString();
}

type Payload<E extends keyof ChatServerEvents> = Omit<ChatServerEvents[E], "seq" | "ts">;

export function ev<E extends StreamEvent["name"]>(name: E, seq: number, payload: Payload<E>): StreamEvent {
  return { name, payload: { ...payload, seq, ts: at(seq) } } as unknown as StreamEvent;
}

export const userMessage = (seq: number, id: string, threadId: string, text: string, clientMsgId = `c-${id}`) =>
  ev("chat:message", seq, {
    message: { id, thread_id: threadId, role: "user", text, client_msg_id: clientMsgId, created_at: at(seq) },
  });

export const runStarted = (seq: number, runId: string, threadId: string, messageId: string, replyTo = "u1") =>
  ev("agent:run_started", seq, { run_id: runId, thread_id: threadId, message_id: messageId, reply_to: replyTo });

export const delta = (seq: number, runId: string, text: string) => ev("agent:delta", seq, { run_id: runId, text });

export const completed = (
  seq: number,
  runId: string,
  threadId: string,
  messageId: string,
  text: string,
  parts: Part[] = text ? [{ type: "text", text }] : [],
  replyTo = "u1",
) =>
  ev("agent:run_completed", seq, {
    run_id: runId,
    message: { id: messageId, thread_id: threadId, role: "assistant", text, parts, run_id: runId, reply_to: replyTo, created_at: at(seq) },
    usage: null,
  });

export function historyMessage(overrides: Partial<HistoryMessage> & Pick<HistoryMessage, "id" | "role">): HistoryMessage {
  return {
    thread_id: "t1",
    text: "",
    parts: [],
    status: "complete",
    created_at: TS,
    client_msg_id: null,
    run_id: null,
    reply_to: null,
    seq: null,
    ...overrides,
  };
}

/** Lets pending promise callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setTimeout(resolve, 0));
}
