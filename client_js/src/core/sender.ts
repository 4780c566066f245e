import { retryDelay } from "./config";
import type { Link } from "./connection";
import type { Action } from "./reducer";
import type { ChatState } from "./state";
import type { Timers } from "./store";

export interface SenderDeps {
  /** The link while /chat is ready to take messages, else null. */
  readyLink(): Link | null;
  state(): ChatState;
  dispatch(action: Action): void;
  timers: Timers;
  now(): number;
  /** How long a message may wait for the connection before it is marked failed. */
  outboxLimitMs: number;
}

/**
 * Sends the outbox one message at a time, in order, while connected. A send without an
 * answer may or may not have reached the server, so it is retried under the same
 * client_msg_id: the server answers a repeat with the first result and starts nothing.
 */
export class Sender {
  private pumping = false;
  private failures = 0;

  constructor(private readonly deps: SenderDeps) {}

  /** chat:ready: whatever waited for the connection goes now. */
  connected(): void {
    this.failures = 0;
    void this.pump();
  }

  async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const link = this.deps.readyLink();
        const item = this.deps.state().outbox.find((o) => o.delivery === "queued");
        if (!link || !item) return;
        const { clientMsgId } = item;
        this.deps.dispatch({ type: "delivery", clientMsgId, delivery: "sending" });
        // Read again: a message queued in a new chat may have joined the first one's thread.
        const threadId = this.deps.state().outbox.find((o) => o.clientMsgId === clientMsgId)?.threadId;
        try {
          const ack = await link.chat.request("chat:send", {
            client_msg_id: clientMsgId,
            text: item.text,
            source: item.source,
            ...(threadId ? { thread_id: threadId } : {}),
          });
          this.failures = 0;
          if (ack.ok) this.deps.dispatch({ type: "sent", clientMsgId, result: ack.data });
          else this.deps.dispatch({ type: "delivery", clientMsgId, delivery: "failed", error: ack.error });
        } catch {
          this.deps.dispatch({ type: "delivery", clientMsgId, delivery: "queued" });
          this.deps.dispatch({ type: "expire", now: this.deps.now(), limitMs: this.deps.outboxLimitMs });
          const delay = retryDelay(link.config, this.failures++);
          await new Promise<void>((resolve) => this.deps.timers.setTimeout(resolve, delay));
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}
