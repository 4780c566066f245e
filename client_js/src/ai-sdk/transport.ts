import type { ChatTransport, UIMessage, UIMessageChunk } from "ai";
import type { HistoryMessage } from "../generated/protocol";
import { createChatClient, type ChatClient } from "../core/client";
import { RequestError } from "../core/errors";
import { newUuid } from "../core/ids";
import type { StreamEvent } from "../core/state";
import { browserStorage, readJson, type KeyValueStorage } from "../core/storage";
import { RunChunks, parseApprovalId, type ChunkOptions, type RunSnapshot } from "./chunks";
import { toUIMessages } from "./messages";

export interface NetraChatTransportOptions extends ChunkOptions {
  /** The page's chat client (one connection per tab); a new one when omitted. */
  client?: ChatClient;
  /** Where the chat id -> thread id map is kept across reloads (sessionStorage by default). */
  storage?: KeyValueStorage;
  /** Messages loaded by `loadMessages` and searched by `reconnectToStream`. */
  historyLimit?: number;
  /** How often an unanswered chat:send is tried again, under the same client_msg_id. */
  sendAttempts?: number;
}

const THREADS_KEY = "netra.aiSdk.threads";

function isThreadMap(value: unknown): value is Record<string, string> {
  return typeof value === "object" && value !== null && Object.values(value).every((v) => typeof v === "string");
}

function abortError(): Error {
  return new DOMException("The request was aborted", "AbortError");
}

/** The promise, or an AbortError as soon as the signal fires. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function snapshotOf(m: HistoryMessage): RunSnapshot {
  return { messageId: m.id, threadId: m.thread_id, parts: m.parts, seq: m.seq, status: m.status };
}

function textOf(message: UIMessage): string {
  return message.parts.map((p) => (p.type === "text" ? p.text : "")).join("");
}

/**
 * Collects the user stream from the moment it is made, so no event of a run is missed
 * while its send or history request is on the way; then plays one run as UI message chunks.
 */
class RunFollower {
  private buffer: StreamEvent[] = [];
  private sink: ((event: StreamEvent) => void) | null = null;
  private readonly offs: Array<() => void>;

  constructor(private readonly client: ChatClient) {
    this.offs = [
      client.listenStream((event) => {
        if (this.sink) this.sink(event);
        else this.buffer.push(event);
      }),
    ];
  }

  cancel(): void {
    for (const off of this.offs.splice(0)) off();
    this.buffer = [];
    this.sink = null;
  }

  stream(
    runId: string,
    threadId: string | null,
    options: ChunkOptions & { snapshot?: RunSnapshot | undefined; abortSignal?: AbortSignal | undefined },
  ): ReadableStream<UIMessageChunk> {
    const run = new RunChunks(runId, options);
    const client = this.client;
    let thread = threadId ?? options.snapshot?.threadId ?? null;
    let closed = false;
    return new ReadableStream<UIMessageChunk>({
      start: (controller) => {
        const finish = () => {
          if (closed) return;
          closed = true;
          this.cancel();
          try {
            controller.close();
          } catch {
            // Already cancelled by the reader.
          }
        };
        const emit = (step: { chunks: UIMessageChunk[]; done: boolean }) => {
          if (closed) return;
          for (const chunk of step.chunks) controller.enqueue(chunk);
          if (step.done) finish();
        };
        if (options.snapshot) emit(run.seed(options.snapshot));
        for (const event of this.buffer.splice(0)) {
          if (event.name === "agent:run_started" && event.payload.run_id === runId) thread = event.payload.thread_id;
          emit(run.accept(event));
        }
        this.sink = (event) => {
          if (event.name === "agent:run_started" && event.payload.run_id === runId) thread = event.payload.thread_id;
          emit(run.accept(event));
        };
        // Events were lost (a new epoch, or past the replay window): catch up from history.
        this.offs.push(
          client.listenReady((ready) => {
            if (ready.recovery !== "reset" || !thread) return;
            void client.request("chat:history", { thread_id: thread, limit: 20 }).then(
              ({ messages }) => {
                const m = messages.find((x) => x.run_id === runId);
                if (m) emit(run.resync(snapshotOf(m)));
              },
              () => undefined,
            );
          }),
        );
        options.abortSignal?.addEventListener(
          "abort",
          () => {
            if (closed) return;
            // Stopping in the UI stops the answer on the server, for every tab.
            void client.request("chat:stop", { run_id: runId }).catch(() => undefined);
            finish();
          },
          { once: true },
        );
        if (options.abortSignal?.aborted) finish();
      },
      cancel: () => {
        closed = true;
        this.cancel();
      },
    });
  }
}

