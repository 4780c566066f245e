import { useLayoutEffect, useMemo, useRef } from "react";
import { isHistoryLoading, openThreadMessages, type ChatClient, type ChatState } from "../core";
import { ExamplePrompts } from "./ExamplePrompts";
import { MessageItem } from "./MessageItem";

// Within this many pixels of the bottom counts as reading the latest: keep following the stream.
const FOLLOW_SLACK_PX = 80;

export function Conversation({ state, client }: { state: ChatState; client: ChatClient }) {
  const messages = useMemo(() => openThreadMessages(state), [state]);
  const loading = isHistoryLoading(state);
  const scroller = useRef<HTMLDivElement>(null);
  const following = useRef(true);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && following.current) el.scrollTop = el.scrollHeight;
  }, [messages]);

  useLayoutEffect(() => {
    following.current = true;
  }, [state.openThreadId]);

  const onScroll = () => {
    const el = scroller.current;
    if (el) following.current = el.scrollHeight - el.scrollTop - el.clientHeight < FOLLOW_SLACK_PX;
  };

  if (messages.length === 0 && !loading) {
    return (
      <div className="conversation welcome">
        <div className="welcome-inner">
          <h2>What can I help with?</h2>
          <p className="muted">Ask anything, or start from an example.</p>
          <ExamplePrompts examples={state.examples} layout="cards" onPick={(prompt) => client.send(prompt, "example")} />
        </div>
      </div>
    );
  }
  return (
    <div className="conversation" ref={scroller} onScroll={onScroll} aria-live="polite">
      <div className="messages">
        {loading && messages.length === 0 ? <p className="muted loading">Loading the conversation…</p> : null}
        {messages.map((m) => (
          <MessageItem key={m.clientMsgId ?? m.id} message={m} onRetry={(id) => client.retry(id)} />
        ))}
      </div>
    </div>
  );
}
