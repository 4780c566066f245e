import { useState, type FormEvent, type KeyboardEvent } from "react";
import { openThreadMessages, sendBlockedReason, streamingRunId, type ChatClient, type ChatState } from "../core";
import { ExamplePrompts } from "./ExamplePrompts";

export function Composer({ state, client }: { state: ChatState; client: ChatClient }) {
  const [text, setText] = useState("");
  const runId = streamingRunId(state);
  const blocked = sendBlockedReason(state);
  const limit = state.maxMessageChars;
  const tooLong = limit !== null && text.trim().length > limit;
  // One answer at a time per thread: while one runs, the composer offers Stop instead of Send.
  const canSend = text.trim() !== "" && !tooLong && blocked === null && runId === null;
  // The welcome screen shows the examples as cards; in a conversation they sit here.
  const inConversation = state.openThreadId !== null || openThreadMessages(state).length > 0;
  const reconnecting = state.connection.status !== "connected" && blocked === null;

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (!canSend) return;
    // Queued during a short drop: the text is cleared only once the client holds it.
    if (client.send(text, "typed") !== null) setText("");
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
  };

  return (
    <form
      className={`composer${blocked ? " composer-blocked" : ""}`}
      data-testid="composer"
      data-disabled={blocked ? "true" : undefined}
      onSubmit={submit}
    >
      {inConversation ? (
        <ExamplePrompts
          examples={state.examples}
          layout="chips"
          disabled={blocked !== null || runId !== null}
          onPick={(prompt) => client.send(prompt, "example")}
        />
      ) : null}
      <div className="composer-box">
        <textarea
          data-testid="message-input"
          aria-label="Message"
          aria-describedby={blocked ? "composer-reason" : undefined}
          placeholder={reconnecting ? "Message netra… (sent when connected)" : "Message netra…"}
          rows={1}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <div className="composer-actions">
          {runId ? (
            <button
              type="button"
              className="button button-stop"
              data-testid="stop-button"
              onClick={() => void client.stopRun(runId)}
            >
              ■ Stop
            </button>
          ) : (
            <button type="submit" className="button button-primary" data-testid="send-button" disabled={!canSend}>
              Send
            </button>
          )}
        </div>
      </div>
      {blocked ? (
        <p className="composer-hint error-text" id="composer-reason" data-testid="composer-reason" role="status">
          {blocked} Sending is off until the connection is back; what you type stays here.
        </p>
      ) : null}
      {tooLong ? (
        <p className="composer-hint error-text">
          {text.trim().length} / {limit} characters
        </p>
      ) : null}
    </form>
  );
}
