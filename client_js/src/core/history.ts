import type { HistoryMessage } from "../generated/protocol";
import type { ChatMessage, ChatState, RunInfo, StreamEvent } from "./state";
import { applyStreamEvent, eventThread } from "./stream";

function fromHistory(m: HistoryMessage): ChatMessage {
  return {
    id: m.id,
    threadId: m.thread_id,
    role: m.role,
    text: m.text,
    status: m.status,
    createdAt: m.created_at,
    clientMsgId: m.client_msg_id,
    runId: m.run_id,
    seq: m.seq,
    error: null,
  };
}

/** The thread's messages become the snapshot; runs learn their messages (tool calls are kept). */
export function applyHistory(state: ChatState, threadId: string, history: readonly HistoryMessage[]): ChatState {
  const runs: Record<string, RunInfo> = { ...state.runs };
  for (const m of history) {
    if (m.role !== "assistant" || !m.run_id) continue;
    const run = runs[m.run_id];
    runs[m.run_id] = { runId: m.run_id, threadId, messageId: m.id, toolCalls: run?.toolCalls ?? [] };
  }
  const delivered = new Set(history.map((m) => m.client_msg_id).filter((id): id is string => id !== null));
  const { [threadId]: _loading, ...loadingHistory } = state.loadingHistory;
  return {
    ...state,
    messages: { ...state.messages, [threadId]: history.map(fromHistory) },
    runs,
    outbox: state.outbox.filter((o) => !delivered.has(o.clientMsgId)),
    loadingHistory,
  };
}

/**
 * History, then every event received meanwhile. The snapshot may be older or newer than any
 * of those events (the server answers history while the run streams on), so the thread's
 * events are re-applied on top of it: idempotent updates and each streaming message's seq
 * keep that from losing or doubling text.
 */
export function mergeHistory(
  state: ChatState,
  threadId: string,
  history: readonly HistoryMessage[],
  received: readonly StreamEvent[],
): ChatState {
  let next = applyHistory(state, threadId, history);
  for (const event of received) {
    if (eventThread(next, event) === threadId) next = applyStreamEvent(next, event);
  }
  return next;
}