/**
 * An AI SDK `ChatTransport` over the netra socket: `useChat({ transport })` sends with
 * chat:send, regenerates with chat:regenerate, stops with chat:stop and resumes an answer
 * still streaming from history plus the live events after it. Assistant UI message ids are
 * the server's message ids; a chat id maps to a thread (`threadOf`).
 */
export class NetraChatTransport<UI_MESSAGE extends UIMessage = UIMessage> implements ChatTransport<UI_MESSAGE> {
  /** A resumed stream starts from the message's first part. */
  readonly resumeStreamIsReplay = true;
  readonly client: ChatClient;
  private readonly storage: KeyValueStorage;
  private readonly threads: Map<string, string>;
  private readonly clientMsgIds = new Map<string, string>();
  private readonly lastAnswers = new Map<string, string>();
  private readonly options: ChunkOptions;
  private readonly historyLimit: number;
  private readonly sendAttempts: number;
  private release: (() => void) | null = null;

  constructor(options: NetraChatTransportOptions = {}) {
    this.client = options.client ?? createChatClient();
    this.storage = options.storage ?? browserStorage("sessionStorage");
    this.threads = new Map(Object.entries(readJson(this.storage, THREADS_KEY, isThreadMap) ?? {}));
    this.options = { staticTools: options.staticTools ?? [] };
    this.historyLimit = options.historyLimit ?? 100;
    this.sendAttempts = options.sendAttempts ?? 5;
  }

  /** The thread a chat writes to, once its first message was sent (or `setThread` said so). */
  threadOf(chatId: string): string | undefined {
    return this.threads.get(chatId);
  }

  /** Every chat id -> thread id this transport knows. */
  get threadMap(): ReadonlyMap<string, string> {
    return this.threads;
  }

  /** Opens an existing thread under a chat id (before `loadMessages` or `useChat`). */
  setThread(chatId: string, threadId: string): void {
    if (this.threads.get(chatId) === threadId) return;
    this.threads.set(chatId, threadId);
    this.storage.setItem(THREADS_KEY, JSON.stringify(Object.fromEntries(this.threads)));
  }

  sendMessages: ChatTransport<UI_MESSAGE>["sendMessages"] = async ({ trigger, chatId, messageId, messages, abortSignal }) => {
    this.hold();
    const follower = new RunFollower(this.client);
    try {
      if (trigger === "regenerate-message") {
        const target = this.answerToRegenerate(chatId, messageId, messages);
        const ack = await abortable(
          this.client.request("chat:regenerate", { client_msg_id: newUuid(), message_id: target }),
          abortSignal,
        );
        this.setThread(chatId, ack.thread_id);
        return this.follow(follower, chatId, ack.run_id, ack.thread_id, abortSignal, ack.duplicate);
      }
      const message = messages.findLast((m) => m.role === "user");
      if (!message) throw new Error("There is no user message to send");
      const text = textOf(message).trim();
      const threadId = this.threads.get(chatId);
      const ack = await abortable(this.sendOnce(this.clientMsgIdFor(message.id, text), text, threadId), abortSignal);
      this.setThread(chatId, ack.thread_id);
      return this.follow(follower, chatId, ack.run_id, ack.thread_id, abortSignal, ack.duplicate);
    } catch (error) {
      follower.cancel();
      throw error;
    }
  };

  reconnectToStream: ChatTransport<UI_MESSAGE>["reconnectToStream"] = async ({ chatId, abortSignal }) => {
    const threadId = this.threads.get(chatId);
    if (!threadId) return null;
    this.hold();
    const follower = new RunFollower(this.client);
    try {
      const { messages } = await abortable(
        this.client.request("chat:history", { thread_id: threadId, limit: this.historyLimit }),
        abortSignal,
      );
      const last = messages.findLast((m) => m.role === "assistant");
      if (!last?.run_id || last.status !== "streaming") {
        follower.cancel();
        return null;
      }
      this.lastAnswers.set(chatId, last.id);
      return follower.stream(last.run_id, threadId, { ...this.options, snapshot: snapshotOf(last), abortSignal });
    } catch (error) {
      follower.cancel();
      // Given up before there was a stream: there is nothing to stop.
      if (abortSignal?.aborted) return null;
      throw error;
    }
  };

