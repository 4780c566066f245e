import { describe, expect, it } from "vitest";
import { mergeHistory } from "../src/core/history";
import { foldParts, isPartEvent, partViews, type Part, type PartEvent } from "../src/core/parts";
import { reduce } from "../src/core/reducer";
import type { ChatState, StreamEvent } from "../src/core/state";
import { completed, delta, ev, historyMessage, runStarted, state, userMessage } from "./fixtures";

const live = (s: ChatState, events: readonly StreamEvent[]) => events.reduce((acc, event) => reduce(acc, { type: "event", event }), s);
const answer = (s: ChatState) => s.messages.t1?.find((m) => m.id === "a1");
const loaded = () => state({ openThreadId: "t1", messages: { t1: [] } });

// A run that thinks, asks to run a tool, gets approval, uses the result and answers.
const run: StreamEvent[] = [
  userMessage(1, "u1", "t1", "remind me to water the plants"),
  runStarted(2, "r1", "t1", "a1"),
  ev("agent:reasoning", 3, { run_id: "r1", text: "The user wants " }),
  ev("agent:reasoning", 4, { run_id: "r1", text: "a reminder." }),
  delta(5, "r1", "Setting "),
  delta(6, "r1", "it up."),
  ev("agent:tool_call", 7, { run_id: "r1", call_id: "k1", name: "create_reminder", args: { text: "water the plants" } }),
  ev("agent:approval_requested", 8, {
    run_id: "r1",
    call_id: "k1",
    name: "create_reminder",
    args: { text: "water the plants" },
    expires_at: "2026-01-01T00:05:00Z",
  }),
  ev("agent:approval_resolved", 9, { run_id: "r1", call_id: "k1", decision: "approved", args: null }),
  ev("agent:tool_result", 10, {
    run_id: "r1",
    call_id: "k1",
    name: "create_reminder",
    result: { reminder_id: "rem-1", text: "water the plants" },
    is_error: false,
  }),
  delta(11, "r1", "Done: "),
  delta(12, "r1", "it is set."),
];

// What the server stores and sends for that run: the parts in the order they streamed.
const stored: Part[] = [
  { type: "reasoning", text: "The user wants a reminder." },
  { type: "text", text: "Setting it up." },
  { type: "tool_call", call_id: "k1", name: "create_reminder", args: { text: "water the plants" } },
  { type: "approval", call_id: "k1", name: "create_reminder", args: { text: "water the plants" }, decision: "approved" },
  { type: "tool_result", call_id: "k1", name: "create_reminder", result: { reminder_id: "rem-1", text: "water the plants" }, is_error: false },
  { type: "text", text: "Done: it is set." },
];

const partEvents = (events: readonly StreamEvent[]) => events.filter((e): e is PartEvent => isPartEvent(e));

