import type { UIMessageChunk } from "ai";
import type { ApprovalPart } from "../generated/protocol";
import { foldPart, isPartEvent, type Part } from "../core/parts";
import type { StreamEvent } from "../core/state";

/** What the transport puts in `message.metadata` of each assistant UI message. */
export interface NetraMessageMetadata {
  threadId?: string;
  runId?: string;
  usage?: { input_tokens: number; output_tokens: number; total_tokens: number } | null;
}

export interface ChunkOptions {
  /** Tools the app's UIMessage type declares: their parts are `tool-<name>`; others are `dynamic-tool`. */
  staticTools?: readonly string[];
}

/**
 * The approval id of a tool call waiting for the user: run and call, so an answer needs
 * nothing else to reach the server.
 */
export function approvalId(runId: string, callId: string): string {
  return `${runId}:${callId}`;
}

export function parseApprovalId(id: string): { runId: string; callId: string } | null {
  const at = id.indexOf(":");
  if (at <= 0 || at === id.length - 1) return null;
  return { runId: id.slice(0, at), callId: id.slice(at + 1) };
}

type Flow = "text" | "reasoning";

/**
 * Turns an assistant message's parts, as they grow, into the UI message chunks that build the
 * same message in the AI SDK. Each call gets the whole list and answers only what is new since
 * the last one, so live events, a history snapshot and a run's final message all go through
 * the same path and nothing is said twice.
 */
export class PartsToChunks {
  private emitted: readonly Part[] = [];
  private open: { flow: Flow; id: string; index: number } | null = null;
  private readonly announced = new Set<string>();
  private readonly staticTools: ReadonlySet<string>;

  constructor(
    private readonly runId: string,
    options: ChunkOptions = {},
  ) {
    this.staticTools = new Set(options.staticTools ?? []);
  }

  get parts(): readonly Part[] {
    return this.emitted;
  }

  update(parts: readonly Part[]): UIMessageChunk[] {
    const out: UIMessageChunk[] = [];
    parts.forEach((next, index) => {
      const prev = this.emitted[index];
      if (prev === undefined) this.added(out, next, index, parts);
      else this.changed(out, prev, next, index);
    });
    this.emitted = parts;
    return out;
  }

  /** Ends the text or reasoning part still open (before finish, abort or error). */
  close(): UIMessageChunk[] {
    const out: UIMessageChunk[] = [];
    this.closeOpen(out);
    return out;
  }

  private closeOpen(out: UIMessageChunk[]): void {
    if (!this.open) return;
    out.push({ type: this.open.flow === "text" ? "text-end" : "reasoning-end", id: this.open.id });
    this.open = null;
  }

  private added(out: UIMessageChunk[], part: Part, index: number, all: readonly Part[]): void {
    this.closeOpen(out);
    switch (part.type) {
      case "text":
      case "reasoning": {
        const id = `${part.type}-${index}`;
        out.push({ type: part.type === "text" ? "text-start" : "reasoning-start", id });
        if (part.text) out.push(this.delta(part.type, id, part.text));
        this.open = { flow: part.type, id, index };
        return;
      }
      case "tool_call":
        // Already shown from its approval request, which carried the arguments.
        if (!this.announced.has(part.call_id)) this.announce(out, part.call_id, part.name, part.args);
        return;
      case "approval":
        if (!this.announced.has(part.call_id)) this.announce(out, part.call_id, part.name, part.args);
        out.push({ type: "tool-approval-request", approvalId: approvalId(this.runId, part.call_id), toolCallId: part.call_id });
        if (part.decision !== "pending") this.decided(out, part);
        return;
      case "tool_result": {
        if (!this.announced.has(part.call_id)) this.announce(out, part.call_id, part.name, {});
        // A denied or expired call already says so (output-denied); its error result adds nothing.
        const approval = all.find((p): p is ApprovalPart => p.type === "approval" && p.call_id === part.call_id);
        if (approval && (approval.decision === "denied" || approval.decision === "expired")) return;
        const dynamic = this.dynamic(part.name);
        out.push(
          part.is_error
            ? { type: "tool-output-error", toolCallId: part.call_id, errorText: errorText(part.result), dynamic }
            : { type: "tool-output-available", toolCallId: part.call_id, output: part.result, dynamic },
        );
        return;
      }
    }
  }

  private changed(out: UIMessageChunk[], prev: Part, next: Part, index: number): void {
    if ((prev.type === "text" || prev.type === "reasoning") && next.type === prev.type) {
      // A closed part cannot grow in the SDK, nor can text be taken back: only the open one extends.
      if (this.open?.index !== index || next.text.length <= prev.text.length || !next.text.startsWith(prev.text)) return;
      out.push(this.delta(next.type, this.open.id, next.text.slice(prev.text.length)));
      return;
    }
    if (prev.type === "approval" && next.type === "approval" && prev.call_id === next.call_id) {
      if (prev.decision === "pending" && next.decision !== "pending") this.decided(out, next);
    }
  }

