from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.rate_limiters import InMemoryRateLimiter
from langchain_core.runnables import RunnableConfig

from server.agent.calculator import calculator_tool
from server.agent.demo_model import DemoChatModel
from server.agent.model_stream import ModelStream


class _Counting(DemoChatModel):
    """The demo model, counting the turns LangChain's `astream` ran."""

    wrapped: int = 0

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[AIMessageChunk]:
        self.wrapped += 1
        async for chunk in super().astream(input, config, **kwargs):
            yield chunk


class _Tokens(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    async def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], **kwargs: Any
    ) -> None:
        assert isinstance(token, str)
        self.tokens.append(token)


def _same(chunk: BaseMessage) -> dict[str, Any]:
    return chunk.model_dump(exclude={"id"})


async def _turn(stream: ModelStream, text: str) -> list[Any]:
    return [chunk async for chunk in stream.astream([HumanMessage(text)])]


async def test_read_directly_it_streams_what_astream_streams() -> None:
    model = DemoChatModel(tokens_per_s=0).bind_tools([calculator_tool])
    stream = ModelStream(model)
    assert stream.direct
    for text in ("count to 5", "calculate 2*(3+4)", "think about tides"):
        wrapped = [chunk async for chunk in model.astream([HumanMessage(text)])]
        direct = await _turn(stream, text)
        assert [_same(c) for c in direct] == [_same(c) for c in wrapped]
        assert len({c.id for c in direct}) == 1
        assert direct[0].id.startswith("lc_run--")


async def test_no_handler_no_astream() -> None:
    model = _Counting(tokens_per_s=0)
    await _turn(ModelStream(model), "count to 3")
    assert model.wrapped == 0


async def test_a_callback_handler_gets_every_token_through_astream() -> None:
    handler = _Tokens()
    model = _Counting(tokens_per_s=0, callbacks=[handler])
    chunks = await _turn(ModelStream(model), "count to 3")
    assert model.wrapped == 1
    assert "".join(handler.tokens) == "".join(c.content for c in chunks) == "1 2 3"


async def test_content_that_is_not_plain_text_goes_through_astream() -> None:
    model = _Counting(tokens_per_s=0)
    blocks = HumanMessage(content=[{"type": "text", "text": "count to 2"}])
    chunks = [c async for c in ModelStream(model).astream([blocks])]
    assert model.wrapped == 1
    assert chunks


def test_what_rules_out_reading_directly() -> None:
    limited = DemoChatModel(rate_limiter=InMemoryRateLimiter(requests_per_second=100))
    assert not ModelStream(limited).direct
    assert not ModelStream(DemoChatModel(output_version="v1")).direct
    assert not ModelStream(DemoChatModel(disable_streaming=True)).direct
    assert not ModelStream(DemoChatModel().with_config(tags=["t"])).direct

    class SyncOnly(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "sync-only"

        def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

        def _stream(
            self, messages: list[BaseMessage], *args: Any, **kwargs: Any
        ) -> Iterator[ChatGenerationChunk]:
            yield ChatGenerationChunk(message=AIMessageChunk(content="x"))

    assert not ModelStream(SyncOnly()).direct


async def test_generation_info_is_folded_into_response_metadata() -> None:
    class WithInfo(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "with-info"

        def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

        async def _astream(
            self, messages: list[BaseMessage], *args: Any, **kwargs: Any
        ) -> AsyncIterator[ChatGenerationChunk]:
            yield ChatGenerationChunk(
                message=AIMessageChunk(content="a", id="own", response_metadata={"m": 1}),
                generation_info={"finish_reason": "stop"},
            )

    model = WithInfo()
    stream = ModelStream(model)
    assert stream.direct
    (direct,) = await _turn(stream, "hi")
    wrapped = [c async for c in model.astream([HumanMessage("hi")])]
    assert direct.id == "own"
    assert direct.response_metadata == wrapped[0].response_metadata
    assert isinstance(direct, AIMessage)
