import type { ApprovalPart, AssistantMessageView, JsonValue, ToolResultPart } from "../generated/protocol";
import type { StreamEvent } from "./state";

/** One piece of an assistant message, exactly as the server streams, stores and sends it. */
export type Part = AssistantMessageView["parts"][number];
export type JsonObject = { [key: string]: JsonValue };

/** The user-stream events that add to a run's parts. */
export type PartEvent = Extract<
  StreamEvent,
  { name: "agent:delta" | "agent:reasoning" | "agent:tool_call" | "agent:tool_result" | "agent:approval_requested" | "agent:approval_resolved" }
>;

export const PART_EVENTS: ReadonlySet<StreamEvent["name"]> = new Set([
  "agent:delta",
  "agent:reasoning",
  "agent:tool_call",
  "agent:tool_result",
  "agent:approval_requested",
  "agent:approval_resolved",
]);

export function isPartEvent(event: StreamEvent): event is PartEvent {
  return PART_EVENTS.has(event.name);
}

/** A delta joins the last part when that is of its kind, or starts a new one. */
function appendText(parts: readonly Part[], type: "text" | "reasoning", text: string): readonly Part[] {
  if (text === "") return parts;
  const last = parts[parts.length - 1];
  if (last?.type === type) return [...parts.slice(0, -1), { type, text: last.text + text }];
  return [...parts, { type, text }];
}

/** Replaces the part of this type and call id in place, or adds it at the end. */
function upsertCallPart<T extends Exclude<Part, { type: "text" | "reasoning" }>>(
  parts: readonly Part[],
  part: T,
): readonly Part[] {
  const index = parts.findIndex((p) => p.type === part.type && p.call_id === part.call_id);
  if (index < 0) return [...parts, part];
  const next = [...parts];
  next[index] = part;
  return next;
}

/** Folds one live event into a message's parts: the same list history sends for the message. */
export function foldPart(parts: readonly Part[], event: PartEvent): readonly Part[] {
  switch (event.name) {
    case "agent:delta":
      return appendText(parts, "text", event.payload.text);
    case "agent:reasoning":
      return appendText(parts, "reasoning", event.payload.text);
    case "agent:tool_call": {
      const { call_id, name, args } = event.payload;
      return upsertCallPart(parts, { type: "tool_call", call_id, name, args });
    }
    case "agent:tool_result": {
      const { call_id, name, result, is_error } = event.payload;
      return upsertCallPart(parts, { type: "tool_result", call_id, name, result, is_error });
    }
    case "agent:approval_requested": {
      const { call_id, name, args } = event.payload;
      return upsertCallPart(parts, { type: "approval", call_id, name, args, decision: "pending" });
    }
    case "agent:approval_resolved": {
      const { call_id, decision, args } = event.payload;
      const index = parts.findIndex((p) => p.type === "approval" && p.call_id === call_id);
      const current = parts[index] as ApprovalPart | undefined;
      // A resolution without its request (not seen): nothing to show it on.
      if (!current) return parts;
      const next = [...parts];
      next[index] = { ...current, decision, args: args ?? current.args };
      return next;
    }
  }
}

export function foldParts(events: readonly PartEvent[], start: readonly Part[] = []): readonly Part[] {
  return events.reduce(foldPart, start);
}

export function joinedText(parts: readonly Part[]): string {
  return parts.map((p) => (p.type === "text" ? p.text : "")).join("");
}

export type ToolState = "running" | "done" | "error" | "awaiting_approval" | "denied";

/** What a message shows, in order: its text and reasoning, and each tool call once. */
export type PartView =
  | { kind: "text"; key: string; text: string }
  | { kind: "reasoning"; key: string; text: string }
  | {
      kind: "tool";
      key: string;
      callId: string;
      name: string;
      args: JsonObject | null;
      result: ToolResultPart | null;
      approval: ApprovalPart["decision"] | null;
      state: ToolState;
    };

function toolState(
  result: ToolResultPart | null,
  approval: ApprovalPart["decision"] | null,
  streaming: boolean,
): ToolState {
  if (approval === "pending") return "awaiting_approval";
  if (approval === "denied" || approval === "expired") return "denied";
  if (result) return result.is_error ? "error" : "done";
  // The answer ended (stopped, failed) before the tool did.
  return streaming ? "running" : "error";
}

/**
 * The parts as a UI shows them: a tool call, its approval and its result make one block, at
 * the place of the first of them; text and reasoning stay where they streamed.
 */
export function partViews(parts: readonly Part[], streaming: boolean): PartView[] {
  const views: PartView[] = [];
  const calls = new Map<string, number>();
  parts.forEach((part, index) => {
    if (part.type === "text" || part.type === "reasoning") {
      views.push({ kind: part.type, key: `${part.type}-${index}`, text: part.text });
      return;
    }
    let at = calls.get(part.call_id);
    if (at === undefined) {
      at = views.length;
      calls.set(part.call_id, at);
      views.push({
        kind: "tool",
        key: `tool-${part.call_id}`,
        callId: part.call_id,
        name: part.name,
        args: null,
        result: null,
        approval: null,
        state: "running",
      });
    }
    const view = views[at];
    if (view?.kind !== "tool") return;
    if (part.type === "tool_call") view.args = part.args;
    else if (part.type === "tool_result") view.result = part;
    // Approved with edited arguments: those are the ones the tool ran with.
    else {
      view.approval = part.decision;
      if (view.args === null || part.decision === "approved") view.args = part.args;
    }
    view.name ||= part.name;
  });
  for (const view of views) {
    if (view.kind === "tool") view.state = toolState(view.result, view.approval, streaming);
  }
  return views;
}
