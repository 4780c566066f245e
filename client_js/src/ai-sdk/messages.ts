import { readUIMessageStream, type UIMessage, type UIMessageChunk } from "ai";
import type { HistoryMessage } from "../generated/protocol";
import { PartsToChunks, type ChunkOptions, type NetraMessageMetadata } from "./chunks";

/** The chunks that build an assistant message from its stored parts, as its stream did. */
export function historyChunks(m: HistoryMessage, options: ChunkOptions = {}): UIMessageChunk[] {
  const parts = new PartsToChunks(m.run_id ?? m.id, options);
  const messageMetadata: NetraMessageMetadata = { threadId: m.thread_id, ...(m.run_id ? { runId: m.run_id } : {}) };
  return [{ type: "start", messageId: m.id, messageMetadata }, ...parts.update(m.parts), ...parts.close()];
}

async function assistantMessage(m: HistoryMessage, options: ChunkOptions): Promise<UIMessage> {
  const chunks = historyChunks(m, options);
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  let built: UIMessage = { id: m.id, role: "assistant", parts: [] };
  for await (const message of readUIMessageStream({ stream })) built = message;
  return structuredClone(built);
}

/**
 * A thread's history as AI SDK UI messages, built by the SDK from the same chunks a live
 * stream sends, so a loaded message and a streamed one are alike. Of several answers to one
 * user message (regenerated versions) the newest stays: the SDK's list has one answer a turn.
 */
export async function toUIMessages(history: readonly HistoryMessage[], options: ChunkOptions = {}): Promise<UIMessage[]> {
  const newest = new Map<string, string>();
  for (const m of history) if (m.role === "assistant" && m.reply_to) newest.set(m.reply_to, m.id);
  const out: UIMessage[] = [];
  for (const m of history) {
    if (m.role === "user") {
      out.push({ id: m.id, role: "user", parts: [{ type: "text", text: m.text }] });
    } else if (!m.reply_to || newest.get(m.reply_to) === m.id) {
      out.push(await assistantMessage(m, options));
    }
  }
  return out;
}
