import type {
  ChatServerEvents,
  Example,
  SystemHello,
  ThreadView,
  UserStreamEventName,
} from "../generated/protocol";
import type { Part } from "./parts";

export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "error";

export interface ConnectionError {
  message: string;
  /** The server's refusal code (`err.data.code`) or the client's own (discovery_failed, ...). */
  code: string | null;
}

export interface ConnectionInfo {
  status: ConnectionStatus;
  error: ConnectionError | null;
  /** Reconnecting for longer than a short drop: nothing can be sent until the server is back. */
  offline: boolean;
}

export type MessageStatus = "streaming" | "complete" | "stopped" | "failed";

export interface ChatMessage {
  id: string;
  threadId: string;
  role: "user" | "assistant";
  /** User messages: what was typed. Assistant messages: the joined text parts. */
  text: string;
  /** Assistant messages: what streamed, in order (empty for user messages). */
  parts: readonly Part[];
  status: MessageStatus;
  createdAt: string;
  clientMsgId: string | null;
  runId: string | null;
  /** Assistant messages: the user message answered; answers to the same one are its versions. */
  replyTo: string | null;
  /** Assistant messages: the seq of the last event included in `parts`; later events add to them. */
  seq: number | null;
  error: { code: string; message: string } | null;
}

/** One agent run: the message it writes and the user message it answers. */
export interface RunInfo {
  runId: string;
  threadId: string | null;
  messageId: string | null;
  replyTo: string | null;
}

export type Delivery = "queued" | "sending" | "failed";

/** A message the user sent that the server has not acknowledged yet. */
export interface OutgoingMessage {
  clientMsgId: string;
  /** null: the first message of a new chat; the server picks the thread. */
  threadId: string | null;
  /** Which new-chat view it was typed in, so later messages join the thread the first one made. */
  draftId: string;
  text: string;
  source: "typed" | "example";
  createdAt: string;
  /** When it was last queued (ms since the epoch): it waits for the connection for a limited time. */
  queuedAt: number;
  delivery: Delivery;
  error: { code: string; message: string } | null;
}

/** Notices shown at once; older ones make room. */
export const MAX_NOTICES = 5;

export interface Notice {
  id: string;
  level: "info" | "warning" | "error";
  text: string;
}

/** Thread titles and message text matching a query, page by page. */
export interface ThreadSearch {
  query: string;
  results: readonly ThreadView[];
  nextBefore: string | null;
  loading: boolean;
}

export interface ChatState {
  connection: ConnectionInfo;
  hello: SystemHello | null;
  /** What of the v1.1 additions the server serves (discovery's `features`). */
  features: readonly string[];
  threads: readonly ThreadView[];
  threadsLoaded: boolean;
  /** Pass as `before` for the next page of threads; null when every thread is loaded. */
  threadsNextBefore: string | null;
  threadSearch: ThreadSearch | null;
  /** null: the new-chat view. */
  openThreadId: string | null;
  draftId: string;
  /** Messages per thread, oldest first; a thread without an entry has not been loaded. */
  messages: Readonly<Record<string, readonly ChatMessage[]>>;
  loadingHistory: Readonly<Record<string, boolean>>;
  /** Threads with older messages than those loaded, and those whose older page is loading. */
  hasOlder: Readonly<Record<string, boolean>>;
  loadingOlder: Readonly<Record<string, boolean>>;
  runs: Readonly<Record<string, RunInfo>>;
  outbox: readonly OutgoingMessage[];
  examples: readonly Example[];
  notices: readonly Notice[];
  maxMessageChars: number | null;
}

/** A user-stream event as received: name and payload (with seq and ts). */
export type StreamEvent = {
  [E in UserStreamEventName]: { name: E; payload: ChatServerEvents[E] };
}[UserStreamEventName];

export function initialState(openThreadId: string | null, draftId: string): ChatState {
  return {
    connection: { status: "connecting", error: null, offline: false },
    hello: null,
    features: [],
    threads: [],
    threadsLoaded: false,
    threadsNextBefore: null,
    threadSearch: null,
    openThreadId,
    draftId,
    messages: {},
    loadingHistory: {},
    hasOlder: {},
    loadingOlder: {},
    runs: {},
    outbox: [],
    examples: [],
    notices: [],
    maxMessageChars: null,
  };
}
