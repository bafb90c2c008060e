"""`structured()` and `choose()` plumbing on a scripted chat model (no engine)."""

from __future__ import annotations

from typing import Literal

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from pydantic import BaseModel

from models.llm.client import StructuredOutputError, choose, json_schema_format, structured
from models.llm.usage import UsageTracker

pytestmark = pytest.mark.unit


class Label(BaseModel):
    label: Literal["spam", "ham"]
    score: float


def scripted(*replies: AIMessage) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(replies))


def test_reply_is_validated_and_think_stripped_and_callbacks_flow() -> None:
    tracker = UsageTracker()
    chat = scripted(AIMessage('<think>hmm</think>{"label": "spam", "score": 0.9}'))
    result = structured(chat, Label).invoke("Is 'WIN A PRIZE' spam?", config={"callbacks": [tracker]})
    assert result == Label(label="spam", score=0.9)
    assert tracker.summary().calls == 1


def test_invalid_reply_is_retried_with_the_error_then_refused() -> None:
    chat = scripted(AIMessage('{"label": "eggs", "score": 1}'), AIMessage('{"label": "ham", "score": 0.1}'))
    assert structured(chat, Label, retries=1).invoke("x") == Label(label="ham", score=0.1)
    chat = scripted(AIMessage("not json"), AIMessage("still not"))
    with pytest.raises(StructuredOutputError, match="not a valid Label"):
        structured(chat, Label, retries=1).invoke("x")


def test_a_reply_cut_off_at_max_tokens_is_reported_at_once() -> None:
    chat = scripted(AIMessage('{"label": "sp', response_metadata={"finish_reason": "length"}))
    with pytest.raises(StructuredOutputError, match="cut off at max_tokens"):
        structured(chat, Label, retries=3).invoke("x")


def test_response_format_carries_the_pydantic_schema() -> None:
    fmt = json_schema_format(Label)
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Label"
    assert fmt["json_schema"]["schema"]["properties"]["label"]["enum"] == ["spam", "ham"]


def test_choose_accepts_only_a_choice() -> None:
    assert choose(scripted(AIMessage("ham")), "Label it.", ["spam", "ham"]) == "ham"
    with pytest.raises(StructuredOutputError, match="none of"):
        choose(scripted(AIMessage("maybe")), "Label it.", ["spam", "ham"])


class LengthCutChatModel(GenericFakeChatModel):
    """A fake whose call fails as the OpenAI SDK's parse path does at max_tokens."""

    def _generate(self, *args, **kwargs):
        import openai
        from openai.types.chat import ChatCompletion

        raise openai.LengthFinishReasonError(
            completion=ChatCompletion(id="c", choices=[], created=0, model="m", object="chat.completion"))


def test_the_sdks_length_error_becomes_a_structured_output_error() -> None:
    # The SDK's exception cannot be copied (keyword-only constructor): it once crashed agent runs.
    import copy

    with pytest.raises(StructuredOutputError, match="cut off at max_tokens") as caught:
        structured(LengthCutChatModel(messages=iter([])), Label).invoke("x")
    assert caught.value.__cause__ is None
    copy.deepcopy(caught.value)
