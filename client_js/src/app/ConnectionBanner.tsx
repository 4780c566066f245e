import type { ConnectionInfo } from "../core/state";

/** Why the socket cannot be established, in the server's words, with a way to try now. */
export function ConnectionBanner({ connection, onRetry }: { connection: ConnectionInfo; onRetry: () => void }) {
  if (connection.status !== "error" || !connection.error) return null;
  const { message, code } = connection.error;
  return (
    <div className="banner banner-error" data-testid="connection-error" data-code={code ?? undefined} role="alert">
      <div className="banner-text">
        <strong>Cannot connect to the chat server.</strong> {message}
        {code ? <code className="banner-code">{code}</code> : null}
        <span className="banner-hint"> Messages you send wait until the connection is back.</span>
      </div>
      <button className="button button-small" onClick={onRetry}>
        Retry now
      </button>
    </div>
  );
}
