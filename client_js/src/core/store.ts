export type Listener = () => void;

/** The smallest external store React's useSyncExternalStore (or anything else) can read. */
export class Store<S, A> {
  private state: S;
  private readonly listeners = new Set<Listener>();

  constructor(
    initial: S,
    private readonly reducer: (state: S, action: A) => S,
  ) {
    this.state = initial;
  }

  readonly getSnapshot = (): S => this.state;

  readonly subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  dispatch(action: A): void {
    const next = this.reducer(this.state, action);
    if (next === this.state) return;
    this.state = next;
    for (const listener of [...this.listeners]) listener();
  }
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Starts a resource with its first user and stops it a moment after its last one leaves.
 * The delay is what makes React StrictMode's mount, unmount, mount change nothing: the
 * second mount arrives before the stop would run, and cancels it.
 */
export class RefCount {
  private users = 0;
  private running = false;
  private pendingStop: unknown = null;

  constructor(
    private readonly start: () => void,
    private readonly stop: () => void,
    private readonly graceMs: number,
    private readonly timers: Timers = realTimers,
  ) {}

  get active(): boolean {
    return this.running;
  }

  get count(): number {
    return this.users;
  }

  /** Returns the release function; calling it more than once releases once. */
  acquire(): () => void {
    this.users += 1;
    if (this.pendingStop !== null) {
      this.timers.clearTimeout(this.pendingStop);
      this.pendingStop = null;
    }
    if (!this.running) {
      this.running = true;
      this.start();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.users -= 1;
      if (this.users === 0) this.pendingStop = this.timers.setTimeout(() => this.stopNow(), this.graceMs);
    };
  }

  private stopNow(): void {
    this.pendingStop = null;
    if (this.users > 0 || !this.running) return;
    this.running = false;
    this.stop();
  }
}
