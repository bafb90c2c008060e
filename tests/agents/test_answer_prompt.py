"""The answer's prompt suits the chat model: the 0.5B gets no decline example (it over-declines with one)."""

from __future__ import annotations

import pytest

from agents import prompts
from agents.answering import answer_prompt
from core.types import Citation, Evidence

pytestmark = pytest.mark.unit

EVIDENCE = [Evidence(citation=Citation(source_id=1, source="lamp.md", type="document"),
                     text="The lamp is cleaned every Tuesday morning.", score=0.9, channels={})]


def test_the_larger_model_is_shown_how_to_decline() -> None:
    messages = answer_prompt("When is the lamp cleaned?", EVIDENCE, "qwen2.5-coder-1.5b")
    assert messages[0].content == prompts.ANSWER
    assert any(m.content == prompts.DECLINE_EXAMPLE[1] for m in messages[1:-1])
    assert "When is the lamp cleaned?" in messages[-1].content and "[1] (lamp.md)" in messages[-1].content


def test_the_small_model_gets_the_looser_instruction_and_no_decline_example() -> None:
    messages = answer_prompt("When is the lamp cleaned?", EVIDENCE, "qwen2.5-coder-0.5b")
    assert messages[0].content == prompts.ANSWER_SMALL_MODEL
    assert all(m.content != prompts.DECLINE_EXAMPLE[1] for m in messages)
    assert len(messages) == 2 * len(prompts.ANSWER_EXAMPLES) + 2
