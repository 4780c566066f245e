import type { Notice } from "../core";

export function Notices({ notices, onDismiss }: { notices: readonly Notice[]; onDismiss: (id: string) => void }) {
  if (notices.length === 0) return null;
  return (
    <div className="notices">
      {notices.map((n) => (
        <div
          key={n.id}
          data-testid="notice"
          className={`banner banner-${n.level}`}
          role={n.level === "error" ? "alert" : "status"}
        >
          <div className="banner-text">{n.text}</div>
          <button className="icon-button" aria-label="Dismiss" onClick={() => onDismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
