import { memo } from "react";
import type { DisplayMessage } from "../core";
import { ToolCallBlock } from "./ToolCallBlock";

const DELIVERY_LABELS = { queued: "Waiting for the connection…", sending: "Sending…", failed: "Not sent" } as const;

function MessageItemView({ message, onRetry }: { message: DisplayMessage; onRetry: (clientMsgId: string) => void }) {
  const { role, status, delivery, error } = message;
  const thinking = role === "assistant" && status === "streaming" && message.text === "";
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
        {message.toolCalls.map((call) => (
          <ToolCallBlock key={call.callId} call={call} />
        ))}
        {thinking ? (
          <div className="thinking" aria-label="Thinking">
            <span />
            <span />
            <span />
          </div>
        ) : (
          <div className="message-text">
            {message.text}
            {status === "streaming" && role === "assistant" ? <span className="cursor" aria-hidden="true" /> : null}
          </div>
        )}
        {status === "stopped" ? <div className="message-meta">Stopped</div> : null}
        {status === "failed" && role === "assistant" ? (
          <div className="message-meta error-text">The answer failed{error ? `: ${error.message}` : "."}</div>
        ) : null}
        {delivery ? (
          <div className={`message-meta${delivery === "failed" ? " error-text" : ""}`}>
            {DELIVERY_LABELS[delivery]}
            {delivery === "failed" && error ? `: ${error.message}` : null}
            {delivery === "failed" && message.clientMsgId ? (
              <button className="link-button" onClick={() => onRetry(message.clientMsgId ?? "")}>
                Retry
              </button>
            ) : null}
          </div>
        ) : null}
      </div>
    </article>
  );
}

export const MessageItem = memo(MessageItemView);
