import type { ChatReady, ResumePosition } from "../generated/protocol";
import { readJson, type KeyValueStorage } from "./storage";

export type SeqVerdict = "new" | "duplicate" | "gap";

export const RESUME_KEY = "netra.resume";

function isPosition(value: unknown): value is ResumePosition {
  const v = value as Partial<ResumePosition> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.epoch === "string" &&
    typeof v.last_seq === "number" &&
    Number.isInteger(v.last_seq) &&
    v.last_seq >= 0
  );
}

/**
 * Where this tab is in the user's event stream. Kept in sessionStorage (per tab, survives a
 * reload) and sent as `resume` on every /chat connect so the server replays only what is missing.
 */
export class ResumeTracker {
  private current: ResumePosition | null;

  constructor(
    private readonly storage: KeyValueStorage,
    private readonly key: string = RESUME_KEY,
  ) {
    this.current = readJson(storage, key, isPosition);
  }

  position(): ResumePosition | null {
    return this.current ? { ...this.current } : null;
  }

  /** What an event with this seq is to us, without recording it. */
  check(seq: number): SeqVerdict {
    if (this.current === null) return "new";
    if (seq <= this.current.last_seq) return "duplicate";
    return seq === this.current.last_seq + 1 ? "new" : "gap";
  }

  /** Records an event; duplicates (replays overlapping the live stream) are not recorded. */
  accept(seq: number): SeqVerdict {
    const verdict = this.check(seq);
    if (verdict !== "duplicate" && this.current !== null) {
      this.current = { epoch: this.current.epoch, last_seq: seq };
      this.save();
    }
    return verdict;
  }

  /** After chat:ready the stream is caught up to head_seq, whatever the recovery was. */
  ready(ready: ChatReady): void {
    this.current = { epoch: ready.epoch, last_seq: ready.head_seq };
    this.save();
  }

  clear(): void {
    this.current = null;
    this.storage.removeItem(this.key);
  }

  private save(): void {
    this.storage.setItem(this.key, JSON.stringify(this.current));
  }
}
