"""An agent of one's own, served by the chat: `WS_AGENT=examples.custom_agent:agent make run`.

`agent` is an ordinary LangChain `create_agent` graph with a tool of its own. Its model here
is the offline demo model, so the example runs without a key; put any chat model in its
place, e.g. `init_chat_model("openai:gpt-4o-mini")`, and it decides for itself when to count.
The demo model calls a tool when asked `call word_count {"text": "one two three"}`.
"""

from __future__ import annotations

from langchain.agents import create_agent
from langchain_core.tools import tool

from server.agent.demo_model import DemoChatModel


@tool
def word_count(text: str) -> dict[str, int]:
    """Count the words and characters of a text."""
    return {"words": len(text.split()), "characters": len(text)}


agent = create_agent(
    DemoChatModel(),
    tools=[word_count],
    system_prompt="You are an editor. Use word_count whenever you are asked about length.",
)
