import { USER_STREAM_EVENTS, type ChatReady } from "../generated/protocol";
import type { AckDataOf, ClientEventName, PayloadOf } from "./channel";
import { Connection, type Link } from "./connection";
import { RequestError, messageOf } from "./errors";
import { newUuid } from "./ids";
import { reduce, type Action } from "./reducer";
import { RecentEvents } from "./recent";
import { ResumeTracker } from "./resume";
import { sendBlockedReason } from "./selectors";
import { Sender } from "./sender";
import { initialState, type ChatState, type Notice, type StreamEvent } from "./state";
import { browserStorage, type KeyValueStorage } from "./storage";
import { RefCount, Store, realTimers, type Listener, type Timers } from "./store";
import type { TokenProvider } from "./tokens";
import { socketIoManager, type ManagerFactory } from "./transport";

export interface ChatClientOptions {
  /** Where the discovery document is; defaults to /api/ws-config on the page's origin. */
  discoveryUrl?: string;
  /** JWT mode: supplies tokens (otherwise window.netraTokenProvider). Unused in dev mode. */
  tokenProvider?: TokenProvider;
  fetch?: typeof fetch;
  sessionStorage?: KeyValueStorage;
  localStorage?: KeyValueStorage;
  createManager?: ManagerFactory;
  timers?: Timers;
  /** How long the connection outlives its last subscriber. */
  idleStopMs?: number;
  /** Messages per history page (the latest page, then older ones on request). */
  historyLimit?: number;
  /** Threads per page of the thread list and of search results. */
  threadPageSize?: number;
  /** How many recent stream events are kept to re-apply over history snapshots. */
  recentEvents?: number;
  /** How long a message may wait for the connection before it is marked failed. */
  outboxLimitMs?: number;
  /** Reconnecting for this long is an outage: sending is disabled, with the reason shown. */
  offlineAfterMs?: number;
  now?: () => number;
}

const OPEN_THREAD_KEY = "netra.openThread";

/**
 * The chat, framework-free: a store of ChatState fed by the socket, and the actions a UI
 * needs. The connection starts with the first subscriber and stops after the last one.
 */
export class ChatClient {
  private readonly store: Store<ChatState, Action>;
  private readonly lifecycle: RefCount;
  private readonly connection: Connection;
  private readonly resume: ResumeTracker;
  private readonly recent: RecentEvents;
  private readonly session: KeyValueStorage;
  private readonly historyLimit: number;
  private readonly threadPageSize: number;
  private readonly outboxLimitMs: number;
  private readonly offlineAfterMs: number;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly sender: Sender;
  private outageTimer: unknown = null;
  private searchRequests = 0;
  private ready = false;
  private synced = false;
  private syncGeneration = 0;
  private historyRequests = 0;
  private readonly latestHistory = new Map<string, number>();
  private examplesLoaded = false;
  private offLink: Array<() => void> = [];
  private readonly eventListeners = new Set<(event: StreamEvent) => void>();
  private readonly readyListeners = new Set<(ready: ChatReady) => void>();
  private readyWaiters: Array<() => void> = [];

