import type { StreamEvent } from "./state";

/**
 * The last user-stream events received. History answers are snapshots taken while runs
 * stream on; the events kept here are re-applied over each one so nothing falls in between.
 */
export class RecentEvents {
  private events: StreamEvent[] = [];

  constructor(private readonly capacity: number) {}

  push(event: StreamEvent): void {
    this.events.push(event);
    // Trim in batches so a long stream does not shift the array on every delta.
    if (this.events.length > this.capacity * 1.25) this.events = this.events.slice(-this.capacity);
  }

  all(): readonly StreamEvent[] {
    return this.events.slice(-this.capacity);
  }

  clear(): void {
    this.events = [];
  }
}