  /**
   * Answers a tool call waiting for approval (`part.approval.id` of a tool part in state
   * `approval-requested`). The run then goes on in the stream already open.
   */
  async approve(approvalId: string, approved: boolean, args?: Record<string, unknown>): Promise<string> {
    const ids = parseApprovalId(approvalId);
    if (!ids) throw new Error(`Not an approval id of this transport: ${approvalId}`);
    const { decision } = await this.client.request("chat:approve", {
      run_id: ids.runId,
      call_id: ids.callId,
      approved,
      ...(args ? { args: args as never } : {}),
    });
    return decision;
  }

  /**
   * The chat's thread as UI messages, for `useChat({ messages })`: the newest answer to each
   * user message, an answer still streaming with its parts so far (`resume: true` goes on
   * from there). Empty for a chat without a thread.
   */
  async loadMessages(chatId: string): Promise<UI_MESSAGE[]> {
    const threadId = this.threads.get(chatId);
    if (!threadId) return [];
    this.hold();
    const { messages } = await this.client.request("chat:history", { thread_id: threadId, limit: this.historyLimit });
    const last = messages.findLast((m) => m.role === "assistant");
    if (last) this.lastAnswers.set(chatId, last.id);
    return (await toUIMessages(messages, this.options)) as UI_MESSAGE[];
  }

  /** Lets the connection go (after a moment, when nothing else holds it). */
  close = (): void => {
    this.release?.();
    this.release = null;
  };

  private hold(): void {
    this.release ??= this.client.retain();
  }

  private follow(
    follower: RunFollower,
    chatId: string,
    runId: string,
    threadId: string,
    abortSignal: AbortSignal | undefined,
    duplicate: boolean,
  ): Promise<ReadableStream<UIMessageChunk>> | ReadableStream<UIMessageChunk> {
    const track = (stream: ReadableStream<UIMessageChunk>) =>
      stream.pipeThrough(
        new TransformStream<UIMessageChunk, UIMessageChunk>({
          transform: (chunk, controller) => {
            if (chunk.type === "start" && chunk.messageId) this.lastAnswers.set(chatId, chunk.messageId);
            controller.enqueue(chunk);
          },
        }),
      );
    if (!duplicate) return track(follower.stream(runId, threadId, { ...this.options, abortSignal }));
    // A repeat of a send the server already had: its run may be under way or over; history says.
    return this.client.request("chat:history", { thread_id: threadId, limit: this.historyLimit }).then(({ messages }) => {
      const m = messages.find((x) => x.run_id === runId);
      const snapshot = m ? snapshotOf(m) : undefined;
      return track(follower.stream(runId, threadId, { ...this.options, snapshot, abortSignal }));
    });
  }

  /** chat:send, tried again under the same client_msg_id while no answer comes. */
  private async sendOnce(clientMsgId: string, text: string, threadId: string | undefined) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.client.request("chat:send", {
          client_msg_id: clientMsgId,
          text,
          source: "typed",
          ...(threadId ? { thread_id: threadId } : {}),
        });
      } catch (error) {
        const unanswered = error instanceof RequestError && (error.code === "timeout" || error.code === "not_connected");
        if (!unanswered || attempt >= this.sendAttempts) throw error;
      }
    }
  }

  /** One client_msg_id per UI message and text: a retry repeats it, an edit is a new message. */
  private clientMsgIdFor(messageId: string, text: string): string {
    const key = `${messageId}\n${text}`;
    let id = this.clientMsgIds.get(key);
    if (!id) {
      id = newUuid();
      this.clientMsgIds.set(key, id);
    }
    return id;
  }

  private answerToRegenerate(chatId: string, messageId: string | undefined, messages: readonly UI_MESSAGE[]): string {
    // Without an id the SDK has already dropped the answer from `messages`: the last one streamed is it.
    const target = messageId ?? this.lastAnswers.get(chatId) ?? messages.findLast((m) => m.role === "assistant")?.id;
    if (!target) throw new Error("There is no answer to regenerate");
    return target;
  }
}
