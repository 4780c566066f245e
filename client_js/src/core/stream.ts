import type { AssistantMessageView, ChatServerEvents } from "../generated/protocol";
import { setThreadMessages, updateMessage, upsertMessage } from "./messages";
import { claimOutgoing } from "./outbox";
import { foldPart, isPartEvent, joinedText, type PartEvent } from "./parts";
import { MAX_NOTICES } from "./state";
import type { ChatMessage, ChatState, Notice, RunInfo, StreamEvent } from "./state";
import { removeThread, touchThread, upsertThread } from "./threads";

/**
 * Applies one user-stream event. Every case is idempotent (keyed by message id, thread id, or
 * an event's seq against the seq its message already includes), so replaying events over a
 * history snapshot neither loses nor doubles anything.
 */
export function applyStreamEvent(state: ChatState, event: StreamEvent): ChatState {
  if (isPartEvent(event)) return onPartEvent(state, event);
  switch (event.name) {
    case "chat:message":
      return onUserMessage(state, event.payload);
    case "agent:run_started":
      return onRunStarted(state, event.payload);
    case "agent:run_completed":
      return finishRun(state, event.payload.run_id, event.payload.seq, "complete", event.payload.message, null);
    case "agent:run_failed":
      return finishRun(state, event.payload.run_id, event.payload.seq, "failed", event.payload.message, event.payload.error);
    case "agent:run_stopped":
      return finishRun(state, event.payload.run_id, event.payload.seq, "stopped", event.payload.message, null);
    case "chat:thread_updated":
      return upsertThread(state, event.payload.thread);
    case "chat:thread_deleted":
      return removeThread(state, event.payload.thread_id);
    case "app:event":
      return onAppEvent(state, event.payload);
  }
}

/** The thread an event belongs to, when known. */
export function eventThread(state: ChatState, event: StreamEvent): string | null {
  switch (event.name) {
    case "chat:message":
      return event.payload.message.thread_id;
    case "agent:run_started":
      return event.payload.thread_id;
    case "agent:run_completed":
      return event.payload.message.thread_id;
    case "agent:run_failed":
    case "agent:run_stopped":
      return event.payload.message?.thread_id ?? state.runs[event.payload.run_id]?.threadId ?? null;
    case "chat:thread_updated":
      return event.payload.thread.id;
    case "chat:thread_deleted":
      return event.payload.thread_id;
    case "app:event":
      return null;
    default:
      return state.runs[event.payload.run_id]?.threadId ?? null;
  }
}

/** Topic `notification` is shown as a notice; keyed by seq, so a replay shows it once. */
function onAppEvent(state: ChatState, e: ChatServerEvents["app:event"]): ChatState {
  if (e.topic !== "notification") return state;
  const id = `app-event-${e.seq}`;
  if (state.notices.some((n) => n.id === id)) return state;
  const data = e.data as { title?: unknown; body?: unknown; level?: unknown };
  const level: Notice["level"] = data.level === "warning" || data.level === "error" ? data.level : "info";
  const title = typeof data.title === "string" ? data.title : "";
  const body = typeof data.body === "string" && data.body ? `: ${data.body}` : "";
  return { ...state, notices: [...state.notices, { id, level, text: `${title}${body}` }].slice(-MAX_NOTICES) };
}

function onUserMessage(state: ChatState, e: ChatServerEvents["chat:message"]): ChatState {
  const m = e.message;
  const message: ChatMessage = {
    id: m.id,
    threadId: m.thread_id,
    role: "user",
    text: m.text,
    parts: [],
    status: "complete",
    createdAt: m.created_at,
    clientMsgId: m.client_msg_id,
    runId: null,
    replyTo: null,
    seq: null,
    error: null,
  };
  const claimed = claimOutgoing(state, m.client_msg_id, m.thread_id);
  let next = { ...claimed.state, threads: touchThread(state.threads, m.thread_id, m.created_at, m.text) };
  const list = next.messages[m.thread_id];
  // Our own first message of a new chat starts the new thread's list.
  if (list || claimed.startedThread) next = setThreadMessages(next, m.thread_id, upsertMessage(list ?? [], message));
  return next;
}

function upsertRun(state: ChatState, runId: string, change: (run: RunInfo) => RunInfo): ChatState {
  const run = state.runs[runId] ?? { runId, threadId: null, messageId: null, replyTo: null };
  return { ...state, runs: { ...state.runs, [runId]: change(run) } };
}

function onRunStarted(state: ChatState, e: ChatServerEvents["agent:run_started"]): ChatState {
  const next = upsertRun(state, e.run_id, (run) => ({
    ...run,
    threadId: e.thread_id,
    messageId: e.message_id,
    replyTo: e.reply_to,
  }));
  const list = next.messages[e.thread_id];
  if (!list || list.some((m) => m.id === e.message_id)) return next;
  const message: ChatMessage = {
    id: e.message_id,
    threadId: e.thread_id,
    role: "assistant",
    text: "",
    parts: [],
    status: "streaming",
    createdAt: e.ts,
    clientMsgId: null,
    runId: e.run_id,
    replyTo: e.reply_to,
    // Every event of this run comes after its start.
    seq: e.seq,
    error: null,
  };
  return setThreadMessages(next, e.thread_id, upsertMessage(list, message));
}

/** Deltas, reasoning, tool calls and approvals: folded into the parts of the run's message. */
function onPartEvent(state: ChatState, event: PartEvent): ChatState {
  const run = state.runs[event.payload.run_id];
  if (!run?.threadId || !run.messageId) return state;
  const { seq } = event.payload;
  return updateMessage(state, run.threadId, run.messageId, (m) => {
    // A finished message holds its final parts; a streaming one those up to its seq.
    if (m.status !== "streaming" || (m.seq !== null && seq <= m.seq)) return m;
    const parts = foldPart(m.parts, event);
    return { ...m, parts, text: event.name === "agent:delta" ? joinedText(parts) : m.text, seq };
  });
}

/**
 * The run's outcome. Its message (always there when completed, when any part was produced
 * otherwise) carries the final parts, which replace what was folded from the live events.
 */
function finishRun(
  state: ChatState,
  runId: string,
  seq: number,
  status: "complete" | "failed" | "stopped",
  final: AssistantMessageView | null,
  error: { code: string; message: string } | null,
): ChatState {
  if (!final) {
    const run = state.runs[runId];
    if (!run?.threadId || !run.messageId) return state;
    return updateMessage(state, run.threadId, run.messageId, (m) =>
      m.status === status ? m : { ...m, status, error, seq },
    );
  }
  let next = upsertRun(state, runId, (run) => ({
    ...run,
    threadId: final.thread_id,
    messageId: final.id,
    replyTo: final.reply_to,
  }));
  if (status === "complete") next = { ...next, threads: touchThread(next.threads, final.thread_id, final.created_at, final.text) };
  const list = next.messages[final.thread_id];
  if (!list) return next;
  const existing = list.find((x) => x.id === final.id);
  if (existing && existing.status === status && existing.seq !== null && existing.seq >= seq) return next;
  const message: ChatMessage = {
    id: final.id,
    threadId: final.thread_id,
    role: "assistant",
    text: final.text,
    parts: final.parts,
    status,
    createdAt: existing?.createdAt ?? final.created_at,
    clientMsgId: null,
    runId,
    replyTo: final.reply_to,
    seq,
    error,
  };
  return setThreadMessages(next, final.thread_id, upsertMessage(list, message));
}
