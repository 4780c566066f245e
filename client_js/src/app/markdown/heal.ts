import remend from "remend";

// An opening or closing code fence: up to three spaces (more inside list items), then ``` or ~~~.
const FENCE = /^(\s*)(`{3,}|~{3,})(.*)$/;

/**
 * Closes a code fence the text opened and has not closed yet, so a code block still
 * streaming shows as a code block (and what follows it in a moment is not swallowed).
 */
export function closeOpenFence(text: string): string {
  let open: { indent: string; fence: string } | null = null;
  for (const line of text.split("\n")) {
    const match = FENCE.exec(line);
    if (!match) continue;
    const [, indent = "", fence = "", rest = ""] = match;
    if (open === null) {
      // A backtick fence's info string may not hold a backtick (that is inline code).
      if (fence.startsWith("`") && rest.includes("`")) continue;
      open = { indent, fence };
    } else if (fence[0] === open.fence[0] && fence.length >= open.fence.length && rest.trim() === "") {
      open = null;
    }
  }
  if (open === null) return text;
  return `${text}${text.endsWith("\n") ? "" : "\n"}${open.indent}${open.fence}\n`;
}

/**
 * Markdown that is still arriving, made whole for display: unclosed emphasis, inline code and
 * links are completed (remend, made for streamed model output), then an open fence is closed.
 * The text itself is not changed; only what is rendered from it.
 */
export function healMarkdown(text: string): string {
  return closeOpenFence(remend(text, { linkMode: "text-only", katex: false, inlineKatex: false }));
}
