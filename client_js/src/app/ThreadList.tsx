import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import type { ChatClient, ChatState } from "../core";
import type { ThreadView } from "../generated/protocol";
import { relativeTime } from "./time";

const SEARCH_DEBOUNCE_MS = 250;

interface ItemProps {
  thread: ThreadView;
  active: boolean;
  /** The server manages threads (rename, delete): the item offers it. */
  manage: boolean;
  onOpen: (threadId: string) => void;
  client: ChatClient;
}

function ThreadItem({ thread, active, manage, onOpen, client }: ItemProps) {
  const [mode, setMode] = useState<"view" | "rename" | "confirm-delete">("view");
  const [title, setTitle] = useState(thread.title);
  const [busy, setBusy] = useState(false);
  // Enter saves, and so does the blur that follows: one request, not two.
  const saving = useRef(false);

  const startRename = () => {
    setTitle(thread.title);
    setMode("rename");
  };
  const saveRename = async () => {
    const next = title.trim();
    if (saving.current) return;
    if (!next || next === thread.title) return setMode("view");
    saving.current = true;
    setBusy(true);
    const done = await client.renameThread(thread.id, next);
    saving.current = false;
    setBusy(false);
    if (done) setMode("view");
  };
  const onRenameKey = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "Enter") {
      event.preventDefault();
      void saveRename();
    } else if (event.key === "Escape") {
      setMode("view");
    }
  };
  const confirmDelete = async () => {
    setBusy(true);
    // On success the thread leaves the list, and this item with it.
    if (!(await client.deleteThread(thread.id))) {
      setBusy(false);
      setMode("view");
    }
  };

  if (mode === "rename") {
    return (
      <li className="thread-row renaming">
        <input
          className="thread-rename-input"
          data-testid="thread-rename-input"
          aria-label="Chat title"
          value={title}
          maxLength={200}
          autoFocus
          disabled={busy}
          onChange={(e) => setTitle(e.target.value)}
          onKeyDown={onRenameKey}
          onBlur={() => void saveRename()}
        />
      </li>
    );
  }
  return (
    <li className={`thread-row${active ? " active" : ""}`}>
      <button
        className={`thread-item${active ? " active" : ""}`}
        data-testid="thread-item"
        data-thread-id={thread.id}
        aria-current={active ? "page" : undefined}
        onClick={() => onOpen(thread.id)}
      >
        <span className="thread-title">{thread.title}</span>
        <span className="thread-time">{relativeTime(thread.updated_at)}</span>
      </button>
      {mode === "confirm-delete" ? (
        <div className="thread-confirm" role="alertdialog" aria-label={`Delete “${thread.title}”?`}>
          <span>Delete this chat?</span>
          <button
            type="button"
            className="button button-small button-danger"
            data-testid="thread-delete-confirm"
            disabled={busy}
            onClick={() => void confirmDelete()}
          >
            Delete
          </button>
          <button type="button" className="button button-small" data-testid="thread-delete-cancel" onClick={() => setMode("view")}>
            Cancel
          </button>
        </div>
      ) : manage ? (
        <div className="thread-actions">
          <button type="button" className="icon-button" data-testid="thread-rename" aria-label="Rename" title="Rename" onClick={startRename}>
            ✎
          </button>
          <button
            type="button"
            className="icon-button"
            data-testid="thread-delete"
            aria-label="Delete"
            title="Delete"
            onClick={() => setMode("confirm-delete")}
          >
            <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
              <path
                d="M3 4h10M6.5 4V2.5h3V4M4.5 4l.7 9.5h5.6l.7-9.5M7 6.5v5M9 6.5v5"
                fill="none"
                stroke="currentColor"
                strokeWidth="1.3"
                strokeLinecap="round"
                strokeLinejoin="round"
              />
            </svg>
          </button>
        </div>
      ) : null}
    </li>
  );
}

interface Props {
  state: ChatState;
  client: ChatClient;
  onOpen: (threadId: string | null) => void;
}

export function ThreadList({ state, client, onOpen }: Props) {
  const [query, setQuery] = useState("");
  const first = useRef(true);
  useEffect(() => {
    // Nothing to search for on mount; after that every change is looked up, debounced.
    if (first.current) {
      first.current = false;
      return;
    }
    const timer = setTimeout(() => void client.searchThreads(query), query.trim() ? SEARCH_DEBOUNCE_MS : 0);
    return () => clearTimeout(timer);
  }, [query, client]);

  // Search, rename and delete, where the server says it serves them.
  const manage = state.features.includes("threads");
  const search = state.threadSearch;
  const threads = search ? search.results : state.threads;
  const more = search ? search.nextBefore !== null : state.threadsNextBefore !== null;
  const user = state.hello?.principal.display_name ?? null;
  return (
    <nav className="sidebar" aria-label="Threads">
      <div className="sidebar-head">
        <span className="brand">netra</span>
        <button className="button new-chat" data-testid="new-chat" onClick={() => onOpen(null)}>
          + New chat
        </button>
      </div>
      {manage ? (
        <div className="thread-search">
          <input
            type="search"
            data-testid="thread-search"
            aria-label="Search chats"
            placeholder="Search chats"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </div>
      ) : null}
      <ul className="thread-list">
        {threads.map((t) => (
          <ThreadItem
            key={t.id}
            thread={t}
            active={t.id === state.openThreadId}
            manage={manage}
            onOpen={onOpen}
            client={client}
          />
        ))}
      </ul>
      {more ? (
        <button
          type="button"
          className="button button-small threads-more"
          data-testid="threads-load-more"
          disabled={search?.loading ?? false}
          onClick={() => void client.loadMoreThreads()}
        >
          Load more
        </button>
      ) : null}
      {search && !search.loading && threads.length === 0 ? (
        <p className="sidebar-empty" data-testid="thread-search-empty">
          No chats match “{search.query}”.
        </p>
      ) : null}
      {search?.loading && threads.length === 0 ? <p className="sidebar-empty">Searching…</p> : null}
      {!search && state.threadsLoaded && threads.length === 0 ? <p className="sidebar-empty">No chats yet.</p> : null}
      {user ? <div className="sidebar-user">Signed in as {user}</div> : null}
    </nav>
  );
}
