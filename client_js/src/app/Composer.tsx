import { useState, type FormEvent, type KeyboardEvent } from "react";
import { openThreadMessages, streamingRunId, type ChatClient, type ChatState } from "../core";
import { ExamplePrompts } from "./ExamplePrompts";

export function Composer({ state, client }: { state: ChatState; client: ChatClient }) {
  const [text, setText] = useState("");
  const runId = streamingRunId(state);
  const limit = state.maxMessageChars;
  const tooLong = limit !== null && text.trim().length > limit;
  const canSend = text.trim() !== "" && !tooLong;
  // The welcome screen shows the examples as cards; in a conversation they sit here.
  const inConversation = state.openThreadId !== null || openThreadMessages(state).length > 0;

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (!canSend) return;
    // Queued even while offline: the text is cleared only once the client holds it.
    if (client.send(text, "typed") !== null) setText("");
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
  };

  return (
    <form className="composer" onSubmit={submit}>
      {inConversation ? (
        <ExamplePrompts examples={state.examples} layout="chips" onPick={(prompt) => client.send(prompt, "example")} />
      ) : null}
      <div className="composer-box">
        <textarea
          data-testid="message-input"
          aria-label="Message"
          placeholder={state.connection.status === "connected" ? "Message netra…" : "Message netra… (sent when connected)"}
          rows={1}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <div className="composer-actions">
          {runId ? (
            <button type="button" className="button button-stop" data-testid="stop-button" onClick={() => void client.stopRun(runId)}>
              ■ Stop
            </button>
          ) : null}
          <button type="submit" className="button button-primary" data-testid="send-button" disabled={!canSend}>
            Send
          </button>
        </div>
      </div>
      {tooLong ? (
        <p className="composer-hint error-text">
          {text.trim().length} / {limit} characters
        </p>
      ) : null}
    </form>
  );
}
