"""Example prompts offered by `chat:examples`: one of each kind the demo model knows."""

from __future__ import annotations

from schemas.chat import Example

EXAMPLES: tuple[Example, ...] = (
    Example(id="count", title="Count to 20", prompt="count to 20"),
    Example(id="calculate", title="Use the calculator", prompt="calculate (12 + 30) * 2 / 4"),
    Example(id="remind", title="Approve a tool call", prompt="remind me to water the plants"),
    Example(id="think", title="Watch it reason", prompt="think about distributed clocks"),
    Example(id="markdown", title="Show markdown", prompt="show markdown"),
    Example(
        id="explain",
        title="Ask a question",
        prompt="What makes a chat server recover well from dropped connections?",
    ),
)
