import type { ChatReady, Example, HistoryMessage, SendResult, SystemHello, ThreadView } from "../generated/protocol";
import { mergeHistory } from "./history";
import { outgoingSent, queueOutgoing, setDelivery } from "./outbox";
import { MAX_NOTICES } from "./state";
import type { ChatState, ConnectionError, ConnectionStatus, Notice, OutgoingMessage, StreamEvent } from "./state";
import { applyStreamEvent } from "./stream";
import { sortThreads } from "./threads";

export type Action =
  | { type: "connection"; status: ConnectionStatus; error?: ConnectionError | null }
  | { type: "limits"; maxMessageChars: number }
  | { type: "hello"; hello: SystemHello }
  | { type: "ready"; ready: ChatReady }
  /** The stream restarted (recovery "reset"): what was loaded may have missed events. */
  | { type: "reset" }
  | { type: "threads"; threads: readonly ThreadView[] }
  | { type: "history_loading"; threadId: string }
  | { type: "history"; threadId: string; messages: readonly HistoryMessage[]; received: readonly StreamEvent[] }
  | { type: "history_failed"; threadId: string }
  | { type: "thread_missing"; threadId: string }
  | { type: "open"; threadId: string | null; draftId: string }
  | { type: "examples"; examples: readonly Example[] }
  | { type: "event"; event: StreamEvent }
  | { type: "queue"; item: OutgoingMessage }
  | { type: "delivery"; clientMsgId: string; delivery: OutgoingMessage["delivery"]; error?: OutgoingMessage["error"] }
  | { type: "sent"; clientMsgId: string; result: SendResult }
  | { type: "notice"; notice: Notice }
  | { type: "dismiss"; id: string };


function withoutKey<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _dropped, ...rest } = record;
  return rest;
}

export function reduce(state: ChatState, action: Action): ChatState {
  switch (action.type) {
    case "connection": {
      const error = action.error ?? null;
      const same = state.connection.status === action.status && state.connection.error?.message === error?.message;
      return same ? state : { ...state, connection: { status: action.status, error } };
    }
    case "limits":
      return { ...state, maxMessageChars: action.maxMessageChars };
    case "hello":
      return { ...state, hello: action.hello };
    case "ready":
      return { ...state, connection: { status: "connected", error: null } };
    case "reset":
      return { ...state, messages: {}, runs: {}, loadingHistory: {} };
    case "threads":
      return { ...state, threads: sortThreads(action.threads), threadsLoaded: true };
    case "history_loading":
      return { ...state, loadingHistory: { ...state.loadingHistory, [action.threadId]: true } };
    case "history":
      return mergeHistory(state, action.threadId, action.messages, action.received);
    case "history_failed":
      return { ...state, loadingHistory: withoutKey(state.loadingHistory, action.threadId) };
    case "thread_missing":
      return {
        ...state,
        threads: state.threads.filter((t) => t.id !== action.threadId),
        messages: withoutKey(state.messages, action.threadId),
        loadingHistory: withoutKey(state.loadingHistory, action.threadId),
        openThreadId: state.openThreadId === action.threadId ? null : state.openThreadId,
      };
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
    case "sent":
      return outgoingSent(state, action.clientMsgId, action.result);
    case "notice":
      return { ...state, notices: [...state.notices, action.notice].slice(-MAX_NOTICES) };
    case "dismiss":
      return { ...state, notices: state.notices.filter((n) => n.id !== action.id) };
  }
}
