import { describe, expect, it } from "vitest";
import { reduce } from "../src/core/reducer";
import { conversationTurns, openThreadMessages } from "../src/core/selectors";
import type { ChatState, StreamEvent } from "../src/core/state";
import { completed, historyMessage, runStarted, state, userMessage } from "./fixtures";

const live = (s: ChatState, events: readonly StreamEvent[]) => events.reduce((acc, event) => reduce(acc, { type: "event", event }), s);
const ids = (s: ChatState) => conversationTurns(openThreadMessages(s)).map((t) => t.versions.map((m) => m.id));

describe("answer versions", () => {
  it("groups answers to the same user message, oldest first, at the place of the first", () => {
    const s = live(state({ openThreadId: "t1", messages: { t1: [] } }), [
      userMessage(1, "u1", "t1", "tell me a story"),
      runStarted(2, "r1", "t1", "a1", "u1"),
      completed(3, "r1", "t1", "a1", "Once.", undefined, "u1"),
      // Regenerated: a new run answering u1 again.
      runStarted(4, "r2", "t1", "a2", "u1"),
      completed(5, "r2", "t1", "a2", "Twice.", undefined, "u1"),
    ]);
    expect(ids(s)).toEqual([["u1"], ["a1", "a2"]]);
  });

  it("groups the same way from history, with later turns after the group", () => {
    const s = reduce(state({ openThreadId: "t1" }), {
      type: "history",
      threadId: "t1",
      received: [],
      messages: [
        historyMessage({ id: "u1", role: "user", text: "q1", client_msg_id: "c1" }),
        historyMessage({ id: "a1", role: "assistant", text: "one", run_id: "r1", reply_to: "u1" }),
        historyMessage({ id: "a2", role: "assistant", text: "two", run_id: "r2", reply_to: "u1" }),
        historyMessage({ id: "a3", role: "assistant", text: "three", run_id: "r3", reply_to: "u1" }),
        historyMessage({ id: "u2", role: "user", text: "q2", client_msg_id: "c2" }),
        historyMessage({ id: "a4", role: "assistant", text: "four", run_id: "r4", reply_to: "u2" }),
      ],
    });
    expect(ids(s)).toEqual([["u1"], ["a1", "a2", "a3"], ["u2"], ["a4"]]);
  });

  it("keeps an answer without reply_to on its own", () => {
    const turns = conversationTurns(
      openThreadMessages(
        state({
          openThreadId: "t1",
          messages: {
            t1: [
              { id: "a1", threadId: "t1", role: "assistant", text: "x", parts: [], status: "complete", createdAt: "2026-01-01T00:00:00Z", clientMsgId: null, runId: "r1", replyTo: null, seq: null, error: null },
            ],
          },
        }),
      ),
    );
    expect(turns.map((t) => t.key)).toEqual(["a1"]);
  });
});