  private decided(out: UIMessageChunk[], part: ApprovalPart): void {
    const approved = part.decision === "approved";
    out.push({
      type: "tool-approval-response",
      approvalId: approvalId(this.runId, part.call_id),
      approved,
      ...(part.decision === "expired" ? { reason: "expired" } : {}),
    });
    if (!approved) out.push({ type: "tool-output-denied", toolCallId: part.call_id });
  }

  private announce(out: UIMessageChunk[], callId: string, name: string, input: unknown): void {
    this.announced.add(callId);
    out.push({ type: "tool-input-available", toolCallId: callId, toolName: name, input, dynamic: this.dynamic(name) });
  }

  private dynamic(name: string): boolean {
    return !this.staticTools.has(name);
  }

  private delta(flow: Flow, id: string, delta: string): UIMessageChunk {
    return flow === "text" ? { type: "text-delta", id, delta } : { type: "reasoning-delta", id, delta };
  }
}

function errorText(result: unknown): string {
  if (typeof result === "string") return result;
  if (result && typeof result === "object" && typeof (result as { error?: unknown }).error === "string") {
    return (result as { error: string }).error;
  }
  return JSON.stringify(result);
}

/** A snapshot of a run's message: from history, or nothing yet. */
export interface RunSnapshot {
  messageId: string;
  threadId: string;
  parts: readonly Part[];
  /** The seq of the last event its parts include (null: unknown, take every later event). */
  seq: number | null;
  status: "streaming" | "complete" | "stopped" | "failed";
}

export interface RunStep {
  chunks: UIMessageChunk[];
  /** The run ended: these chunks are the last. */
  done: boolean;
}

/**
 * One run's user-stream events as UI message chunks: `start` (its message id), the parts, and
 * `finish`, `abort` or `error` at its end. Events of other runs, and events a snapshot already
 * holds (seq at or below the snapshot's), are ignored.
 */
export class RunChunks {
  private readonly parts: PartsToChunks;
  private started = false;
  private finished = false;
  private seq = 0;

  constructor(
    readonly runId: string,
    options: ChunkOptions = {},
  ) {
    this.parts = new PartsToChunks(runId, options);
  }

  get done(): boolean {
    return this.finished;
  }

  /** Starts from what history holds: the parts so far, and where the live events take over. */
  seed(snapshot: RunSnapshot): RunStep {
    return this.resync(snapshot);
  }

  /** After lost events: what history holds now, added to what was said (never taken back). */
  resync(snapshot: RunSnapshot): RunStep {
    if (this.finished) return { chunks: [], done: true };
    const chunks = this.started ? [] : this.start(snapshot.messageId, snapshot.threadId);
    chunks.push(...this.parts.update(snapshot.parts));
    this.seq = snapshot.seq ?? this.seq;
    if (snapshot.status === "streaming") return { chunks, done: false };
    chunks.push(...this.end(snapshot.status, null));
    return { chunks, done: true };
  }

  accept(event: StreamEvent): RunStep {
    const none = { chunks: [], done: this.finished };
    if (this.finished || !("run_id" in event.payload) || event.payload.run_id !== this.runId) return none;
    if (event.payload.seq <= this.seq) return none;
    this.seq = event.payload.seq;
    const chunks: UIMessageChunk[] = [];
    if (event.name === "agent:run_started") {
      if (!this.started) chunks.push(...this.start(event.payload.message_id, event.payload.thread_id));
      return { chunks, done: false };
    }
    if (!this.started) chunks.push(...this.start(null, null));
    if (isPartEvent(event)) {
      chunks.push(...this.parts.update(foldPart(this.parts.parts, event)));
      return { chunks, done: false };
    }
    switch (event.name) {
      case "agent:run_completed":
        chunks.push(...this.parts.update(event.payload.message.parts));
        chunks.push(...this.end("complete", event.payload.usage ?? null));
        break;
      case "agent:run_failed":
        if (event.payload.message) chunks.push(...this.parts.update(event.payload.message.parts));
        chunks.push(...this.end("failed", null, event.payload.error.message));
        break;
      case "agent:run_stopped":
        if (event.payload.message) chunks.push(...this.parts.update(event.payload.message.parts));
        chunks.push(...this.end("stopped", null));
        break;
      default:
        return none;
    }
    return { chunks, done: true };
  }

  private start(messageId: string | null, threadId: string | null): UIMessageChunk[] {
    this.started = true;
    const messageMetadata: NetraMessageMetadata = { runId: this.runId, ...(threadId ? { threadId } : {}) };
    return [{ type: "start", ...(messageId ? { messageId } : {}), messageMetadata }];
  }

  private end(
    status: "complete" | "stopped" | "failed",
    usage: NetraMessageMetadata["usage"],
    error = "The answer failed",
  ): UIMessageChunk[] {
    this.finished = true;
    const chunks = this.parts.close();
    if (status === "complete") chunks.push({ type: "finish", finishReason: "stop", ...(usage ? { messageMetadata: { usage } } : {}) });
    else if (status === "stopped") chunks.push({ type: "abort", reason: "stopped" });
    else chunks.push({ type: "error", errorText: error });
    return chunks;
  }
}
