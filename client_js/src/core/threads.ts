import type { ThreadView } from "../generated/protocol";

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
