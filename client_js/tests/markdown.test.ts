import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { Markdown } from "../src/app/markdown/Markdown";
import { closeOpenFence, healMarkdown } from "../src/app/markdown/heal";

const render = (text: string, streaming = false) => renderToStaticMarkup(createElement(Markdown, { text, streaming }));

describe("closing an unfinished code fence while it streams", () => {
  it("closes an open fence with the same fence", () => {
    expect(closeOpenFence("Here:\n```python\nprint(1)")).toBe("Here:\n```python\nprint(1)\n```\n");
    expect(closeOpenFence("~~~~\nx\n")).toBe("~~~~\nx\n~~~~\n");
    expect(closeOpenFence("- item\n  ```js\n  let a")).toBe("- item\n  ```js\n  let a\n  ```\n");
  });

  it("leaves closed fences, inline code and text alone", () => {
    for (const text of ["```\na\n```\nafter", "no fences", "use ```inline``` here", "````\n```\nstill open inside\n````"]) {
      expect(closeOpenFence(text)).toBe(text);
    }
  });

  it("needs a closing fence at least as long as the opening one, without an info string", () => {
    expect(closeOpenFence("````\n```\n")).toBe("````\n```\n````\n");
    expect(closeOpenFence("```\n```js\n")).toBe("```\n```js\n```\n");
  });

  it("completes unfinished emphasis and inline code, never inside a code block", () => {
    expect(healMarkdown("Some **bold")).toBe("Some **bold**");
    expect(healMarkdown("Run `ls")).toBe("Run `ls`");
    expect(healMarkdown("```py\nx = '**")).toBe("```py\nx = '**\n```\n");
  });
});

describe("markdown of assistant messages", () => {
  const reply = [
    "# Markdown, rendered",
    "",
    "Some **bold** text and `inline code`, with [a link](https://example.com).",
    "",
    "- one",
    "- two",
    "",
    "```python",
    "def greet(name):",
    '    return f"hello {name}"',
    "```",
    "",
    '<img src=x onerror="window.__xss=1">',
    "",
    '<script>alert(1)</script> and <b onclick="x()">inline</b>',
  ].join("\n");

  it("renders a heading, bold, a list, inline code and a highlighted code block with a copy button", () => {
    const html = render(reply);
    expect(html).toContain("<h1>Markdown, rendered</h1>");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toMatch(/<ul>\s*<li>one<\/li>/);
    expect(html).toContain("<code>inline code</code>");
    expect(html).toContain('data-language="python"');
    expect(html).toContain('data-testid="copy-code"');
    expect(html).toContain('<span class="hljs-keyword">def</span>');
    expect(html).toContain('rel="noopener noreferrer nofollow"');
  });

  it("shows raw HTML as text: no element, no handler", () => {
    const html = render(reply);
    expect(html).not.toMatch(/<img|<script|<b[ >]/);
    expect(html).not.toMatch(/ on\w+="/);
    expect(html).toContain("&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  it("drops links to scripts", () => {
    expect(render("[click](javascript:alert(1))")).not.toContain("javascript:");
  });

  it("renders a fence still streaming as a code block, and the same text whole once complete", () => {
    const partial = "Code:\n\n```python\nprint('hi')";
    const streaming = render(partial, true);
    expect(streaming).toContain('data-testid="code-block"');
    expect(streaming).toContain("print");
    expect(render(`${partial}\n\`\`\`\n\nAfter.`)).toContain("<p>After.</p>");
  });
});
