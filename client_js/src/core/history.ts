import type { HistoryMessage } from "../generated/protocol";
import type { ChatMessage, ChatState, RunInfo, StreamEvent } from "./state";
import { applyStreamEvent, eventThread } from "./stream";

export function fromHistory(m: HistoryMessage): ChatMessage {
  return {
    id: m.id,
    threadId: m.thread_id,
    role: m.role,
    text: m.text,
    parts: m.role === "assistant" ? m.parts : [],
    status: m.status,
    createdAt: m.created_at,
    clientMsgId: m.client_msg_id,
    runId: m.run_id,
    replyTo: m.reply_to,
    seq: m.seq,
    error: null,
  };
}

function withRuns(runs: Readonly<Record<string, RunInfo>>, threadId: string, history: readonly HistoryMessage[]) {
  const next: Record<string, RunInfo> = { ...runs };
  for (const m of history) {
    if (m.role !== "assistant" || !m.run_id) continue;
    next[m.run_id] = { runId: m.run_id, threadId, messageId: m.id, replyTo: m.reply_to };
  }
  return next;
}

function without<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _dropped, ...rest } = record;
  return rest;
}

/** The thread's latest messages become the snapshot; runs learn their messages. */
export function applyHistory(
  state: ChatState,
  threadId: string,
  history: readonly HistoryMessage[],
  hasMore = false,
): ChatState {
  const delivered = new Set(history.map((m) => m.client_msg_id).filter((id): id is string => id !== null));
  return {
    ...state,
    messages: { ...state.messages, [threadId]: history.map(fromHistory) },
    runs: withRuns(state.runs, threadId, history),
    outbox: state.outbox.filter((o) => !delivered.has(o.clientMsgId)),
    loadingHistory: without(state.loadingHistory, threadId),
    hasOlder: { ...state.hasOlder, [threadId]: hasMore },
  };
}

/**
 * History, then every event received meanwhile. The snapshot may be older or newer than any
 * of those events (the server answers history while the run streams on), so the thread's
 * events are re-applied on top of it: idempotent updates and each streaming message's seq
 * keep that from losing or doubling parts.
 */
export function mergeHistory(
  state: ChatState,
  threadId: string,
  history: readonly HistoryMessage[],
  received: readonly StreamEvent[],
  hasMore = false,
): ChatState {
  let next = applyHistory(state, threadId, history, hasMore);
  for (const event of received) {
    if (eventThread(next, event) === threadId) next = applyStreamEvent(next, event);
  }
  return next;
}

/** An older page (`before` the first loaded message) goes above what is loaded. */
export function prependOlder(
  state: ChatState,
  threadId: string,
  older: readonly HistoryMessage[],
  hasMore: boolean,
): ChatState {
  const loaded = state.messages[threadId];
  const loadingOlder = without(state.loadingOlder, threadId);
  // The thread was reloaded or dropped meanwhile: the page no longer fits.
  if (!loaded) return { ...state, loadingOlder };
  const known = new Set(loaded.map((m) => m.id));
  const added = older.filter((m) => !known.has(m.id)).map(fromHistory);
  return {
    ...state,
    messages: { ...state.messages, [threadId]: [...added, ...loaded] },
    runs: withRuns(state.runs, threadId, older),
    hasOlder: { ...state.hasOlder, [threadId]: hasMore },
    loadingOlder,
  };
}
