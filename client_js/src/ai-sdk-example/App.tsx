import { useChat } from "@ai-sdk/react";
import { isToolUIPart, type UIMessage } from "ai";
import { useEffect, useState, useSyncExternalStore, type FormEvent } from "react";
import { NetraChatTransport } from "../ai-sdk";
import { newUuid } from "../core/ids";
import { browserStorage } from "../core/storage";

// One transport (and so one connection) for the page, made outside React.
const transport = new NetraChatTransport();
const session = browserStorage("sessionStorage");
const CHAT_KEY = "netra.aiSdk.chat";

function savedChatId(): string {
  const saved = session.getItem(CHAT_KEY);
  if (saved) return saved;
  const id = newUuid();
  session.setItem(CHAT_KEY, id);
  return id;
}

function useConnectionStatus(): string {
  const client = transport.client;
  return useSyncExternalStore(client.subscribe, () => client.getSnapshot().connection.status);
}

/** The chat with `useChat` from @ai-sdk/react over the netra socket. */
export function App() {
  const status = useConnectionStatus();
  const [chatId, setChatId] = useState(savedChatId);
  const [initial, setInitial] = useState<{ chatId: string; messages: UIMessage[] } | null>(null);

  useEffect(() => {
    let current = true;
    // The thread so far (after a reload), then useChat takes over and resumes an answer under way.
    transport.loadMessages(chatId).then(
      (messages) => current && setInitial({ chatId, messages }),
      () => current && setInitial({ chatId, messages: [] }),
    );
    return () => {
      current = false;
    };
  }, [chatId]);

  const newChat = () => {
    const id = newUuid();
    session.setItem(CHAT_KEY, id);
    setInitial(null);
    setChatId(id);
  };

  return (
    <div className="aisdk-page">
      <header className="aisdk-header">
        <h1>netra · AI SDK useChat</h1>
        <span data-testid="aisdk-connection" data-state={status} className={`aisdk-pill aisdk-pill-${status}`}>
          {status}
        </span>
        <button type="button" data-testid="aisdk-new-chat" onClick={newChat}>
          New chat
        </button>
      </header>
      {initial && initial.chatId === chatId ? (
        <Conversation key={chatId} chatId={chatId} initial={initial.messages} />
      ) : (
        <p className="aisdk-muted">Loading…</p>
      )}
    </div>
  );
}

function Conversation({ chatId, initial }: { chatId: string; initial: UIMessage[] }) {
  const { messages, sendMessage, status, stop, regenerate, error } = useChat({
    id: chatId,
    messages: initial,
    transport,
    resume: true,
  });
  const [input, setInput] = useState("");
  const busy = status === "submitted" || status === "streaming";
  const lastAnswer = messages.findLast((m) => m.role === "assistant");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = input.trim();
    if (!text || busy) return;
    setInput("");
    void sendMessage({ text });
  };

  return (
    <main className="aisdk-chat" data-testid="aisdk-chat" data-status={status}>
      <ol className="aisdk-messages">
        {messages.map((message) => (
          <Message key={message.id} message={message} />
        ))}
      </ol>
      {error && (
        <p className="aisdk-error" data-testid="aisdk-error" role="alert">
          {error.message}
        </p>
      )}
      <form className="aisdk-composer" onSubmit={submit}>
        <input
          data-testid="aisdk-input"
          value={input}
          onChange={(e) => setInput(e.target.value)}
          placeholder="Ask something — try “calculate 2+3”"
          aria-label="Message"
        />
        {busy ? (
          <button type="button" data-testid="aisdk-stop" onClick={() => void stop()}>
            Stop
          </button>
        ) : (
          <button type="submit" data-testid="aisdk-send" disabled={!input.trim()}>
            Send
          </button>
        )}
        <button
          type="button"
          data-testid="aisdk-regenerate"
          disabled={busy || !lastAnswer}
          onClick={() => lastAnswer && void regenerate({ messageId: lastAnswer.id })}
        >
          Regenerate
        </button>
      </form>
    </main>
  );
}

function Message({ message }: { message: UIMessage }) {
  return (
    <li className={`aisdk-message aisdk-${message.role}`} data-testid="aisdk-message" data-role={message.role} data-id={message.id}>
      {message.parts.map((part, index) => {
        if (part.type === "text") {
          return (
            <p key={index} className="aisdk-text" data-testid="aisdk-text">
              {part.text}
            </p>
          );
        }
        if (part.type === "reasoning") {
          return (
            <details key={index} className="aisdk-reasoning" data-testid="aisdk-reasoning" open>
              <summary>Reasoning</summary>
              {part.text}
            </details>
          );
        }
        if (isToolUIPart(part)) return <ToolPart key={part.toolCallId} part={part} />;
        return null;
      })}
    </li>
  );
}

type ToolPartOf = Extract<UIMessage["parts"][number], { toolCallId: string }>;

function ToolPart({ part }: { part: ToolPartOf }) {
  const name = part.type === "dynamic-tool" ? part.toolName : part.type.slice("tool-".length);
  const [answering, setAnswering] = useState(false);
  const answer = (approved: boolean) => {
    if (part.state !== "approval-requested") return;
    setAnswering(true);
    transport.approve(part.approval.id, approved).finally(() => setAnswering(false));
  };
  return (
    <div className="aisdk-tool" data-testid="aisdk-tool" data-name={name} data-state={part.state}>
      <div className="aisdk-tool-head">
        <code>{name}</code> <span className="aisdk-muted">{part.state}</span>
      </div>
      <pre data-testid="aisdk-tool-input">{JSON.stringify(part.input ?? null, null, 2)}</pre>
      {part.state === "output-available" && <pre data-testid="aisdk-tool-output">{JSON.stringify(part.output, null, 2)}</pre>}
      {part.state === "output-error" && <pre data-testid="aisdk-tool-error">{part.errorText}</pre>}
      {part.state === "output-denied" && <p className="aisdk-muted">Not run: denied.</p>}
      {part.state === "approval-requested" && (
        <div className="aisdk-approval">
          <button type="button" data-testid="aisdk-approve" disabled={answering} onClick={() => answer(true)}>
            Approve
          </button>
          <button type="button" data-testid="aisdk-deny" disabled={answering} onClick={() => answer(false)}>
            Deny
          </button>
        </div>
      )}
    </div>
  );
}
