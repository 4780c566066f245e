"""Which chat model answers: the offline demo, or any provider LangChain can initialise."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from server.agent.demo_model import DemoChatModel
from server.settings import Settings


class AgentConfigError(RuntimeError):
    """WS_AGENT_MODEL names a model that cannot be set up; the message says what to do."""


def build_chat_model(settings: Settings) -> BaseChatModel:
    if settings.agent_model == "demo":
        return DemoChatModel(tokens_per_s=settings.demo_tokens_per_s)
    from langchain.chat_models import init_chat_model

    name = settings.agent_model
    try:
        model = init_chat_model(name)
    except ImportError as exc:
        raise AgentConfigError(
            f"WS_AGENT_MODEL={name!r} needs its provider package: {exc}"
        ) from None
    except Exception as exc:
        # Missing API keys and unknown providers surface here, before any user is waiting.
        raise AgentConfigError(f"WS_AGENT_MODEL={name!r} could not be set up: {exc}") from None
    if not isinstance(model, BaseChatModel):
        raise AgentConfigError(f"WS_AGENT_MODEL={name!r} did not give a chat model")
    return model
