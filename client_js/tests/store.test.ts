import { describe, expect, it, vi } from "vitest";
import { RefCount, Store, type Timers } from "../src/core/store";

function manualTimers() {
  const due = new Map<number, () => void>();
  let next = 0;
  const timers: Timers = {
    setTimeout: (fn) => {
      next += 1;
      due.set(next, fn);
      return next;
    },
    clearTimeout: (handle) => void due.delete(handle as number),
  };
  const runAll = () => {
    for (const [id, fn] of [...due]) {
      due.delete(id);
      fn();
    }
  };
  return { timers, runAll, pending: () => due.size };
}

describe("Store", () => {
  it("notifies subscribers of changes only, until they unsubscribe", () => {
    const store = new Store(0, (s: number, add: number) => s + add);
    const listener = vi.fn();
    const unsubscribe = store.subscribe(listener);
    store.dispatch(1);
    store.dispatch(0);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.getSnapshot()).toBe(1);
    unsubscribe();
    store.dispatch(1);
    expect(listener).toHaveBeenCalledTimes(1);
  });
});

describe("RefCount", () => {
  it("starts with the first user and stops after the last one leaves", () => {
    const { timers, runAll } = manualTimers();
    const start = vi.fn();
    const stop = vi.fn();
    const life = new RefCount(start, stop, 0, timers);
    const a = life.acquire();
    const b = life.acquire();
    expect(start).toHaveBeenCalledTimes(1);
    a();
    a();
    runAll();
    expect(stop).not.toHaveBeenCalled();
    b();
    runAll();
    expect(stop).toHaveBeenCalledTimes(1);
    expect(life.active).toBe(false);
  });

  it("does nothing for StrictMode's mount, unmount, mount", () => {
    const { timers, runAll, pending } = manualTimers();
    const start = vi.fn();
    const stop = vi.fn();
    const life = new RefCount(start, stop, 0, timers);
    life.acquire()();
    expect(pending()).toBe(1);
    life.acquire();
    expect(pending()).toBe(0);
    runAll();
    expect(start).toHaveBeenCalledTimes(1);
    expect(stop).not.toHaveBeenCalled();
    expect(life.active).toBe(true);
  });

  it("starts again after a stop", () => {
    const { timers, runAll } = manualTimers();
    const start = vi.fn();
    const life = new RefCount(start, vi.fn(), 0, timers);
    life.acquire()();
    runAll();
    life.acquire();
    expect(start).toHaveBeenCalledTimes(2);
  });
});
