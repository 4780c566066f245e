"""The reasoning a chat-model message carries, in each provider's shape.

Read from the raw content rather than `content_blocks`: langchain-core translates provider
blocks there only when `response_metadata` names the provider, and drops
`reasoning_content` when it does.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage


def reasoning_text(message: BaseMessage) -> str:
    """Reasoning text of a message or chunk, "" when it has none.

    Understands Anthropic `thinking` blocks, OpenAI Responses reasoning summaries
    (`{"type": "reasoning", "summary": [{"text"}]}`), LangChain v1 standard reasoning
    blocks (`{"type": "reasoning", "reasoning"}`) and `reasoning_content` in
    `additional_kwargs` (DeepSeek and other OpenAI-compatible servers).
    """
    parts: list[str] = []
    if isinstance(message.content, list):
        for block in message.content:
            if isinstance(block, dict):
                _block_reasoning(block, parts)
    extra = message.additional_kwargs.get("reasoning_content")
    if isinstance(extra, str):
        parts.append(extra)
    return "".join(parts)


def _block_reasoning(block: dict[Any, Any], parts: list[str]) -> None:
    kind = block.get("type")
    if kind == "thinking":
        _append_str(block.get("thinking"), parts)
    elif kind == "reasoning":
        _append_str(block.get("reasoning"), parts)
        summary = block.get("summary")
        if isinstance(summary, list):
            for item in summary:
                if isinstance(item, dict):
                    _append_str(item.get("text"), parts)


def _append_str(value: object, parts: list[str]) -> None:
    if isinstance(value, str) and value:
        parts.append(value)
