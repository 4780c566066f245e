import type { SendResult } from "../generated/protocol";
import { setThreadMessages, upsertMessage } from "./messages";
import type { ChatState, Delivery, OutgoingMessage } from "./state";
import { touchThread } from "./threads";

/** Messages of a new chat follow its first one into the thread the server made for it. */
function resolveDraft(state: ChatState, draftId: string, threadId: string): ChatState {
  const outbox = state.outbox.map((o) => (o.threadId === null && o.draftId === draftId ? { ...o, threadId } : o));
  const stillOpen = state.openThreadId === null && state.draftId === draftId;
  return { ...state, outbox, openThreadId: stillOpen ? threadId : state.openThreadId };
}

/**
 * The server has the message (its chat:message arrived, or its ack): drop it from the outbox.
 * `startedThread` says it was the first message of a new chat, so its thread is ours to show.
 */
export function claimOutgoing(
  state: ChatState,
  clientMsgId: string,
  threadId: string,
): { state: ChatState; item: OutgoingMessage | null; startedThread: boolean } {
  const item = state.outbox.find((o) => o.clientMsgId === clientMsgId) ?? null;
  if (!item) return { state, item: null, startedThread: false };
  let next: ChatState = { ...state, outbox: state.outbox.filter((o) => o !== item) };
  const startedThread = item.threadId === null;
  if (startedThread) next = resolveDraft(next, item.draftId, threadId);
  return { state: next, item, startedThread };
}

export function queueOutgoing(state: ChatState, item: OutgoingMessage): ChatState {
  return { ...state, outbox: [...state.outbox, item] };
}

export function setDelivery(
  state: ChatState,
  clientMsgId: string,
  delivery: Delivery,
  error: OutgoingMessage["error"] = null,
): ChatState {
  if (!state.outbox.some((o) => o.clientMsgId === clientMsgId)) return state;
  return {
    ...state,
    outbox: state.outbox.map((o) => (o.clientMsgId === clientMsgId ? { ...o, delivery, error } : o)),
  };
}

/** The ack came first (or chat:message was missed): show the message from what we sent. */
export function outgoingSent(state: ChatState, clientMsgId: string, result: SendResult): ChatState {
  const claimed = claimOutgoing(state, clientMsgId, result.thread_id);
  const item = claimed.item;
  if (!item) return state;
  let next = { ...claimed.state, threads: touchThread(claimed.state.threads, result.thread_id, item.createdAt, item.text) };
  const list = next.messages[result.thread_id];
  if (list || claimed.startedThread) {
    next = setThreadMessages(
      next,
      result.thread_id,
      upsertMessage(list ?? [], {
        id: result.message_id,
        threadId: result.thread_id,
        role: "user",
        text: item.text,
        parts: [],
        status: "complete",
        createdAt: list?.find((m) => m.id === result.message_id)?.createdAt ?? item.createdAt,
        clientMsgId: item.clientMsgId,
        runId: null,
        replyTo: null,
        seq: null,
        error: null,
      }),
    );
  }
  return next;
}

/** Sent again: it waits for the connection for another full time limit. */
export function requeue(state: ChatState, clientMsgId: string, now: number): ChatState {
  if (!state.outbox.some((o) => o.clientMsgId === clientMsgId)) return state;
  return {
    ...state,
    outbox: state.outbox.map((o) =>
      o.clientMsgId === clientMsgId ? { ...o, delivery: "queued", error: null, queuedAt: now } : o,
    ),
  };
}

/** Whether a message has waited for the connection longer than it may. */
export function overdue(item: OutgoingMessage, now: number, limitMs: number): boolean {
  return item.delivery === "queued" && now - item.queuedAt >= limitMs;
}

/**
 * Messages that waited for the connection longer than the limit are marked failed, so the
 * user sees them not sent (and may retry) instead of waiting on an outage without end.
 */
export function expireOutbox(state: ChatState, now: number, limitMs: number): ChatState {
  if (!state.outbox.some((o) => overdue(o, now, limitMs))) return state;
  const error = {
    code: "timeout",
    message: `No connection to the server for ${Math.round(limitMs / 1000)} s`,
  };
  return {
    ...state,
    outbox: state.outbox.map((o) => (overdue(o, now, limitMs) ? { ...o, delivery: "failed", error } : o)),
  };
}