  constructor(options: ChatClientOptions = {}) {
    this.session = options.sessionStorage ?? browserStorage("sessionStorage");
    const timers = options.timers ?? realTimers;
    this.timers = timers;
    this.now = options.now ?? Date.now;
    this.historyLimit = options.historyLimit ?? 50;
    this.threadPageSize = options.threadPageSize ?? 30;
    this.outboxLimitMs = options.outboxLimitMs ?? 30_000;
    this.offlineAfterMs = options.offlineAfterMs ?? 8_000;
    this.resume = new ResumeTracker(this.session);
    this.recent = new RecentEvents(options.recentEvents ?? 5000);
    this.store = new Store(initialState(this.session.getItem(OPEN_THREAD_KEY), newUuid()), reduce);
    this.connection = new Connection(
      {
        discoveryUrl: options.discoveryUrl ?? new URL("/api/ws-config", globalThis.location.href).href,
        fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
        localStorage: options.localStorage ?? browserStorage("localStorage"),
        tokenProvider: options.tokenProvider,
        createManager: options.createManager ?? socketIoManager,
        timers,
      },
      {
        status: (status, error) => {
          this.dispatch({ type: "connection", status, error });
          this.watchOutage(status);
        },
        linked: (link) => this.attach(link),
        disconnected: () => {
          this.ready = false;
        },
        resumePosition: () => this.resume.position(),
      },
    );
    this.sender = new Sender({
      readyLink: () => (this.ready ? this.connection.current : null),
      state: () => this.getSnapshot(),
      dispatch: (action) => this.dispatch(action),
      timers,
      now: () => this.now(),
      outboxLimitMs: this.outboxLimitMs,
    });
    this.lifecycle = new RefCount(
      () => this.connection.start(),
      () => this.shutdown(),
      options.idleStopMs ?? 1000,
      timers,
    );
  }

  readonly getSnapshot = (): ChatState => this.store.getSnapshot();

  /** Subscribing also holds the connection open until the returned function is called. */
  readonly subscribe = (listener: Listener): (() => void) => {
    const unsubscribe = this.store.subscribe(listener);
    const release = this.lifecycle.acquire();
    return () => {
      unsubscribe();
      release();
    };
  };

  /** Holds the connection open without listening. */
  retain(): () => void {
    return this.lifecycle.acquire();
  }

  get running(): boolean {
    return this.lifecycle.active;
  }

