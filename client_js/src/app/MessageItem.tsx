import { memo, useMemo } from "react";
import type { DisplayMessage, Part } from "../core";
import { MessageParts } from "./MessageParts";

const DELIVERY_LABELS = { queued: "Waiting for the connection…", sending: "Sending…", failed: "Not sent" } as const;

export interface MessageActions {
  retry(clientMsgId: string): void;
  approve(runId: string, callId: string, approved: boolean): Promise<boolean>;
  regenerate(messageId: string): Promise<boolean>;
}

export interface VersionSwitch {
  index: number;
  count: number;
  pick(index: number): void;
}

interface Props {
  message: DisplayMessage;
  actions: MessageActions;
  /** Set when the answer has other versions (regenerated). */
  version?: VersionSwitch | null;
  /** The latest answer, with nothing running: it may be regenerated. */
  canRegenerate?: boolean;
}

function failureText(error: DisplayMessage["error"]): string {
  if (!error) return "";
  if (error.code === "conflict") return ": an answer is still running in this thread (stop it or wait, then retry)";
  return `: ${error.message}`;
}

function MessageItemView({ message, actions, version, canRegenerate }: Props) {
  const { role, status, delivery, error, runId } = message;
  const streaming = role === "assistant" && status === "streaming";
  // An answer stored before messages had parts is its text.
  const parts = useMemo<readonly Part[]>(
    () => (message.parts.length > 0 || !message.text ? message.parts : [{ type: "text", text: message.text }]),
    [message.parts, message.text],
  );
  const onApprove = runId ? (callId: string, approved: boolean) => actions.approve(runId, callId, approved) : undefined;
  return (
    <article
      className={`message message-${role} message-${status}${delivery ? ` delivery-${delivery}` : ""}`}
      data-testid="message"
      data-role={role}
      data-status={status}
      data-pending={delivery && delivery !== "failed" ? "true" : undefined}
      data-message-id={delivery ? undefined : message.id}
    >
      {role === "assistant" ? (
        <div className="avatar" aria-hidden="true">
          N
        </div>
      ) : null}
      <div className="message-body">
        {role === "user" ? (
          <div className="message-text">{message.text}</div>
        ) : parts.length === 0 && streaming ? (
          <div className="thinking" aria-label="Thinking">
            <span />
            <span />
            <span />
          </div>
        ) : (
          <MessageParts parts={parts} streaming={streaming} onApprove={onApprove} />
        )}
        {status === "stopped" ? <div className="message-meta">Stopped</div> : null}
        {status === "failed" && role === "assistant" ? (
          <div className="message-meta error-text">The answer failed{error ? `: ${error.message}` : "."}</div>
        ) : null}
        {delivery ? (
          <div className={`message-meta${delivery === "failed" ? " error-text" : ""}`} data-testid="delivery">
            {DELIVERY_LABELS[delivery]}
            {delivery === "failed" ? failureText(error) : null}
            {delivery === "failed" && message.clientMsgId ? (
              <button className="link-button" data-testid="retry-button" onClick={() => actions.retry(message.clientMsgId ?? "")}>
                Retry
              </button>
            ) : null}
          </div>
        ) : null}
        {role === "assistant" && (version || canRegenerate) ? (
          <div className="message-actions">
            {version ? (
              <span className="versions">
                <button
                  type="button"
                  className="icon-button"
                  aria-label="Previous answer"
                  data-testid="answer-previous"
                  disabled={version.index === 0}
                  onClick={() => version.pick(version.index - 1)}
                >
                  ‹
                </button>
                <span data-testid="answer-version">
                  {version.index + 1} / {version.count}
                </span>
                <button
                  type="button"
                  className="icon-button"
                  aria-label="Next answer"
                  data-testid="answer-next"
                  disabled={version.index === version.count - 1}
                  onClick={() => version.pick(version.index + 1)}
                >
                  ›
                </button>
              </span>
            ) : null}
            {canRegenerate ? (
              <button
                type="button"
                className="link-button"
                data-testid="regenerate-button"
                onClick={() => void actions.regenerate(message.id)}
              >
                ↻ Regenerate
              </button>
            ) : null}
          </div>
        ) : null}
      </div>
    </article>
  );
}

export const MessageItem = memo(MessageItemView);
