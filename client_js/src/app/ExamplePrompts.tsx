import type { Example } from "../generated/protocol";

interface Props {
  examples: readonly Example[];
  layout: "cards" | "chips";
  disabled?: boolean;
  onPick: (prompt: string) => void;
}

export function ExamplePrompts({ examples, layout, disabled = false, onPick }: Props) {
  if (examples.length === 0) return null;
  return (
    <div className={`examples examples-${layout}`}>
      {examples.map((e) => (
        <button
          key={e.id}
          className="example"
          data-testid="example-prompt"
          data-example-id={e.id}
          title={e.prompt}
          disabled={disabled}
          onClick={() => onPick(e.prompt)}
        >
          <span className="example-title">{e.title}</span>
          {layout === "cards" ? <span className="example-prompt">{e.prompt}</span> : null}
        </button>
      ))}
    </div>
  );
}
