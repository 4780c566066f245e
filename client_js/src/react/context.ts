import { createContext, useContext } from "react";
import type { ChatClient } from "../core";

/** The client is made once at module scope; React only gets a handle to it. */
export const ChatClientContext = createContext<ChatClient | null>(null);

export function useChatClient(): ChatClient {
  const client = useContext(ChatClientContext);
  if (!client) throw new Error("useChatClient needs a <ChatClientContext value={client}> above it");
  return client;
}
