import type { ThreadView } from "../generated/protocol";
import type { ChatState } from "./state";

const TITLE_MAX = 60;

/** A thread we learn about from its first message gets the title the server gives it from that. */
export function provisionalTitle(text: string): string {
  const line = (text.trim().split(/\r\n|\n|\r/)[0] ?? "").trim().split(/\s+/).join(" ");
  if (!line) return "New chat";
  return line.length > TITLE_MAX ? `${line.slice(0, TITLE_MAX - 1).trimEnd()}…` : line;
}

export function sortThreads(threads: readonly ThreadView[]): ThreadView[] {
  return [...threads].sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at));
}

/** Activity in a thread: it moves to the top; an unknown thread is added. */
export function touchThread(threads: readonly ThreadView[], id: string, at: string, text: string): readonly ThreadView[] {
  const known = threads.find((t) => t.id === id);
  if (known) {
    if (Date.parse(known.updated_at) >= Date.parse(at)) return threads;
    return sortThreads(threads.map((t) => (t.id === id ? { ...t, updated_at: at } : t)));
  }
  return sortThreads([{ id, title: provisionalTitle(text), created_at: at, updated_at: at }, ...threads]);
}

function upsertInto(threads: readonly ThreadView[], thread: ThreadView, addMissing: boolean): readonly ThreadView[] {
  if (!threads.some((t) => t.id === thread.id)) return addMissing ? sortThreads([thread, ...threads]) : threads;
  return sortThreads(threads.map((t) => (t.id === thread.id ? thread : t)));
}

/** A renamed or updated thread (chat:thread_updated, or the rename's ack), in every list it is in. */
export function upsertThread(state: ChatState, thread: ThreadView): ChatState {
  const search = state.threadSearch;
  return {
    ...state,
    threads: upsertInto(state.threads, thread, true),
    threadSearch: search ? { ...search, results: upsertInto(search.results, thread, false) } : null,
  };
}

/** A deleted thread leaves every list; when it was open, the new-chat view shows instead. */
export function removeThread(state: ChatState, threadId: string): ChatState {
  const search = state.threadSearch;
  const { [threadId]: _messages, ...messages } = state.messages;
  const { [threadId]: _loading, ...loadingHistory } = state.loadingHistory;
  const { [threadId]: _older, ...hasOlder } = state.hasOlder;
  return {
    ...state,
    threads: state.threads.filter((t) => t.id !== threadId),
    threadSearch: search ? { ...search, results: search.results.filter((t) => t.id !== threadId) } : null,
    messages,
    loadingHistory,
    hasOlder,
    outbox: state.outbox.filter((o) => o.threadId !== threadId),
    openThreadId: state.openThreadId === threadId ? null : state.openThreadId,
  };
}
