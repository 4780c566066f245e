import { useMemo } from "react";
import { partViews, type Part } from "../core";
import { Markdown } from "./markdown/Markdown";
import { ToolCallBlock } from "./ToolCallBlock";

interface Props {
  parts: readonly Part[];
  streaming: boolean;
  onApprove?: (callId: string, approved: boolean) => Promise<boolean>;
}

/**
 * An assistant message from its parts: text as markdown, reasoning folded away, each tool
 * call as one block. The same whether the parts streamed in just now or came from history.
 */
export function MessageParts({ parts, streaming, onApprove }: Props) {
  const views = useMemo(() => partViews(parts, streaming), [parts, streaming]);
  return (
    <>
      {views.map((view, index) => {
        const live = streaming && index === views.length - 1;
        switch (view.kind) {
          case "text":
            return (
              <div key={view.key} className="message-text markdown">
                <Markdown text={view.text} streaming={live} />
                {live ? <span className="cursor" aria-hidden="true" /> : null}
              </div>
            );
          case "reasoning":
            return (
              <details key={view.key} className="reasoning" data-testid="reasoning" data-live={live || undefined}>
                <summary>{live ? "Thinking…" : "Reasoning"}</summary>
                <div className="reasoning-text">{view.text}</div>
              </details>
            );
          case "tool":
            return <ToolCallBlock key={view.key} view={view} onApprove={onApprove} />;
        }
      })}
    </>
  );
}
