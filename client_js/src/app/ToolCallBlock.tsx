import { useState } from "react";
import type { PartView, ToolState } from "../core";
import type { JsonValue } from "../generated/protocol";

type ToolView = Extract<PartView, { kind: "tool" }>;

const OUTCOME: Record<ToolState, string> = {
  running: "running…",
  done: "→",
  error: "failed",
  awaiting_approval: "waiting for your approval",
  denied: "not run",
};

function pretty(value: JsonValue | undefined): string {
  return JSON.stringify(value ?? null, null, 2);
}

function preview(value: JsonValue): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 48 ? `${text.slice(0, 47)}…` : text;
}

interface Props {
  view: ToolView;
  /** Answers a pending approval; absent where nothing can be answered (no run). */
  onApprove?: (callId: string, approved: boolean) => Promise<boolean>;
}

/** A tool the agent called: name and state at a glance, arguments and result as JSON inside. */
export function ToolCallBlock({ view, onApprove }: Props) {
  const { state, result } = view;
  const [answering, setAnswering] = useState(false);
  const answer = async (approved: boolean) => {
    if (!onApprove) return;
    setAnswering(true);
    // On success the resolution arrives as an event and replaces the buttons.
    if (!(await onApprove(view.callId, approved))) setAnswering(false);
  };
  const outcome = state === "done" && result ? `→ ${preview(result.result)}` : OUTCOME[state];
  return (
    <div className={`tool-call tool-${state}`} data-testid="tool-call" data-name={view.name} data-state={state}>
      <details open={state === "awaiting_approval" || undefined}>
        <summary>
          <span className="tool-icon" aria-hidden="true">
            ⚙
          </span>
          <span className="tool-name">{view.name || "tool"}</span>
          <span className="tool-outcome">{outcome}</span>
        </summary>
        <div className="tool-detail">
          <div className="tool-section">Arguments</div>
          <pre data-testid="tool-args">{pretty(view.args ?? {})}</pre>
          {result ? (
            <>
              <div className="tool-section">{result.is_error ? "Error" : "Result"}</div>
              <pre data-testid="tool-result">{pretty(result.result)}</pre>
            </>
          ) : null}
        </div>
      </details>
      {state === "awaiting_approval" ? (
        <div className="tool-approval" role="group" aria-label={`Approve ${view.name}`}>
          <span className="tool-approval-text">Run {view.name} with these arguments?</span>
          <button
            type="button"
            className="button button-small button-primary"
            data-testid="approve-button"
            disabled={answering || !onApprove}
            onClick={() => void answer(true)}
          >
            Approve
          </button>
          <button
            type="button"
            className="button button-small"
            data-testid="deny-button"
            disabled={answering || !onApprove}
            onClick={() => void answer(false)}
          >
            Deny
          </button>
        </div>
      ) : null}
      {view.approval === "expired" ? <div className="tool-note">The approval expired.</div> : null}
    </div>
  );
}
