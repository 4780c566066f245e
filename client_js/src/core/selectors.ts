import type { ChatMessage, ChatState, Delivery, ToolCall } from "./state";

/** A message as a UI shows it: with its run's tool calls, or still on its way to the server. */
export interface DisplayMessage extends ChatMessage {
  toolCalls: readonly ToolCall[];
  /** Set while the server has not acknowledged a message the user sent. */
  delivery: Delivery | null;
}

const NO_CALLS: readonly ToolCall[] = [];

export function openThreadMessages(state: ChatState): DisplayMessage[] {
  const open = state.openThreadId;
  const shown: DisplayMessage[] = (open ? (state.messages[open] ?? []) : []).map((m) => ({
    ...m,
    toolCalls: (m.runId ? state.runs[m.runId]?.toolCalls : undefined) ?? NO_CALLS,
    delivery: null,
  }));
  for (const o of state.outbox) {
    const here = o.threadId === open && (open !== null || o.draftId === state.draftId);
    if (!here) continue;
    shown.push({
      id: `outgoing:${o.clientMsgId}`,
      threadId: o.threadId ?? "",
      role: "user",
      text: o.text,
      status: o.delivery === "failed" ? "failed" : "complete",
      createdAt: o.createdAt,
      clientMsgId: o.clientMsgId,
      runId: null,
      seq: null,
      error: o.error,
      toolCalls: NO_CALLS,
      delivery: o.delivery,
    });
  }
  return shown;
}

/** The run streaming into the open thread, if any: what the stop button stops. */
export function streamingRunId(state: ChatState): string | null {
  const open = state.openThreadId;
  const list = open ? state.messages[open] : undefined;
  const streaming = list?.findLast((m) => m.role === "assistant" && m.status === "streaming");
  return streaming?.runId ?? null;
}

export function isHistoryLoading(state: ChatState): boolean {
  const open = state.openThreadId;
  return open !== null && (state.loadingHistory[open] ?? false);
}
