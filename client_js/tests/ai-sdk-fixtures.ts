/* User-stream events of one run for each kind of answer the demo agent gives, as the server sends them. */
import type { Part } from "../src/core/parts";
import type { StreamEvent } from "../src/core/state";
import { completed, delta, ev, runStarted } from "./fixtures";

export const RUN = "r1";
export const THREAD = "t1";
export const MESSAGE = "m1";

const start = (seq: number) => runStarted(seq, RUN, THREAD, MESSAGE);
const reasoning = (seq: number, text: string) => ev("agent:reasoning", seq, { run_id: RUN, text });
const toolCall = (seq: number, call: string, name: string, args: Record<string, string>) =>
  ev("agent:tool_call", seq, { run_id: RUN, call_id: call, name, args });
const toolResult = (seq: number, call: string, name: string, result: unknown, isError = false) =>
  ev("agent:tool_result", seq, { run_id: RUN, call_id: call, name, result: result as never, is_error: isError });

const calcParts: Part[] = [
  { type: "tool_call", call_id: "call_1", name: "calculator", args: { expression: "2+3" } },
  { type: "tool_result", call_id: "call_1", name: "calculator", result: 5, is_error: false },
  { type: "text", text: "2+3 = 5." },
];

export const calculator: StreamEvent[] = [
  start(1),
  toolCall(2, "call_1", "calculator", { expression: "2+3" }),
  toolResult(3, "call_1", "calculator", 5),
  delta(4, RUN, "2+3 "),
  delta(5, RUN, "= 5."),
  completed(6, RUN, THREAD, MESSAGE, "2+3 = 5.", calcParts),
];

export const thinking: StreamEvent[] = [
  start(1),
  reasoning(2, "Tides follow "),
  reasoning(3, "the moon."),
  delta(4, RUN, "Tides rise "),
  delta(5, RUN, "and fall."),
  completed(6, RUN, THREAD, MESSAGE, "Tides rise and fall.", [
    { type: "reasoning", text: "Tides follow the moon." },
    { type: "text", text: "Tides rise and fall." },
  ]),
];

const reminderArgs = { text: "water the plants" };

function approvalRun(decision: "approved" | "denied"): StreamEvent[] {
  const result =
    decision === "approved"
      ? toolResult(5, "call_2", "create_reminder", { reminder_id: "rem_1", text: "water the plants" })
      : toolResult(5, "call_2", "create_reminder", "The user declined.", true);
  const text = decision === "approved" ? "Reminder set." : "Not set.";
  return [
    start(1),
    toolCall(2, "call_2", "create_reminder", reminderArgs),
    ev("agent:approval_requested", 3, {
      run_id: RUN,
      call_id: "call_2",
      name: "create_reminder",
      args: reminderArgs,
      expires_at: "2026-01-01T00:05:00Z",
    }),
    ev("agent:approval_resolved", 4, { run_id: RUN, call_id: "call_2", decision, args: null }),
    result,
    delta(6, RUN, text),
    completed(7, RUN, THREAD, MESSAGE, text, [
      { type: "tool_call", call_id: "call_2", name: "create_reminder", args: reminderArgs },
      { type: "approval", call_id: "call_2", name: "create_reminder", args: reminderArgs, decision },
      decision === "denied"
        ? { type: "tool_result", call_id: "call_2", name: "create_reminder", result: "The user declined.", is_error: true }
        : {
            type: "tool_result",
            call_id: "call_2",
            name: "create_reminder",
            result: { reminder_id: "rem_1", text: "water the plants" },
            is_error: false,
          },
      { type: "text", text },
    ]),
  ];
}

export const approved = approvalRun("approved");
export const denied = approvalRun("denied");

export const failed: StreamEvent[] = [
  start(1),
  delta(2, RUN, "Partly "),
  ev("agent:run_failed", 3, {
    run_id: RUN,
    error: { code: "model_error", message: "The model is unavailable" },
    message: {
      id: MESSAGE,
      thread_id: THREAD,
      role: "assistant",
      text: "Partly ",
      parts: [{ type: "text", text: "Partly " }],
      run_id: RUN,
      reply_to: "u1",
      created_at: "2026-01-01T00:00:03Z",
    },
  }),
];

export const stopped: StreamEvent[] = [
  start(1),
  delta(2, RUN, "1 "),
  delta(3, RUN, "2 "),
  ev("agent:run_stopped", 4, {
    run_id: RUN,
    message: {
      id: MESSAGE,
      thread_id: THREAD,
      role: "assistant",
      text: "1 2 ",
      parts: [{ type: "text", text: "1 2 " }],
      run_id: RUN,
      reply_to: "u1",
      created_at: "2026-01-01T00:00:04Z",
    },
  }),
];
