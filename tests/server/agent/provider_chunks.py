"""Chunks shaped as providers stream them through their LangChain packages."""

from __future__ import annotations

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call_chunk


def openai_call(
    name: str, call_id: str, args: str, sizes: tuple[int, ...] = (4, 5, 6)
) -> list[AIMessageChunk]:
    """A tool call as OpenAI streams it: id and name first, then the JSON args in fragments
    of `sizes` (then the rest), every fragment at index 0."""
    chunks = [
        AIMessageChunk(
            content="", tool_call_chunks=[tool_call_chunk(name=name, args="", id=call_id, index=0)]
        )
    ]
    start = 0
    for size in (*sizes, len(args)):
        piece = args[start : start + size]
        start += size
        if piece:
            chunks.append(
                AIMessageChunk(
                    content="",
                    tool_call_chunks=[tool_call_chunk(name=None, args=piece, id=None, index=0)],
                )
            )
    return chunks


def anthropic_turn(
    thinking: list[str], text: list[str], call: tuple[str, str, list[str]] | None = None
) -> list[AIMessageChunk]:
    """An Anthropic turn with extended thinking: thinking deltas (then its signature), text
    deltas, then a tool_use block whose input arrives as input_json_delta fragments."""
    meta = {"model_provider": "anthropic"}
    chunks = [
        AIMessageChunk(
            content=[{"type": "thinking", "thinking": piece, "index": 0}], response_metadata=meta
        )
        for piece in thinking
    ]
    chunks.append(
        AIMessageChunk(
            content=[{"type": "thinking", "signature": "sig-1", "index": 0}],
            response_metadata=meta,
        )
    )
    chunks += [
        AIMessageChunk(
            content=[{"type": "text", "text": piece, "index": 1}], response_metadata=meta
        )
        for piece in text
    ]
    if call is not None:
        name, call_id, fragments = call
        chunks.append(
            AIMessageChunk(
                content=[
                    {"type": "tool_use", "id": call_id, "name": name, "input": {}, "index": 2}
                ],
                tool_call_chunks=[tool_call_chunk(name=name, args="", id=call_id, index=2)],
                response_metadata=meta,
            )
        )
        chunks += [
            AIMessageChunk(
                content=[{"type": "input_json_delta", "partial_json": piece, "index": 2}],
                tool_call_chunks=[tool_call_chunk(name=None, args=piece, id=None, index=2)],
                response_metadata=meta,
            )
            for piece in fragments
        ]
    return chunks


def text(*pieces: str, usage: tuple[int, int] | None = None) -> list[AIMessageChunk]:
    """Plain text chunks; `usage` (input, output) is reported on the last one."""
    chunks = [AIMessageChunk(content=piece) for piece in pieces]
    if usage is not None:
        chunks[-1] = AIMessageChunk(content=pieces[-1], usage_metadata=usage_of(*usage))
    return chunks


def usage_of(input_tokens: int, output_tokens: int) -> UsageMetadata:
    return UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )
