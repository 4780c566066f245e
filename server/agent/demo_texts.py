"""The fixed texts the demo model answers with."""

from __future__ import annotations

# Everything a client's markdown rendering must handle, and one line it must show as text.
MARKDOWN = """\
# Markdown in answers

Answers are **markdown**: the client renders them as they stream.

- a bullet list
- `inline code`
- a [link to LangChain](https://python.langchain.com/)

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

The next line is raw HTML, which must show as text and never run:

<img src=x onerror="window.__xss=1">"""


def thinking(topic: str) -> str:
    return (
        f"The user wants me to think about {topic}. "
        "I should say what it is, why it matters, and give one concrete example. "
        "A short answer is better than a long one here."
    )


def thought(topic: str) -> str:
    return (
        f"Here is a thought about {topic}: it gets clearer once you write it down and try "
        "it on one concrete example, then on a second that is a little different."
    )


def chat(opener: str, snippet: str) -> str:
    echo = f'You wrote: "{snippet}". ' if snippet else ""
    return (
        f"{opener} this is the Netra demo model, running entirely offline. {echo}"
        'Try "count to 20" to watch streaming, or "calculate 2*(3+4)" to see a tool call. '
        "The same message always gets the same reply, which keeps demos predictable."
    )
