import type { ThreadView } from "../generated/protocol";
import { relativeTime } from "./time";

interface Props {
  threads: readonly ThreadView[];
  loaded: boolean;
  openThreadId: string | null;
  user: string | null;
  onOpen: (threadId: string | null) => void;
}

export function ThreadList({ threads, loaded, openThreadId, user, onOpen }: Props) {
  return (
    <nav className="sidebar" aria-label="Threads">
      <div className="sidebar-head">
        <span className="brand">netra</span>
        <button className="button new-chat" data-testid="new-chat" onClick={() => onOpen(null)}>
          + New chat
        </button>
      </div>
      <ul className="thread-list">
        {threads.map((t) => (
          <li key={t.id}>
            <button
              className={`thread-item${t.id === openThreadId ? " active" : ""}`}
              data-testid="thread-item"
              data-thread-id={t.id}
              aria-current={t.id === openThreadId ? "page" : undefined}
              onClick={() => onOpen(t.id)}
            >
              <span className="thread-title">{t.title}</span>
              <span className="thread-time">{relativeTime(t.updated_at)}</span>
            </button>
          </li>
        ))}
      </ul>
      {loaded && threads.length === 0 ? <p className="sidebar-empty">No chats yet.</p> : null}
      {user ? <div className="sidebar-user">Signed in as {user}</div> : null}
    </nav>
  );
}
