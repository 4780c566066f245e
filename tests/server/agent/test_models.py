from __future__ import annotations

import pytest

from server.agent.demo_model import DemoChatModel
from server.agent.models import AgentConfigError, build_chat_model
from tests.conftest import SettingsFactory


def test_demo_is_the_default_and_follows_its_pace(make_settings: SettingsFactory) -> None:
    model = build_chat_model(make_settings(demo_tokens_per_s=12))
    assert isinstance(model, DemoChatModel)
    assert model.tokens_per_s == 12


def test_a_provider_without_its_package_says_what_to_install(
    make_settings: SettingsFactory,
) -> None:
    with pytest.raises(AgentConfigError, match="pip install langchain-openai"):
        build_chat_model(make_settings(agent_model="openai:gpt-4o-mini"))


def test_an_unknown_model_is_refused_clearly(make_settings: SettingsFactory) -> None:
    with pytest.raises(
        AgentConfigError, match="WS_AGENT_MODEL='no-such-model' could not be set up"
    ):
        build_chat_model(make_settings(agent_model="no-such-model"))
