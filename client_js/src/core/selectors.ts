import type { ChatMessage, ChatState, Delivery } from "./state";

/** A message as a UI shows it, or one still on its way to the server. */
export interface DisplayMessage extends ChatMessage {
  /** Set while the server has not acknowledged a message the user sent. */
  delivery: Delivery | null;
}

export function openThreadMessages(state: ChatState): DisplayMessage[] {
  const open = state.openThreadId;
  const shown: DisplayMessage[] = (open ? (state.messages[open] ?? []) : []).map((m) => ({ ...m, delivery: null }));
  for (const o of state.outbox) {
    const here = o.threadId === open && (open !== null || o.draftId === state.draftId);
    if (!here) continue;
    shown.push({
      id: `outgoing:${o.clientMsgId}`,
      threadId: o.threadId ?? "",
      role: "user",
      text: o.text,
      parts: [],
      status: o.delivery === "failed" ? "failed" : "complete",
      createdAt: o.createdAt,
      clientMsgId: o.clientMsgId,
      runId: null,
      replyTo: null,
      seq: null,
      error: o.error,
      delivery: o.delivery,
    });
  }
  return shown;
}

/**
 * One place in the conversation: a user message, or the answer to one with every version of
 * it (regenerated answers share `reply_to`), oldest first.
 */
export interface Turn {
  key: string;
  versions: readonly DisplayMessage[];
}

/** Groups the answers to the same user message, at the place of the first of them. */
export function conversationTurns(messages: readonly DisplayMessage[]): Turn[] {
  const turns: Array<{ key: string; versions: DisplayMessage[] }> = [];
  const answers = new Map<string, { key: string; versions: DisplayMessage[] }>();
  for (const m of messages) {
    const replyTo = m.role === "assistant" ? m.replyTo : null;
    const group = replyTo ? answers.get(replyTo) : undefined;
    if (group) {
      group.versions.push(m);
      continue;
    }
    const turn = { key: replyTo ? `answer:${replyTo}` : (m.clientMsgId ?? m.id), versions: [m] };
    if (replyTo) answers.set(replyTo, turn);
    turns.push(turn);
  }
  return turns;
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

/** Why nothing can be sent now, in words for the user; null while sending works or will shortly. */
export function sendBlockedReason(state: ChatState): string | null {
  const { status, error, offline } = state.connection;
  if (status === "error") return `Not connected: ${error?.message ?? "the server cannot be reached"}.`;
  if (offline) {
    const detail = error?.message ? ` (${error.message})` : "";
    return `The server cannot be reached${detail}. Still trying to reconnect…`;
  }
  return null;
}
