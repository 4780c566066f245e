import { useMemo, useSyncExternalStore } from "react";
import type { ChatClient, ChatState } from "../core";
import { useChatClient } from "./context";

/** The chat state, re-rendering on each change. Subscribing keeps the connection open. */
export function useChatState(): ChatState {
  const client = useChatClient();
  return useSyncExternalStore(client.subscribe, client.getSnapshot, client.getSnapshot);
}

/** State and the client's actions (send, stopRun, openThread, newChat, retry, reconnect, ...). */
export function useChat(): { state: ChatState; client: ChatClient } {
  return { state: useChatState(), client: useChatClient() };
}

/** A value derived from the state, recomputed only when the state changes. */
export function useChatSelector<T>(selector: (state: ChatState) => T): T {
  const state = useChatState();
  return useMemo(() => selector(state), [selector, state]);
}
