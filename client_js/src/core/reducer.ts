import type { ChatReady, Example, HistoryMessage, SendResult, SystemHello, ThreadView } from "../generated/protocol";
import { mergeHistory, prependOlder } from "./history";
import { expireOutbox, outgoingSent, queueOutgoing, requeue, setDelivery } from "./outbox";
import { MAX_NOTICES } from "./state";
import type { ChatState, ConnectionError, ConnectionStatus, Notice, OutgoingMessage, StreamEvent } from "./state";
import { applyStreamEvent } from "./stream";
import { removeThread, sortThreads, upsertThread } from "./threads";

export type Action =
  | { type: "connection"; status: ConnectionStatus; error?: ConnectionError | null }
  /** Reconnecting has lasted too long to call it a short drop. */
  | { type: "offline" }
  | { type: "config"; maxMessageChars: number; features: readonly string[] }
  | { type: "hello"; hello: SystemHello }
  | { type: "ready"; ready: ChatReady }
  /** The stream restarted (recovery "reset"): what was loaded may have missed events. */
  | { type: "reset" }
  /** A page of threads: the first one replaces the list, later ones (`append`) extend it. */
  | { type: "threads"; threads: readonly ThreadView[]; nextBefore?: string | null; append?: boolean }
  | { type: "search_loading"; query: string }
  | { type: "search"; query: string; threads: readonly ThreadView[]; nextBefore: string | null; append: boolean }
  | { type: "search_clear" }
  | { type: "thread"; thread: ThreadView }
  | { type: "history_loading"; threadId: string }
  | {
      type: "history";
      threadId: string;
      messages: readonly HistoryMessage[];
      received: readonly StreamEvent[];
      hasMore?: boolean;
    }
  | { type: "history_failed"; threadId: string }
  | { type: "older_loading"; threadId: string }
  | { type: "older"; threadId: string; messages: readonly HistoryMessage[]; hasMore: boolean }
  | { type: "older_failed"; threadId: string }
  /** The thread is gone (deleted here, or the server no longer has it). */
  | { type: "thread_missing"; threadId: string }
  | { type: "open"; threadId: string | null; draftId: string }
  | { type: "examples"; examples: readonly Example[] }
  | { type: "event"; event: StreamEvent }
  | { type: "queue"; item: OutgoingMessage }
  | { type: "delivery"; clientMsgId: string; delivery: OutgoingMessage["delivery"]; error?: OutgoingMessage["error"] }
  | { type: "requeue"; clientMsgId: string; now: number }
  | { type: "expire"; now: number; limitMs: number }
  | { type: "sent"; clientMsgId: string; result: SendResult }
  | { type: "notice"; notice: Notice }
  | { type: "dismiss"; id: string };

function withoutKey<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _dropped, ...rest } = record;
  return rest;
}

/** Threads of another page: new ones added, known ones updated. */
function mergeThreads(known: readonly ThreadView[], page: readonly ThreadView[]): ThreadView[] {
  const byId = new Map(known.map((t) => [t.id, t]));
  for (const t of page) byId.set(t.id, t);
  return [...byId.values()];
}

export function reduce(state: ChatState, action: Action): ChatState {
  switch (action.type) {
    case "connection": {
      const error = action.error ?? null;
      const same = state.connection.status === action.status && state.connection.error?.message === error?.message;
      // Still down: a new reason does not make the outage short again.
      const offline = (action.status === "reconnecting" || action.status === "error") && state.connection.offline;
      return same ? state : { ...state, connection: { status: action.status, error, offline } };
    }
    case "offline":
      if (state.connection.status === "connected" || state.connection.offline) return state;
      return { ...state, connection: { ...state.connection, offline: true } };
    case "config":
      return { ...state, maxMessageChars: action.maxMessageChars, features: action.features };
    case "hello":
      return { ...state, hello: action.hello };
    case "ready":
      return { ...state, connection: { status: "connected", error: null, offline: false } };
    case "reset":
      return { ...state, messages: {}, runs: {}, loadingHistory: {}, hasOlder: {}, loadingOlder: {} };
    case "threads": {
      const threads = action.append ? mergeThreads(state.threads, action.threads) : action.threads;
      return { ...state, threads: sortThreads(threads), threadsLoaded: true, threadsNextBefore: action.nextBefore ?? null };
    }
    case "search_loading": {
      const same = state.threadSearch?.query === action.query;
      const results = same ? (state.threadSearch?.results ?? []) : [];
      const nextBefore = same ? (state.threadSearch?.nextBefore ?? null) : null;
      return { ...state, threadSearch: { query: action.query, results, nextBefore, loading: true } };
    }
    case "search": {
      const prior = state.threadSearch?.query === action.query ? state.threadSearch.results : [];
      const results = action.append ? mergeThreads(prior, action.threads) : action.threads;
      return { ...state, threadSearch: { query: action.query, results, nextBefore: action.nextBefore, loading: false } };
    }
    case "search_clear":
      return state.threadSearch === null ? state : { ...state, threadSearch: null };
    case "thread":
      return upsertThread(state, action.thread);
    case "history_loading":
      return { ...state, loadingHistory: { ...state.loadingHistory, [action.threadId]: true } };
    case "history":
      return mergeHistory(state, action.threadId, action.messages, action.received, action.hasMore ?? false);
    case "history_failed":
      return { ...state, loadingHistory: withoutKey(state.loadingHistory, action.threadId) };
    case "older_loading":
      return { ...state, loadingOlder: { ...state.loadingOlder, [action.threadId]: true } };
    case "older":
      return prependOlder(state, action.threadId, action.messages, action.hasMore);
    case "older_failed":
      return { ...state, loadingOlder: withoutKey(state.loadingOlder, action.threadId) };
    case "thread_missing":
      return removeThread(state, action.threadId);
    case "open":
      return { ...state, openThreadId: action.threadId, draftId: action.draftId };
    case "examples":
      return { ...state, examples: action.examples };
    case "event":
      return applyStreamEvent(state, action.event);
    case "queue":
      return queueOutgoing(state, action.item);
    case "delivery":
      return setDelivery(state, action.clientMsgId, action.delivery, action.error ?? null);
    case "requeue":
      return requeue(state, action.clientMsgId, action.now);
    case "expire":
      return expireOutbox(state, action.now, action.limitMs);
    case "sent":
      return outgoingSent(state, action.clientMsgId, action.result);
    case "notice":
      return { ...state, notices: [...state.notices, action.notice].slice(-MAX_NOTICES) };
    case "dismiss":
      return { ...state, notices: state.notices.filter((n) => n.id !== action.id) };
  }
}
