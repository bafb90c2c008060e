"""Fixtures of the LLM engine tests: the session's default engine (and vLLM's own) and a chat model on it."""

from __future__ import annotations

import pytest
from absent import absent
from llm_engine_fixture import vllm_engine  # noqa: F401  (vLLM's own server, for the tests marked vllm)

from core.settings import Settings


@pytest.fixture(scope="session")
def engine_settings(llm_engine) -> Settings:  # noqa: F811
    """Settings that reach the session's engine."""
    return Settings()


@pytest.fixture(scope="session")
def chat(engine_settings: Settings):
    """The chat model on the real engine: greedy, short replies (2 CPU cores)."""
    from models.llm.client import get_chat_model

    return get_chat_model(engine_settings, max_tokens=48)


@pytest.fixture(scope="session")
def tokenizer_ready() -> str:
    """The chat LLM's folder when it is prepared (its tokenizer counts prompts); skip otherwise."""
    from models.registry import get_registry

    status = get_registry().status("chat_llm")
    if status.state != "real" or "converted on first use" in status.source:
        absent("the chat LLM is not prepared: run `argus models prepare chat_llm`")
    return str(status.path)
