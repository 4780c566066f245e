import type { ChatMessage, ChatState } from "./state";

function time(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
}

/** Adds a message in time order, or replaces the one with the same id in place. */
export function upsertMessage(list: readonly ChatMessage[], message: ChatMessage): readonly ChatMessage[] {
  const index = list.findIndex((m) => m.id === message.id);
  if (index >= 0) {
    const next = [...list];
    next[index] = message;
    return next;
  }
  let at = list.length;
  while (at > 0 && time(list[at - 1]?.createdAt ?? "") > time(message.createdAt)) at -= 1;
  return [...list.slice(0, at), message, ...list.slice(at)];
}

/** Applies `change` to one message of a loaded thread; the same state back when nothing changed. */
export function updateMessage(
  state: ChatState,
  threadId: string,
  messageId: string,
  change: (message: ChatMessage) => ChatMessage,
): ChatState {
  const list = state.messages[threadId];
  const index = list?.findIndex((m) => m.id === messageId) ?? -1;
  const current = list?.[index];
  if (!list || !current) return state;
  const updated = change(current);
  if (updated === current) return state;
  const next = [...list];
  next[index] = updated;
  return { ...state, messages: { ...state.messages, [threadId]: next } };
}

export function setThreadMessages(state: ChatState, threadId: string, list: readonly ChatMessage[]): ChatState {
  return { ...state, messages: { ...state.messages, [threadId]: list } };
}
