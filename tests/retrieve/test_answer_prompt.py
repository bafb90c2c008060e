"""The answer's prompt suits the chat model: the 0.5B gets no decline example (it over-declines with one)."""

from __future__ import annotations

import pytest

from core.types import Citation, Evidence
from pipelines.retrieve import answer_prompt as prompts
from pipelines.retrieve.answer_prompt import answer_prompt

pytestmark = pytest.mark.unit

EVIDENCE = [Evidence(citation=Citation(source_id=1, source="lamp.md", type="document"),
                     text="The lamp is cleaned every Tuesday morning.", score=0.9, channels={})]


def test_the_larger_model_is_shown_how_to_decline() -> None:
    messages = answer_prompt("When is the lamp cleaned?", EVIDENCE, "qwen2.5-coder-1.5b")
    assert messages[0] == ("system", prompts.ANSWER)
    assert ("ai", prompts.DECLINE_EXAMPLE[1]) in messages[1:-1]
    role, text = messages[-1]
    assert role == "human" and "When is the lamp cleaned?" in text and "[1] (lamp.md)" in text


def test_the_small_model_gets_the_looser_instruction_and_no_decline_example() -> None:
    messages = answer_prompt("When is the lamp cleaned?", EVIDENCE, "qwen2.5-coder-0.5b")
    assert messages[0] == ("system", prompts.ANSWER_SMALL_MODEL)
    assert all(text != prompts.DECLINE_EXAMPLE[1] for _, text in messages)
    assert len(messages) == 2 * len(prompts.EXAMPLES) + 2
