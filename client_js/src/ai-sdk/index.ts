/** The AI SDK (`ai`, `@ai-sdk/react`) over the netra socket: a ChatTransport for useChat. */
export { NetraChatTransport, type NetraChatTransportOptions } from "./transport";
export {
  PartsToChunks,
  RunChunks,
  approvalId,
  parseApprovalId,
  type ChunkOptions,
  type NetraMessageMetadata,
  type RunSnapshot,
  type RunStep,
} from "./chunks";
export { historyChunks, toUIMessages } from "./messages";
