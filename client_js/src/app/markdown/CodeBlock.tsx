import type { Element, ElementContent } from "hast";
import { useEffect, useRef, useState, type ReactNode } from "react";

function textOf(node: ElementContent | Element): string {
  if (node.type === "text") return node.value;
  if (node.type === "element") return node.children.map(textOf).join("");
  return "";
}

function languageOf(pre: Element | undefined): string | null {
  const code = pre?.children.find((c): c is Element => c.type === "element" && c.tagName === "code");
  const classes = code?.properties.className;
  const list = Array.isArray(classes) ? classes : [];
  const language = list.map(String).find((c) => c.startsWith("language-"));
  return language ? language.slice("language-".length) : null;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (a page over plain http from another host): the older way.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

/** A fenced code block: its language, a copy button, and the highlighted code. */
export function CodeBlock({ node, children }: { node?: Element; children?: ReactNode }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  const language = languageOf(node);
  const copy = async () => {
    const code = node ? textOf(node).replace(/\n$/, "") : "";
    setCopied(await copyText(code));
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => setCopied(null), 1500);
  };
  return (
    <div className="code-block" data-testid="code-block" data-language={language ?? undefined}>
      <div className="code-head">
        <span className="code-language">{language ?? "code"}</span>
        <button type="button" className="code-copy" data-testid="copy-code" onClick={() => void copy()}>
          {copied === null ? "Copy" : copied ? "Copied" : "Copy failed"}
        </button>
      </div>
      <pre>{children}</pre>
    </div>
  );
}
