import { useState } from "react";
import { useChat } from "../react";
import { Composer } from "./Composer";
import { ConnectionBanner } from "./ConnectionBanner";
import { Conversation } from "./Conversation";
import { Notices } from "./Notices";
import { StatusPill } from "./StatusPill";
import { ThreadList } from "./ThreadList";

export function App() {
  const { state, client } = useChat();
  const [menuOpen, setMenuOpen] = useState(false);
  const title = state.threads.find((t) => t.id === state.openThreadId)?.title ?? "New chat";
  const choose = (threadId: string | null) => {
    client.openThread(threadId);
    setMenuOpen(false);
  };

  return (
    <div className={`app${menuOpen ? " menu-open" : ""}`}>
      <ThreadList state={state} client={client} onOpen={choose} />
      <button className="scrim" aria-label="Close the thread list" onClick={() => setMenuOpen(false)} />
      <main className="chat">
        <header className="chat-header">
          <button className="icon-button menu-button" aria-label="Threads" onClick={() => setMenuOpen(!menuOpen)}>
            ☰
          </button>
          <h1 className="chat-title" title={title}>
            {title}
          </h1>
          <StatusPill connection={state.connection} />
        </header>
        <ConnectionBanner connection={state.connection} onRetry={() => client.reconnect()} />
        <Notices notices={state.notices} onDismiss={(id) => client.dismissNotice(id)} />
        <Conversation state={state} client={client} />
        <Composer state={state} client={client} />
      </main>
    </div>
  );
}
