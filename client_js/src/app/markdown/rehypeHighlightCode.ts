import type { Element, ElementContent, Root, RootContent } from "hast";
import { createLowlight } from "lowlight";
import { LANGUAGES } from "./languages";

const lowlight = createLowlight(LANGUAGES);

function textOf(node: ElementContent): string {
  if (node.type === "text") return node.value;
  if (node.type === "element") return node.children.map(textOf).join("");
  return "";
}

function languageOf(code: Element): string | null {
  const classes = code.properties.className;
  const list = Array.isArray(classes) ? classes.map(String) : [];
  const language = list.find((c) => c.startsWith("language-"))?.slice("language-".length);
  return language && lowlight.registered(language) ? language : null;
}

/**
 * Highlights `<pre><code class="language-x">` blocks of the languages registered in
 * LANGUAGES (highlight.js grammars through lowlight); others stay plain text.
 */
export function rehypeHighlightCode() {
  return (tree: Root): void => {
    const visit = (node: Root | RootContent, parent: Root | Element | null): void => {
      if (node.type === "element" && node.tagName === "code" && parent?.type === "element" && parent.tagName === "pre") {
        const language = languageOf(node);
        if (!language) return;
        const highlighted = lowlight.highlight(language, node.children.map(textOf).join(""));
        const classes = Array.isArray(node.properties.className) ? node.properties.className : [];
        node.properties.className = ["hljs", ...classes];
        node.children = highlighted.children as ElementContent[];
        return;
      }
      if ("children" in node) for (const child of node.children) visit(child, node.type === "element" || node.type === "root" ? node : null);
    };
    visit(tree, null);
  };
}