  /**
   * Every user-stream event as this tab accepts it: once each, in seq order, replays on resume
   * included. Returns the function that stops listening.
   */
  listenStream(listener: (event: StreamEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => void this.eventListeners.delete(listener);
  }

  /** Each chat:ready, after the replay it ends; `recovery: "reset"` means events were lost. */
  listenReady(listener: (ready: ChatReady) => void): () => void {
    this.readyListeners.add(listener);
    return () => void this.readyListeners.delete(listener);
  }

  /** Resolves once /chat is ready; something must hold the connection (subscribe or retain). */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** A /chat request once ready: the ack's data, or a RequestError for `{ok: false}`. */
  async request<E extends ClientEventName<"/chat">>(event: E, payload: PayloadOf<"/chat", E>): Promise<AckDataOf<"/chat", E>> {
    await this.whenReady();
    return this.chat().call(event, payload);
  }

  /**
   * Queues a message for the open thread (or a new one) and returns its client_msg_id. It is
   * sent once connected and retried with the same id, so it is never lost nor sent twice.
   */
  send(text: string, source: "typed" | "example" = "typed"): string | null {
    const body = text.trim();
    const state = this.getSnapshot();
    if (!body) return null;
    const blocked = sendBlockedReason(state);
    if (blocked) {
      this.notify("error", blocked);
      return null;
    }
    if (state.maxMessageChars !== null && body.length > state.maxMessageChars) {
      this.notify("error", `That message is ${body.length} characters; the limit is ${state.maxMessageChars}.`);
      return null;
    }
    const clientMsgId = newUuid();
    this.dispatch({
      type: "queue",
      item: {
        clientMsgId,
        threadId: state.openThreadId,
        draftId: state.draftId,
        text: body,
        source,
        createdAt: new Date(this.now()).toISOString(),
        queuedAt: this.now(),
        delivery: "queued",
        error: null,
      },
    });
    this.expireLater();
    void this.sender.pump();
    return clientMsgId;
  }

  /** Sends a refused or timed-out message again, under the same client_msg_id. */
  retry(clientMsgId: string): void {
    this.dispatch({ type: "requeue", clientMsgId, now: this.now() });
    this.expireLater();
    void this.sender.pump();
  }

  /** A new answer to the user message that `messageId` (an assistant message) answers. */
  async regenerate(messageId: string): Promise<boolean> {
    try {
      await this.chat().call("chat:regenerate", { client_msg_id: newUuid(), message_id: messageId });
      return true;
    } catch (error) {
      this.notify("error", `Could not regenerate: ${messageOf(error)}`);
      return false;
    }
  }

  /** Answers a tool call waiting for the user's approval. */
  async approve(runId: string, callId: string, approved: boolean): Promise<boolean> {
    try {
      await this.chat().call("chat:approve", { run_id: runId, call_id: callId, approved });
      return true;
    } catch (error) {
      this.notify("error", `Could not ${approved ? "approve" : "deny"}: ${messageOf(error)}`);
      return false;
    }
  }

  async renameThread(threadId: string, title: string): Promise<boolean> {
    const name = title.trim();
    if (!name) return false;
    try {
      const { thread } = await this.chat().call("chat:rename_thread", { thread_id: threadId, title: name });
      this.dispatch({ type: "thread", thread });
      return true;
    } catch (error) {
      this.notify("error", `Could not rename: ${messageOf(error)}`);
      return false;
    }
  }

  async deleteThread(threadId: string): Promise<boolean> {
    try {
      await this.chat().call("chat:delete_thread", { thread_id: threadId });
      this.dispatch({ type: "thread_missing", threadId });
      return true;
    } catch (error) {
      this.notify("error", `Could not delete: ${messageOf(error)}`);
      return false;
    }
  }

  /** Threads whose title or messages match; an empty query goes back to every thread. */
  async searchThreads(query: string): Promise<void> {
    const q = query.trim();
    const request = ++this.searchRequests;
    if (!q) {
      this.dispatch({ type: "search_clear" });
      return;
    }
    await this.loadSearchPage(q, null, request);
  }

  /** The next page of the thread list, or of the search results while searching. */
  async loadMoreThreads(): Promise<void> {
    const state = this.getSnapshot();
    const search = state.threadSearch;
    if (search) {
      if (search.nextBefore && !search.loading) await this.loadSearchPage(search.query, search.nextBefore, this.searchRequests);
      return;
    }
    const before = state.threadsNextBefore;
    if (!before) return;
    try {
      const page = await this.chat().call("chat:threads", { limit: this.threadPageSize, before });
      this.dispatch({ type: "threads", threads: page.threads, nextBefore: page.next_before, append: true });
    } catch (error) {
      this.reportLoadError("threads", error);
    }
  }

  /** The page of the open thread's history before its first loaded message. */
  async loadOlder(): Promise<void> {
    const state = this.getSnapshot();
    const threadId = state.openThreadId;
    const first = threadId ? state.messages[threadId]?.[0] : undefined;
    if (!threadId || !first || !state.hasOlder[threadId] || state.loadingOlder[threadId]) return;
    this.dispatch({ type: "older_loading", threadId });
    try {
      const page = await this.chat().call("chat:history", { thread_id: threadId, limit: this.historyLimit, before: first.id });
      this.dispatch({ type: "older", threadId, messages: page.messages, hasMore: page.has_more });
    } catch (error) {
      this.dispatch({ type: "older_failed", threadId });
      this.reportLoadError("older messages", error);
    }
  }

  async stopRun(runId: string): Promise<boolean> {
    const chat = this.connection.current?.chat;
    try {
      if (!chat) throw new RequestError("not_connected", "Not connected");
      return (await chat.call("chat:stop", { run_id: runId })).stopped;
    } catch (error) {
      this.notify("error", `Could not stop: ${messageOf(error)}`);
      return false;
    }
  }

  openThread(threadId: string | null): void {
    const state = this.getSnapshot();
    this.dispatch({ type: "open", threadId, draftId: threadId === null ? newUuid() : state.draftId });
    if (this.ready) this.loadOpenThread();
  }

  newChat(): void {
    this.openThread(null);
  }

  reconnect(): void {
    this.connection.retryNow();
  }

  dismissNotice(id: string): void {
    this.dispatch({ type: "dismiss", id });
  }

  private dispatch(action: Action): void {
    const before = this.getSnapshot().openThreadId;
    this.store.dispatch(action);
    // The open thread also changes inside the reducer (a new chat gets its thread): keep it for reloads.
    const after = this.getSnapshot().openThreadId;
    if (after === before) return;
    if (after === null) this.session.removeItem(OPEN_THREAD_KEY);
    else this.session.setItem(OPEN_THREAD_KEY, after);
  }

  private chat(): Link["chat"] {
    const chat = this.ready ? this.connection.current?.chat : undefined;
    if (!chat) throw new RequestError("not_connected", "Not connected to the server");
    return chat;
  }

  private async loadSearchPage(query: string, before: string | null, request: number): Promise<void> {
    this.dispatch({ type: "search_loading", query });
    try {
      const page = await this.chat().call("chat:threads", { query, limit: this.threadPageSize, ...(before ? { before } : {}) });
      if (request !== this.searchRequests) return;
      this.dispatch({ type: "search", query, threads: page.threads, nextBefore: page.next_before, append: before !== null });
    } catch (error) {
      if (request !== this.searchRequests) return;
      this.dispatch({ type: "search", query, threads: [], nextBefore: null, append: before !== null });
      this.notify("error", `Could not search: ${messageOf(error)}`);
    }
  }

  /** Checks the outbox once a message queued now may have waited too long. */
  private expireLater(): void {
    this.timers.setTimeout(
      () => this.dispatch({ type: "expire", now: this.now(), limitMs: this.outboxLimitMs }),
      this.outboxLimitMs + 10,
    );
  }

  /** A drop that lasts is an outage: the composer then says so instead of queueing. */
  private watchOutage(status: string): void {
    if (status !== "reconnecting") {
      if (status !== "error") this.clearOutage();
      return;
    }
    if (this.outageTimer !== null) return;
    this.outageTimer = this.timers.setTimeout(() => {
      this.outageTimer = null;
      this.dispatch({ type: "offline" });
    }, this.offlineAfterMs);
  }

  private clearOutage(): void {
    if (this.outageTimer !== null) this.timers.clearTimeout(this.outageTimer);
    this.outageTimer = null;
  }

  private notify(level: Notice["level"], text: string): void {
    this.dispatch({ type: "notice", notice: { id: newUuid(), level, text } });
  }

  private attach(link: Link): void {
    const { chat, system, config } = link;
    this.dispatch({ type: "config", maxMessageChars: config.limits.max_message_chars, features: config.features ?? [] });
    this.offLink = [
      chat.on("chat:ready", (ready) => this.onReady(ready)),
      chat.on("chat:error", (e) => this.notify("error", `${e.event}: ${e.message}`)),
      system.on("system:hello", (hello) => this.dispatch({ type: "hello", hello })),
      system.on("system:notice", (notice) => this.notify(notice.level, notice.text)),
      system.on("system:error", (e) => this.notify("error", `${e.event}: ${e.message}`)),
      system.on("system:shutdown", () => this.notify("info", "The server is restarting; reconnecting…")),
      system.on("system:token_expiring", () => void this.refreshToken(link)),
      ...USER_STREAM_EVENTS.map((name) =>
        chat.on(name, (payload) => this.onStreamEvent({ name, payload } as StreamEvent)),
      ),
    ];
  }

  private onStreamEvent(event: StreamEvent): void {
    const verdict = this.resume.accept(event.payload.seq);
    if (verdict === "duplicate") return;
    this.recent.push(event);
    this.dispatch({ type: "event", event });
    for (const listener of this.eventListeners) listener(event);
    // The server never skips a seq; if one is missing anyway, reload rather than show a hole.
    if (verdict === "gap" && this.ready) void this.resync(true);
  }

  private onReady(ready: ChatReady): void {
    const recovered = ready.recovery === "recovered";
    this.resume.ready(ready);
    // A new epoch numbers from 1 again: old events mean nothing next to new ones.
    if (ready.recovery === "reset") this.recent.clear();
    this.ready = true;
    this.clearOutage();
    this.connection.markConnected();
    this.dispatch({ type: "ready", ready });
    if (!this.synced || !recovered) void this.resync(this.synced && !recovered);
    // A thread opened while offline (or whose load the drop interrupted) loads now.
    else this.loadOpenThread();
    this.sender.connected();
    for (const listener of this.readyListeners) listener(ready);
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }

  /** Threads, the open thread's history and (once) the examples; after a reset, from scratch. */
  private async resync(dropLoaded: boolean): Promise<void> {
    const generation = ++this.syncGeneration;
    if (dropLoaded) this.dispatch({ type: "reset" });
    const open = this.getSnapshot().openThreadId;
    const results = await Promise.all([
      this.loadThreads(generation),
      open ? this.loadHistory(open) : Promise.resolve(true),
      this.examplesLoaded ? Promise.resolve(true) : this.loadExamples(),
    ]);
    if (generation === this.syncGeneration && results.every(Boolean)) this.synced = true;
  }

  private async loadThreads(generation: number): Promise<boolean> {
    const chat = this.connection.current?.chat;
    try {
      if (!chat) return false;
      const page = await chat.call("chat:threads", { limit: this.threadPageSize });
      if (generation === this.syncGeneration) {
        this.dispatch({ type: "threads", threads: page.threads, nextBefore: page.next_before ?? null });
      }
      return true;
    } catch (error) {
      this.reportLoadError("threads", error);
      return false;
    }
  }

  private loadOpenThread(): void {
    const state = this.getSnapshot();
    const open = state.openThreadId;
    if (open !== null && !state.messages[open] && !state.loadingHistory[open]) void this.loadHistory(open);
  }

  private async loadHistory(threadId: string): Promise<boolean> {
    const chat = this.connection.current?.chat;
    if (!chat) return false;
    const request = ++this.historyRequests;
    this.latestHistory.set(threadId, request);
    this.dispatch({ type: "history_loading", threadId });
    try {
      const page = await chat.call("chat:history", { thread_id: threadId, limit: this.historyLimit });
      // A newer load of the same thread (after a reset, say) owns the result.
      if (this.latestHistory.get(threadId) !== request) return true;
      const { messages, has_more: hasMore } = page;
      this.dispatch({ type: "history", threadId, messages, received: this.recent.all(), hasMore: hasMore ?? false });
      return true;
    } catch (error) {
      if (this.latestHistory.get(threadId) !== request) return true;
      if (error instanceof RequestError && error.code === "not_found") {
        this.dispatch({ type: "thread_missing", threadId });
        return true;
      }
      this.dispatch({ type: "history_failed", threadId });
      this.reportLoadError("history", error);
      return false;
    }
  }

  private async loadExamples(): Promise<boolean> {
    const chat = this.connection.current?.chat;
    try {
      if (!chat) return false;
      const { examples } = await chat.call("chat:examples", {});
      this.examplesLoaded = true;
      this.dispatch({ type: "examples", examples });
      return true;
    } catch (error) {
      this.reportLoadError("examples", error);
      return false;
    }
  }

  private reportLoadError(what: string, error: unknown): void {
    // Losing the connection mid-load is not news: the next chat:ready loads again.
    if (error instanceof RequestError && (error.code === "not_connected" || !this.ready)) return;
    this.notify("error", `Could not load ${what}: ${messageOf(error)}`);
  }

  private async refreshToken(link: Link): Promise<void> {
    try {
      const token = await link.tokens();
      await link.system.call("system:auth_refresh", { token });
    } catch (error) {
      this.notify("warning", `Could not refresh the session token: ${messageOf(error)}`);
    }
  }

  private shutdown(): void {
    for (const off of this.offLink.splice(0)) off();
    this.connection.stop();
    this.ready = false;
    this.synced = false;
    this.clearOutage();
    this.dispatch({ type: "connection", status: "connecting", error: null });
  }
}

export function createChatClient(options?: ChatClientOptions): ChatClient {
  return new ChatClient(options);
}
