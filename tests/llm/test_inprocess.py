"""The in-process transformers fallback behind the same interface."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel

from core.settings import Settings
from models.llm.client import choose, get_chat_model, structured
from models.llm.inprocess import InProcessChatModel

pytestmark = pytest.mark.integration

PROMPT = "Name three primary colours."


@pytest.fixture(scope="module")
def inprocess(tokenizer_ready: str) -> InProcessChatModel:
    model = get_chat_model(Settings(llm_backend="inprocess"), max_tokens=16)
    assert isinstance(model, InProcessChatModel)
    return model


def test_greedy_answer_and_prompt_match_the_served_model(inprocess: InProcessChatModel, chat) -> None:
    """The fallback answers, and builds the very prompt the engine builds: Qwen2.5's chat template and
    tokenizer are the same for the 0.5B it runs and the 1.5B llama.cpp serves by default (the exact tokens
    differ: other weights)."""
    local = inprocess.invoke(PROMPT)
    served = chat.invoke(PROMPT, max_tokens=16)
    assert {"red", "blue"} <= set(local.content.lower().replace(",", " ").replace(".", " ").split())
    assert local.usage_metadata["input_tokens"] == served.usage_metadata["input_tokens"]
    assert local.usage_metadata["output_tokens"] <= 16


class Verdict(BaseModel):
    colour: Literal["red", "green", "blue"]
    primary: bool


def test_structured_and_choose_are_constrained(inprocess: InProcessChatModel) -> None:
    verdict = structured(inprocess.bind(max_tokens=24), Verdict).invoke("Is red a primary colour?")
    assert isinstance(verdict, Verdict)
    assert choose(inprocess, "Is the sky green?", ["yes", "no"]) in {"yes", "no"}
