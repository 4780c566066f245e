import { readUIMessageStream, type UIMessage, type UIMessageChunk } from "ai";
import { describe, expect, it } from "vitest";
import { RunChunks, parseApprovalId, type ChunkOptions } from "../src/ai-sdk/chunks";
import { toUIMessages } from "../src/ai-sdk/messages";
import type { StreamEvent } from "../src/core/state";
import { MESSAGE, RUN, THREAD, approved, calculator, denied, failed, stopped, thinking } from "./ai-sdk-fixtures";
import { delta, ev, historyMessage } from "./fixtures";

function chunksOf(events: readonly StreamEvent[], options: ChunkOptions = {}): UIMessageChunk[] {
  const run = new RunChunks(RUN, options);
  return events.flatMap((e) => run.accept(e).chunks);
}

/** The message the AI SDK builds from the chunks, as useChat would show it. */
async function built(chunks: readonly UIMessageChunk[]): Promise<UIMessage> {
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const chunk of chunks) if (chunk.type !== "error") controller.enqueue(chunk);
      controller.close();
    },
  });
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream({ stream })) last = structuredClone(message);
  if (!last) throw new Error("no message");
  return last;
}

const start = { type: "start", messageId: MESSAGE, messageMetadata: { runId: RUN, threadId: THREAD } };

describe("run events as UI message chunks", () => {
  it("calculator: the tool's input and output, then the text; the message id is ours", async () => {
    const chunks = chunksOf(calculator);
    expect(chunks).toEqual([
      start,
      { type: "tool-input-available", toolCallId: "call_1", toolName: "calculator", input: { expression: "2+3" }, dynamic: true },
      { type: "tool-output-available", toolCallId: "call_1", output: 5, dynamic: true },
      { type: "text-start", id: "text-2" },
      { type: "text-delta", id: "text-2", delta: "2+3 " },
      { type: "text-delta", id: "text-2", delta: "= 5." },
      { type: "text-end", id: "text-2" },
      { type: "finish", finishReason: "stop" },
    ]);
    const message = await built(chunks);
    expect(message.id).toBe(MESSAGE);
    expect(message.parts).toMatchObject([
      { type: "dynamic-tool", toolName: "calculator", state: "output-available", input: { expression: "2+3" }, output: 5 },
      { type: "text", text: "2+3 = 5.", state: "done" },
    ]);
  });

  it("a tool the app declares is a typed tool part", async () => {
    const message = await built(chunksOf(calculator, { staticTools: ["calculator"] }));
    expect(message.parts[0]).toMatchObject({ type: "tool-calculator", state: "output-available", output: 5 });
  });

  it("reasoning streams as its own part before the text", async () => {
    const chunks = chunksOf(thinking);
    expect(chunks.slice(1, 5)).toEqual([
      { type: "reasoning-start", id: "reasoning-0" },
      { type: "reasoning-delta", id: "reasoning-0", delta: "Tides follow " },
      { type: "reasoning-delta", id: "reasoning-0", delta: "the moon." },
      { type: "reasoning-end", id: "reasoning-0" },
    ]);
    expect((await built(chunks)).parts).toMatchObject([
      { type: "reasoning", text: "Tides follow the moon.", state: "done" },
      { type: "text", text: "Tides rise and fall.", state: "done" },
    ]);
  });

  it("approval: the SDK's approval request and response, then the tool's output", async () => {
    const chunks = chunksOf(approved);
    const approvalId = `${RUN}:call_2`;
    expect(chunks.slice(1, 5)).toEqual([
      {
        type: "tool-input-available",
        toolCallId: "call_2",
        toolName: "create_reminder",
        input: { text: "water the plants" },
        dynamic: true,
      },
      { type: "tool-approval-request", approvalId, toolCallId: "call_2" },
      { type: "tool-approval-response", approvalId, approved: true },
      {
        type: "tool-output-available",
        toolCallId: "call_2",
        output: { reminder_id: "rem_1", text: "water the plants" },
        dynamic: true,
      },
    ]);
    expect(parseApprovalId(approvalId)).toEqual({ runId: RUN, callId: "call_2" });
    // While it waits, the part is the SDK's approval-requested, with the id approve() takes.
    const waiting = await built(chunksOf(approved.slice(0, 3)));
    expect(waiting.parts[0]).toMatchObject({ state: "approval-requested", approval: { id: approvalId } });
    expect((await built(chunks)).parts[0]).toMatchObject({
      state: "output-available",
      approval: { id: approvalId, approved: true },
      output: { reminder_id: "rem_1" },
    });
  });

  it("a denied approval is output-denied, without the refusal's error result", async () => {
    const chunks = chunksOf(denied);
    expect(chunks.map((c) => c.type)).toEqual([
      "start",
      "tool-input-available",
      "tool-approval-request",
      "tool-approval-response",
      "tool-output-denied",
      "text-start",
      "text-delta",
      "text-end",
      "finish",
    ]);
    expect((await built(chunks)).parts[0]).toMatchObject({ state: "output-denied", approval: { approved: false } });
  });

  it("a failed run closes its text and ends with the error", () => {
    expect(chunksOf(failed).slice(1)).toEqual([
      { type: "text-start", id: "text-0" },
      { type: "text-delta", id: "text-0", delta: "Partly " },
      { type: "text-end", id: "text-0" },
      { type: "error", errorText: "The model is unavailable" },
    ]);
  });

  it("a stopped run keeps what streamed and ends with abort", async () => {
    const chunks = chunksOf(stopped);
    expect(chunks.slice(-2)).toEqual([
      { type: "text-end", id: "text-0" },
      { type: "abort", reason: "stopped" },
    ]);
    expect((await built(chunks)).parts).toMatchObject([{ type: "text", text: "1 2 " }]);
  });

  it("the run's end says it is done; events of other runs and after the end are ignored", () => {
    const run = new RunChunks(RUN);
    expect(run.accept(delta(1, "other", "x")).chunks).toEqual([]);
    const steps = calculator.map((e) => run.accept(e));
    expect(steps.map((s) => s.done)).toEqual([false, false, false, false, false, true]);
    expect(run.accept(delta(7, RUN, "late")).chunks).toEqual([]);
  });

  it("text the final message has and the events missed is added, never doubled", async () => {
    const events = [calculator[0]!, calculator[1]!, calculator[2]!, calculator[3]!, calculator[5]!];
    expect((await built(chunksOf(events))).parts[1]).toMatchObject({ type: "text", text: "2+3 = 5." });
  });
});

