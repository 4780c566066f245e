import { createChatClient } from "../core";

/**
 * The page's one client, made at module scope: React mounts (StrictMode's double mount
 * included) only subscribe to it, so a tab opens one websocket however often it renders.
 */
export const chatClient = createChatClient();
