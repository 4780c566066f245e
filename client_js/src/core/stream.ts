import type { ChatServerEvents } from "../generated/protocol";
import { setThreadMessages, updateMessage, upsertMessage } from "./messages";
import { claimOutgoing } from "./outbox";
import { MAX_NOTICES } from "./state";
import type { ChatMessage, ChatState, Notice, RunInfo, StreamEvent, ToolCall } from "./state";
import { touchThread } from "./threads";

/**
 * Applies one user-stream event. Every case is idempotent (keyed by message id, call id, or a
 * delta's seq against the seq its message already includes), so replaying events over a
 * history snapshot neither loses nor doubles anything.
 */
export function applyStreamEvent(state: ChatState, event: StreamEvent): ChatState {
  switch (event.name) {
    case "chat:message":
      return onUserMessage(state, event.payload);
    case "agent:run_started":
      return onRunStarted(state, event.payload);
    case "agent:delta":
      return onDelta(state, event.payload);
    case "agent:tool_call":
      return onToolCall(state, event.payload);
    case "agent:tool_result":
      return onToolResult(state, event.payload);
    case "agent:run_completed":
      return onCompleted(state, event.payload);
    case "agent:run_failed":
      return finishRun(state, event.payload.run_id, "failed", event.payload.error);
    case "agent:run_stopped":
      return finishRun(state, event.payload.run_id, "stopped", null);
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
    status: "complete",
    createdAt: m.created_at,
    clientMsgId: m.client_msg_id,
    runId: null,
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
  const run = state.runs[runId] ?? { runId, threadId: null, messageId: null, toolCalls: [] };
  return { ...state, runs: { ...state.runs, [runId]: change(run) } };
}

function onRunStarted(state: ChatState, e: ChatServerEvents["agent:run_started"]): ChatState {
  const next = upsertRun(state, e.run_id, (run) => ({ ...run, threadId: e.thread_id, messageId: e.message_id }));
  const list = next.messages[e.thread_id];
  if (!list || list.some((m) => m.id === e.message_id)) return next;
  const message: ChatMessage = {
    id: e.message_id,
    threadId: e.thread_id,
    role: "assistant",
    text: "",
    status: "streaming",
    createdAt: e.ts,
    clientMsgId: null,
    runId: e.run_id,
    // Every delta of this run comes after its start.
    seq: e.seq,
    error: null,
  };
  return setThreadMessages(next, e.thread_id, upsertMessage(list, message));
}

function onDelta(state: ChatState, e: ChatServerEvents["agent:delta"]): ChatState {
  const run = state.runs[e.run_id];
  if (!run?.threadId || !run.messageId) return state;
  return updateMessage(state, run.threadId, run.messageId, (m) => {
    if (m.status !== "streaming" || (m.seq !== null && e.seq <= m.seq)) return m;
    return { ...m, text: m.text + e.text, seq: e.seq };
  });
}

function upsertCall(calls: readonly ToolCall[], callId: string, change: (call: ToolCall) => ToolCall): readonly ToolCall[] {
  const index = calls.findIndex((c) => c.callId === callId);
  const current = calls[index];
  if (!current) return [...calls, change({ callId, name: "", args: null, result: null })];
  const next = [...calls];
  next[index] = change(current);
  return next;
}

function onToolCall(state: ChatState, e: ChatServerEvents["agent:tool_call"]): ChatState {
  return upsertRun(state, e.run_id, (run) => ({
    ...run,
    toolCalls: upsertCall(run.toolCalls, e.call_id, (call) => ({ ...call, name: e.name, args: e.args })),
  }));
}

function onToolResult(state: ChatState, e: ChatServerEvents["agent:tool_result"]): ChatState {
  return upsertRun(state, e.run_id, (run) => ({
    ...run,
    toolCalls: upsertCall(run.toolCalls, e.call_id, (call) => ({
      ...call,
      name: call.name || e.name,
      result: { value: e.result, isError: e.is_error },
    })),
  }));
}

function onCompleted(state: ChatState, e: ChatServerEvents["agent:run_completed"]): ChatState {
  const m = e.message;
  let next = upsertRun(state, e.run_id, (run) => ({ ...run, threadId: m.thread_id, messageId: m.id }));
  next = { ...next, threads: touchThread(next.threads, m.thread_id, m.created_at, m.text) };
  const list = next.messages[m.thread_id];
  if (!list) return next;
  const existing = list.find((x) => x.id === m.id);
  const message: ChatMessage = {
    id: m.id,
    threadId: m.thread_id,
    role: "assistant",
    text: m.text,
    status: "complete",
    createdAt: existing?.createdAt ?? m.created_at,
    clientMsgId: null,
    runId: e.run_id,
    seq: e.seq,
    error: null,
  };
  return setThreadMessages(next, m.thread_id, upsertMessage(list, message));
}

function finishRun(
  state: ChatState,
  runId: string,
  status: "failed" | "stopped",
  error: { code: string; message: string } | null,
): ChatState {
  const run = state.runs[runId];
  if (!run?.threadId || !run.messageId) return state;
  return updateMessage(state, run.threadId, run.messageId, (m) =>
    m.status === status ? m : { ...m, status, error },
  );
}
