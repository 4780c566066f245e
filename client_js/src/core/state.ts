import type {
  ChatServerEvents,
  Example,
  JsonValue,
  SystemHello,
  ThreadView,
  UserStreamEventName,
} from "../generated/protocol";

export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "error";

export interface ConnectionError {
  message: string;
  /** The server's refusal code (`err.data.code`) or the client's own (discovery_failed, ...). */
  code: string | null;
}

export interface ConnectionInfo {
  status: ConnectionStatus;
  error: ConnectionError | null;
}

export type MessageStatus = "streaming" | "complete" | "stopped" | "failed";

export interface ChatMessage {
  id: string;
  threadId: string;
  role: "user" | "assistant";
  text: string;
  status: MessageStatus;
  createdAt: string;
  clientMsgId: string | null;
  runId: string | null;
  /** Assistant messages: the seq of the last delta included in `text`; later deltas append. */
  seq: number | null;
  error: { code: string; message: string } | null;
}

export interface ToolCall {
  callId: string;
  name: string;
  args: { [key: string]: JsonValue } | null;
  result: { value: JsonValue; isError: boolean } | null;
}

/** One agent run: which message it writes, and the tools it called (history does not carry them). */
export interface RunInfo {
  runId: string;
  threadId: string | null;
  messageId: string | null;
  toolCalls: readonly ToolCall[];
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

export interface ChatState {
  connection: ConnectionInfo;
  hello: SystemHello | null;
  threads: readonly ThreadView[];
  threadsLoaded: boolean;
  /** null: the new-chat view. */
  openThreadId: string | null;
  draftId: string;
  /** Messages per thread, oldest first; a thread without an entry has not been loaded. */
  messages: Readonly<Record<string, readonly ChatMessage[]>>;
  loadingHistory: Readonly<Record<string, boolean>>;
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
    connection: { status: "connecting", error: null },
    hello: null,
    threads: [],
    threadsLoaded: false,
    openThreadId,
    draftId,
    messages: {},
    loadingHistory: {},
    runs: {},
    outbox: [],
    examples: [],
    notices: [],
    maxMessageChars: null,
  };
}
