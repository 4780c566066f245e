import { describe, expect, it } from "vitest";
import { RESUME_KEY, ResumeTracker } from "../src/core/resume";
import { memoryStorage } from "../src/core/storage";

describe("resume bookkeeping", () => {
  it("survives a reload through sessionStorage", () => {
    const storage = memoryStorage();
    const tab = new ResumeTracker(storage);
    expect(tab.position()).toBeNull();
    tab.ready({ epoch: "e1", head_seq: 4, recovery: "fresh", replayed: 0 });
    tab.accept(5);
    tab.accept(6);
    expect(JSON.parse(storage.getItem(RESUME_KEY) ?? "null")).toEqual({ epoch: "e1", last_seq: 6 });
    expect(new ResumeTracker(storage).position()).toEqual({ epoch: "e1", last_seq: 6 });
  });

  it("calls an event seen before a duplicate and does not move back", () => {
    const tab = new ResumeTracker(memoryStorage());
    tab.ready({ epoch: "e1", head_seq: 10, recovery: "fresh", replayed: 0 });
    expect(tab.accept(11)).toBe("new");
    expect(tab.accept(11)).toBe("duplicate");
    expect(tab.accept(3)).toBe("duplicate");
    expect(tab.position()?.last_seq).toBe(11);
  });

  it("reports a gap but still records the event", () => {
    const tab = new ResumeTracker(memoryStorage());
    tab.ready({ epoch: "e1", head_seq: 1, recovery: "fresh", replayed: 0 });
    expect(tab.accept(5)).toBe("gap");
    expect(tab.position()?.last_seq).toBe(5);
  });

  it("takes the new epoch and head on a reset", () => {
    const storage = memoryStorage();
    const tab = new ResumeTracker(storage);
    tab.ready({ epoch: "old", head_seq: 900, recovery: "fresh", replayed: 0 });
    tab.ready({ epoch: "new", head_seq: 2, recovery: "reset", replayed: 0 });
    expect(tab.position()).toEqual({ epoch: "new", last_seq: 2 });
    expect(tab.accept(3)).toBe("new");
  });

  it("ignores a stored value it cannot read", () => {
    const storage = memoryStorage();
    storage.setItem(RESUME_KEY, '{"epoch": 3}');
    expect(new ResumeTracker(storage).position()).toBeNull();
    storage.setItem(RESUME_KEY, "not json");
    expect(new ResumeTracker(storage).position()).toBeNull();
  });
});