describe("resuming from history", () => {
  it("the parts so far, then only the events after the snapshot's seq: nothing doubled, nothing lost", async () => {
    const run = new RunChunks(RUN);
    const seeded = run.seed({ messageId: MESSAGE, threadId: THREAD, parts: [{ type: "text", text: "1 2 3 " }], seq: 4, status: "streaming" });
    expect(seeded.done).toBe(false);
    const live = [
      delta(3, RUN, "3 "), // already in the snapshot
      delta(4, RUN, "? "), // already in the snapshot
      delta(5, RUN, "4 "),
      delta(6, RUN, "5"),
      ev("agent:run_completed", 7, {
        run_id: RUN,
        usage: null,
        message: {
          id: MESSAGE,
          thread_id: THREAD,
          role: "assistant",
          text: "1 2 3 4 5",
          parts: [{ type: "text", text: "1 2 3 4 5" }],
          run_id: RUN,
          reply_to: "u1",
          created_at: "2026-01-01T00:00:07Z",
        },
      }),
    ];
    const chunks = [...seeded.chunks, ...live.flatMap((e) => run.accept(e).chunks)];
    expect(chunks[0]).toEqual(start);
    const message = await built(chunks);
    expect(message.parts).toEqual([{ type: "text", text: "1 2 3 4 5", state: "done" }]);
  });

  it("history becomes UI messages: the newest version of each answer, built like a live one", async () => {
    const messages = await toUIMessages([
      historyMessage({ id: "u1", role: "user", text: "calculate 2+3", client_msg_id: "c1" }),
      historyMessage({ id: "a1", role: "assistant", run_id: "r0", reply_to: "u1", parts: [{ type: "text", text: "old" }] }),
      historyMessage({
        id: "a2",
        role: "assistant",
        run_id: RUN,
        reply_to: "u1",
        parts: [
          { type: "tool_call", call_id: "call_1", name: "calculator", args: { expression: "2+3" } },
          { type: "tool_result", call_id: "call_1", name: "calculator", result: 5, is_error: false },
          { type: "text", text: "5" },
        ],
      }),
    ]);
    expect(messages.map((m) => [m.id, m.role])).toEqual([
      ["u1", "user"],
      ["a2", "assistant"],
    ]);
    expect(messages[1]?.metadata).toEqual({ threadId: "t1", runId: RUN });
    expect(messages[1]?.parts).toMatchObject([
      { type: "dynamic-tool", state: "output-available", output: 5 },
      { type: "text", text: "5", state: "done" },
    ]);
  });
});
