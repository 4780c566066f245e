import type { ConnectionInfo } from "../core/state";

const LABELS = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  error: "Not connected",
} as const;

export function StatusPill({ connection }: { connection: ConnectionInfo }) {
  return (
    <span
      className={`status-pill status-${connection.status}`}
      data-testid="connection-status"
      data-state={connection.status}
      role="status"
      title={connection.error?.message}
    >
      <span className="status-dot" aria-hidden="true" />
      {LABELS[connection.status]}
    </span>
  );
}
