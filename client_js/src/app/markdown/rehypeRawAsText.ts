import type { Root, RootContent } from "hast";

type Node = Root | RootContent;

/**
 * Raw HTML in a message is shown as the text it is, never parsed into elements. Runs before
 * sanitizing, which would otherwise drop it silently.
 */
export function rehypeRawAsText() {
  return (tree: Root): void => {
    const visit = (node: Node): void => {
      if (!("children" in node)) return;
      node.children = node.children.map((child) =>
        (child as { type: string }).type === "raw" ? { type: "text", value: (child as { value: string }).value } : child,
      ) as typeof node.children;
      node.children.forEach(visit);
    };
    visit(tree);
  };
}
