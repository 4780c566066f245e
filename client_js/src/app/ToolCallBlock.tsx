import type { ToolCall } from "../core";
import type { JsonValue } from "../generated/protocol";

function pretty(value: JsonValue | { [key: string]: JsonValue } | null): string {
  return JSON.stringify(value, null, 2);
}

function preview(value: JsonValue): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 48 ? `${text.slice(0, 47)}…` : text;
}

/** A tool the agent called: name and outcome at a glance, arguments and result as JSON inside. */
export function ToolCallBlock({ call }: { call: ToolCall }) {
  const state = call.result === null ? "running" : call.result.isError ? "error" : "done";
  return (
    <details className={`tool-call tool-${state}`} data-testid="tool-call" data-tool={call.name} data-state={state}>
      <summary>
        <span className="tool-icon" aria-hidden="true">
          ⚙
        </span>
        <span className="tool-name">{call.name || "tool"}</span>
        <span className="tool-outcome">
          {call.result === null ? "running…" : `${call.result.isError ? "failed" : "→"} ${preview(call.result.value)}`}
        </span>
      </summary>
      <div className="tool-detail">
        <div className="tool-section">Arguments</div>
        <pre>{pretty(call.args)}</pre>
        {call.result !== null ? (
          <>
            <div className="tool-section">{call.result.isError ? "Error" : "Result"}</div>
            <pre>{pretty(call.result.value)}</pre>
          </>
        ) : null}
      </div>
    </details>
  );
}
