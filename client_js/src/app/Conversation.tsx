import { useLayoutEffect, useMemo, useRef, useState } from "react";
import {
  conversationTurns,
  isHistoryLoading,
  openThreadMessages,
  sendBlockedReason,
  streamingRunId,
  type ChatClient,
  type ChatState,
  type Turn,
} from "../core";
import { ExamplePrompts } from "./ExamplePrompts";
import { MessageItem, type MessageActions } from "./MessageItem";

// Within this many pixels of the bottom counts as reading the latest: keep following the stream.
const FOLLOW_SLACK_PX = 80;

interface TurnProps {
  turn: Turn;
  actions: MessageActions;
  canRegenerate: boolean;
}

/** One place in the conversation; an answer with versions shows the newest unless one is picked. */
function TurnView({ turn, actions, canRegenerate }: TurnProps) {
  const [choice, setChoice] = useState<{ id: string; count: number } | null>(null);
  const count = turn.versions.length;
  // A new version (regenerated just now) shows itself; until then the picked one stays.
  const picked = choice && choice.count === count ? turn.versions.findIndex((v) => v.id === choice.id) : -1;
  const index = picked >= 0 ? picked : count - 1;
  const message = turn.versions[index];
  const version = useMemo(
    () =>
      count > 1
        ? { index, count, pick: (i: number) => setChoice({ id: turn.versions[i]?.id ?? "", count }) }
        : null,
    [index, count, turn.versions],
  );
  if (!message) return null;
  return (
    <MessageItem
      message={message}
      actions={actions}
      version={version}
      canRegenerate={canRegenerate && message.status !== "streaming"}
    />
  );
}

export function Conversation({ state, client }: { state: ChatState; client: ChatClient }) {
  const messages = useMemo(() => openThreadMessages(state), [state]);
  const turns = useMemo(() => conversationTurns(messages), [messages]);
  const loading = isHistoryLoading(state);
  const scroller = useRef<HTMLDivElement>(null);
  const following = useRef(true);
  // Where the reader was when older messages were asked for, to stay there once they arrive.
  const anchor = useRef<{ height: number; top: number } | null>(null);
  const open = state.openThreadId;
  const hasOlder = open !== null && (state.hasOlder[open] ?? false);
  const loadingOlder = open !== null && (state.loadingOlder[open] ?? false);
  // Offered only by a server that says it serves it (discovery's `features`).
  const idle =
    state.features.includes("regenerate") && streamingRunId(state) === null && sendBlockedReason(state) === null;
  const lastAnswer = turns.findLast((t) => t.versions[0]?.role === "assistant");
  const actions = useMemo<MessageActions>(
    () => ({
      retry: (id) => client.retry(id),
      approve: (runId, callId, approved) => client.approve(runId, callId, approved),
      regenerate: (messageId) => client.regenerate(messageId),
    }),
    [client],
  );

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (anchor.current) {
      el.scrollTop = el.scrollHeight - anchor.current.height + anchor.current.top;
      if (!loadingOlder) anchor.current = null;
    } else if (following.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [messages, loadingOlder]);

  useLayoutEffect(() => {
    following.current = true;
    anchor.current = null;
  }, [open]);

  const onScroll = () => {
    const el = scroller.current;
    if (el) following.current = el.scrollHeight - el.scrollTop - el.clientHeight < FOLLOW_SLACK_PX;
  };

  const loadOlder = () => {
    const el = scroller.current;
    if (el) anchor.current = { height: el.scrollHeight, top: el.scrollTop };
    void client.loadOlder();
  };

  if (messages.length === 0 && !loading) {
    return (
      <div className="conversation welcome">
        <div className="welcome-inner">
          <h2>What can I help with?</h2>
          <p className="muted">Ask anything, or start from an example.</p>
          <ExamplePrompts
            examples={state.examples}
            layout="cards"
            disabled={sendBlockedReason(state) !== null}
            onPick={(prompt) => client.send(prompt, "example")}
          />
        </div>
      </div>
    );
  }
  return (
    <div className="conversation" ref={scroller} onScroll={onScroll} aria-live="polite">
      <div className="messages">
        {hasOlder ? (
          <button
            type="button"
            className="button button-small load-older"
            data-testid="load-older"
            disabled={loadingOlder}
            onClick={loadOlder}
          >
            {loadingOlder ? "Loading…" : "Load older messages"}
          </button>
        ) : null}
        {loading && messages.length === 0 ? <p className="muted loading">Loading the conversation…</p> : null}
        {turns.map((turn) => (
          <TurnView key={turn.key} turn={turn} actions={actions} canRegenerate={idle && turn === lastAnswer} />
        ))}
      </div>
    </div>
  );
}
