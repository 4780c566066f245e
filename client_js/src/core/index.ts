/** The framework-free chat client: import from here, not from the files behind it. */
export { ChatClient, createChatClient, type ChatClientOptions } from "./client";
export { Channel, type AckDataOf, type ClientEventName, type PayloadOf, type ServerEventName } from "./channel";
export { fetchWsConfig, managerOptions, retryDelay, socketOrigin, type WsConfig } from "./config";
export { RequestError, SetupError } from "./errors";
export { mergeHistory } from "./history";
export { foldPart, foldParts, joinedText, partViews, type Part, type PartView, type ToolState } from "./parts";
export { reduce, type Action } from "./reducer";
export { ResumeTracker, type SeqVerdict } from "./resume";
export {
  conversationTurns,
  isHistoryLoading,
  openThreadMessages,
  sendBlockedReason,
  streamingRunId,
  type DisplayMessage,
  type Turn,
} from "./selectors";
export type {
  ChatMessage,
  ChatState,
  ConnectionError,
  ConnectionStatus,
  MessageStatus,
  Notice,
  OutgoingMessage,
  RunInfo,
  StreamEvent,
  ThreadSearch,
} from "./state";
export { RefCount, Store } from "./store";
export { browserStorage, memoryStorage, type KeyValueStorage } from "./storage";
export { devTokenProvider, tokenProviderFor, type TokenProvider } from "./tokens";
export type { ManagerFactory, ManagerLike, SocketLike } from "./transport";
