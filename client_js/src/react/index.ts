export { ChatClientContext, useChatClient } from "./context";
export { useChat, useChatSelector, useChatState } from "./useChat";
