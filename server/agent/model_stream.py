"""A chat model's stream, with LangChain's per-chunk bookkeeping only when someone listens.

`BaseChatModel.astream` wraps the model's own `_astream` (the method every LangChain chat
model implements to stream) in run bookkeeping for its callbacks: per chunk a callback
dispatch, a new metadata dict and an id set through pydantic, every chunk kept, and at the
end all of them merged into one message for `on_llm_end`. With no callback handler
configured (no tracer, no handler passed in by a parent run) nobody reads any of it: about
5 µs a token and, at each turn's end, a merge of the whole turn in one go. Then the model's
`_astream` is read directly, with the two things `astream` does to each chunk that a reader
can see (its id when the model set none, generation info folded into its response
metadata). Whenever anything could differ (a handler, a rate limiter, `output_version="v1"`,
content that is not plain text, a model that streams only synchronously, a bound config),
the model is streamed through `astream` as before.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManager
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableBinding
from langchain_core.runnables.config import ensure_config

# `astream` names each run's chunks "lc_run-" + "-" + the run's id when the model gave none.
_RUN_ID_PREFIX = "lc_run--"


class ModelStream:
    """Streams `runnable` (a chat model, or one bound by `bind_tools`) for one turn."""

    def __init__(self, runnable: Runnable[LanguageModelInput, BaseMessage]) -> None:
        self._runnable = runnable
        self._direct = _direct_target(runnable)

    @property
    def direct(self) -> bool:
        """Whether the model can be read directly at all (a handler may still rule it out)."""
        return self._direct is not None

    def astream(self, messages: Sequence[BaseMessage]) -> AsyncIterator[Any]:
        direct = self._direct
        if direct is None or not _quiet(direct[0], messages):
            return self._runnable.astream(list(messages))
        model, kwargs = direct
        return _read_directly(model, list(messages), kwargs)


def _direct_target(
    runnable: Runnable[LanguageModelInput, BaseMessage],
) -> tuple[BaseChatModel, dict[str, Any]] | None:
    model: Runnable[Any, Any] = runnable
    kwargs: dict[str, Any] = {}
    if isinstance(runnable, RunnableBinding):
        if runnable.config or runnable.config_factories:
            return None
        model, kwargs = runnable.bound, dict(runnable.kwargs)
    if not isinstance(model, BaseChatModel):
        return None
    # Only a model with an async stream of its own: LangChain runs a sync one in a thread.
    if type(model)._astream is BaseChatModel._astream:
        return None
    if model.rate_limiter is not None or getattr(model, "output_version", None) == "v1":
        return None
    if not model._should_stream(async_api=True, **{**kwargs, "stream": True}):
        return None
    return model, kwargs


def _quiet(model: BaseChatModel, messages: Sequence[BaseMessage]) -> bool:
    """No callback handler would see this turn, and its input needs no normalising."""
    if any(not isinstance(message.content, str) for message in messages):
        return False
    config = ensure_config(None)  # a parent run's callbacks, tags and metadata, if any
    manager = AsyncCallbackManager.configure(
        config.get("callbacks"),
        model.callbacks,
        model.verbose,
        config.get("tags"),
        model.tags,
        config.get("metadata"),
        model.metadata,
    )
    return not manager.handlers


async def _read_directly(
    model: BaseChatModel, messages: list[BaseMessage], kwargs: dict[str, Any]
) -> AsyncIterator[Any]:
    run_id = f"{_RUN_ID_PREFIX}{uuid.uuid4()}"
    async for generation in model._astream(messages, **kwargs):
        message = generation.message
        if message.id is None:
            message.id = run_id
        info = generation.generation_info
        if info:
            message.response_metadata = {**info, **message.response_metadata}
        yield message
