import { memo } from "react";
import ReactMarkdown, { type Components, type Options } from "react-markdown";
import rehypeSanitize from "rehype-sanitize";
import remarkGfm from "remark-gfm";
import { CodeBlock } from "./CodeBlock";
import { healMarkdown } from "./heal";
import { rehypeHighlightCode } from "./rehypeHighlightCode";
import { rehypeRawAsText } from "./rehypeRawAsText";

const remarkPlugins: Options["remarkPlugins"] = [remarkGfm];
// Raw HTML becomes text, then GitHub's sanitizing schema (safe URLs, no scripts or handlers),
// then highlighting, whose classes the sanitizer would otherwise strip.
const rehypePlugins: Options["rehypePlugins"] = [
  rehypeRawAsText,
  rehypeSanitize,
  rehypeHighlightCode,
];

const components: Components = {
  pre: ({ node, children }) => <CodeBlock node={node}>{children}</CodeBlock>,
  a: ({ node: _node, ...props }) => <a {...props} target="_blank" rel="noopener noreferrer nofollow" />,
};

/** An assistant's text as markdown; while it streams, unfinished syntax is closed for display. */
function MarkdownView({ text, streaming = false }: { text: string; streaming?: boolean }) {
  return (
    <ReactMarkdown remarkPlugins={remarkPlugins} rehypePlugins={rehypePlugins} components={components}>
      {streaming ? healMarkdown(text) : text}
    </ReactMarkdown>
  );
}

export const Markdown = memo(MarkdownView);