describe("parts: one model from stream to screen", () => {
  it("folds live events into the parts history stores", () => {
    expect(foldParts(partEvents(run))).toEqual(stored);
    const s = live(loaded(), run);
    expect(answer(s)).toMatchObject({ status: "streaming", parts: stored, text: "Setting it up.Done: it is set.", seq: 12 });
  });

  it("shows the same parts live, from history, and after a reload in the middle of the run", () => {
    const liveState = live(loaded(), run);
    const fromHistory = mergeHistory(state({ openThreadId: "t1" }), "t1", [
      historyMessage({ id: "u1", role: "user", text: "remind me to water the plants", client_msg_id: "c-u1" }),
      historyMessage({ id: "a1", role: "assistant", text: "Setting it up.Done: it is set.", parts: stored, status: "streaming", run_id: "r1", reply_to: "u1", seq: 12 }),
    ], []);
    expect(answer(fromHistory)?.parts).toEqual(answer(liveState)?.parts);
    // Reloaded at seq 8 (approval pending), then the rest of the run arrives (with some repeats).
    const at8 = foldParts(partEvents(run.slice(0, 8)));
    expect(at8.at(-1)).toMatchObject({ type: "approval", decision: "pending" });
    const resumed = mergeHistory(
      state({ openThreadId: "t1" }),
      "t1",
      [historyMessage({ id: "a1", role: "assistant", text: "Setting it up.", parts: [...at8], status: "streaming", run_id: "r1", reply_to: "u1", seq: 8 })],
      run.slice(5),
    );
    expect(answer(resumed)?.parts).toEqual(stored);
  });

  it("takes the final message's parts on completion, and they render alike live or loaded", () => {
    const s = live(loaded(), [...run, completed(13, "r1", "t1", "a1", "Setting it up.Done: it is set.", stored)]);
    expect(answer(s)).toMatchObject({ status: "complete", parts: stored });
    expect(partViews(answer(s)?.parts ?? [], false)).toEqual(partViews(stored, false));
  });

  it("keeps the partial answer a stopped run sends", () => {
    const partial: Part[] = [{ type: "text", text: "Setting it up." }];
    const stopped = ev("agent:run_stopped", 7, {
      run_id: "r1",
      message: { id: "a1", thread_id: "t1", role: "assistant", text: "Setting it up.", parts: partial, run_id: "r1", reply_to: "u1", created_at: "2026-01-01T00:00:02Z" },
    });
    const s = live(loaded(), [...run.slice(0, 6), stopped]);
    expect(answer(s)).toMatchObject({ status: "stopped", parts: partial });
  });

  it("joins deltas of a kind, and starts a new part when the kind changes", () => {
    const parts = foldParts(partEvents([delta(1, "r", "a"), delta(2, "r", "b"), ev("agent:reasoning", 3, { run_id: "r", text: "hm" }), delta(4, "r", "c")]));
    expect(parts).toEqual([
      { type: "text", text: "ab" },
      { type: "reasoning", text: "hm" },
      { type: "text", text: "c" },
    ]);
  });

  it("takes edited arguments from the resolution", () => {
    const parts = foldParts(
      partEvents([
        ev("agent:approval_requested", 1, { run_id: "r", call_id: "k", name: "create_reminder", args: { text: "x" }, expires_at: "2026-01-01T00:05:00Z" }),
        ev("agent:approval_resolved", 2, { run_id: "r", call_id: "k", decision: "approved", args: { text: "y" } }),
      ]),
    );
    expect(parts).toEqual([{ type: "approval", call_id: "k", name: "create_reminder", args: { text: "y" }, decision: "approved" }]);
  });
});

describe("partViews: what a tool call block shows", () => {
  const call: Part = { type: "tool_call", call_id: "k", name: "calculator", args: { expression: "2+3" } };
  const result = (is_error: boolean): Part => ({ type: "tool_result", call_id: "k", name: "calculator", result: is_error ? "boom" : 5, is_error });
  const approval = (decision: "pending" | "approved" | "denied" | "expired"): Part => ({
    type: "approval",
    call_id: "k",
    name: "calculator",
    args: { expression: "2+3" },
    decision,
  });
  const stateOf = (parts: Part[], streaming = true) => {
    const view = partViews(parts, streaming).find((v) => v.kind === "tool");
    return view?.kind === "tool" ? view.state : null;
  };

  it("makes one block of a call, its approval and its result, where the call was", () => {
    const views = partViews([{ type: "text", text: "a" }, call, approval("approved"), result(false), { type: "text", text: "b" }], false);
    expect(views.map((v) => v.kind)).toEqual(["text", "tool", "text"]);
    expect(views[1]).toMatchObject({ name: "calculator", args: { expression: "2+3" }, state: "done", approval: "approved" });
  });

  it("names each state of the contract", () => {
    expect(stateOf([call])).toBe("running");
    expect(stateOf([call, result(false)])).toBe("done");
    expect(stateOf([call, result(true)])).toBe("error");
    expect(stateOf([call, approval("pending")])).toBe("awaiting_approval");
    expect(stateOf([call, approval("denied"), result(true)])).toBe("denied");
    expect(stateOf([call, approval("expired"), result(true)])).toBe("denied");
    // The answer ended before the tool did.
    expect(stateOf([call], false)).toBe("error");
  });
});
