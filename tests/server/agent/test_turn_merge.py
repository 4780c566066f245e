from __future__ import annotations

from langchain_core.messages import AIMessage

from server.agent.runner import _merged_so_far, _turn_message
from server.agent.stream_decode import StreamAccumulator
from tests.server.agent import provider_chunks as shapes


def _staged(chunks: list[AIMessage], every: int) -> list[AIMessage]:
    kept: list[AIMessage] = []
    for seen, chunk in enumerate(chunks, 1):
        kept.append(chunk)
        if not seen % every:
            kept = _merged_so_far(kept)
    return kept


def _message(chunks: list[AIMessage]) -> AIMessage:
    accumulator = StreamAccumulator()
    for chunk in chunks:
        accumulator.feed(chunk)
    return _turn_message(chunks, accumulator.finish())


def test_merging_in_steps_gives_the_message_merging_at_the_end_gives() -> None:
    anthropic = shapes.anthropic_turn(
        [f"thought {i} " for i in range(20)],
        [f"word{i} " for i in range(25)],
        ("calculator", "toolu_1", ['{"expr', 'ession"', ': "1+', '2"}']),
    )
    openai = [
        *shapes.text(*(f"t{i} " for i in range(30))),
        *shapes.openai_call("calculator", "call_1", '{"expression": "6*7"}', (1, 2, 3, 4)),
    ]
    for chunks in (anthropic, openai):
        whole = _message(list(chunks))
        assert whole.tool_calls
        for every in (2, 5, 16):
            staged = _message(_staged(list(chunks), every))
            assert staged.model_dump() == whole.model_dump()
