"""The chat interface against the real default engine (llama.cpp, Qwen2.5-Coder-0.5B-Instruct Q4_K_M on the CPU).

Runs against whichever engine serves the configured port (vLLM too). Replies are kept short.
"""

from __future__ import annotations

from typing import Literal

import pytest
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from core.settings import Settings
from models.llm import server
from models.llm.budget import PromptTooLong, count_prompt_tokens, tokenizer_for
from models.llm.client import choose, get_chat_model, structured, to_messages
from models.llm.usage import UsageTracker

pytestmark = pytest.mark.integration


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"sunny in {city}"


@tool
def convert_currency(amount: float, currency: str) -> str:
    """Convert an amount of euros into another currency."""
    return f"{amount} EUR in {currency}"


class Fact(BaseModel):
    """One fact about a place."""

    place: str = Field(description="the place the question is about")
    kind: Literal["city", "country", "river", "mountain"] = Field(description="what sort of place it is")
    continent: Literal["Europe", "Asia", "Africa", "America", "Oceania"]
    confident: bool


def test_plain_answer_and_usage_accounting(chat) -> None:
    tracker = UsageTracker()
    reply = chat.invoke("What is the capital of France? Answer with one word.", config={"callbacks": [tracker]})
    assert "Paris" in reply.content
    (record,) = tracker.records
    assert record.prompt_tokens > 20 and 0 < record.completion_tokens <= 48 and record.latency_s > 0
    assert record.error is None and record.model == chat.model_name


def test_streaming_yields_several_chunks(chat) -> None:
    tracker = UsageTracker()
    chunks = [c.content for c in chat.stream("Count from 1 to 6, separated by commas.", config={"callbacks": [tracker]})]
    text = "".join(chunks)
    assert len([c for c in chunks if c]) >= 5
    assert "1" in text and "5" in text
    (record,) = tracker.records
    assert record.first_token_s is not None and record.first_token_s < record.latency_s
    assert record.completion_tokens >= 5  # usage arrives with the stream


@pytest.mark.parametrize(("question", "temperature"), [
    ("Tell me about Paris.", 0.0),
    ("Tell me about the Nile.", 0.0),
    ("Tell me about Japan.", 0.8),
])
def test_structured_output_is_always_schema_valid(chat, question: str, temperature: float) -> None:
    fact = structured(chat.bind(temperature=temperature, max_tokens=80), Fact).invoke(question)
    assert isinstance(fact, Fact)  # validated by pydantic; decoding was constrained to the schema


@pytest.mark.parametrize("choices", [["Berlin", "Madrid", "Paris"], ["Paris", "Madrid", "Berlin"]])
def test_choose_returns_the_right_choice_in_any_order(chat, choices: list[str]) -> None:
    # An unambiguous question in both orders: a choose() that returned the first or last option,
    # or let the model answer free text, fails one of them.
    assert choose(chat, "What is the capital of France?", choices) == "Paris"


def test_forced_tool_calls_come_back_parsed(chat) -> None:
    required = chat.bind_tools([get_weather, convert_currency], tool_choice="required")
    reply = required.invoke("What is the weather in Paris?")
    assert reply.tool_calls and reply.tool_calls[0]["name"] in {"get_weather", "convert_currency"}
    assert isinstance(reply.tool_calls[0]["args"], dict) and reply.tool_calls[0]["args"]
    named = chat.bind_tools([get_weather, convert_currency], tool_choice="convert_currency")
    reply = named.invoke("How much is 20 euros in dollars?")
    (call,) = reply.tool_calls
    assert call["name"] == "convert_currency" and set(call["args"]) == {"amount", "currency"}


def test_auto_mode_json_block_is_turned_into_a_tool_call(chat) -> None:
    reply = chat.bind_tools([get_weather]).invoke("What is the weather in Paris?", max_tokens=60)
    # This model writes a ```json block instead of <tool_call> tags; the fallback parser reads it.
    assert [c["name"] for c in reply.tool_calls] == ["get_weather"]
    assert "paris" in reply.tool_calls[0]["args"]["city"].lower()


def test_prompt_too_long_is_refused_before_sending(chat, engine_settings: Settings) -> None:
    window = chat.max_model_len  # as the server reports it
    assert window == engine_settings.engine_max_model_len
    background = "Background: " + " ".join(f"item{i}" for i in range(2500))
    long_history = [("user", background), ("assistant", "Noted."), ("user", "What is 2 + 2? Answer with a number.")]
    assert count_prompt_tokens(tokenizer_for(chat.tokenizer_path), to_messages(long_history)) > window
    tracker = UsageTracker()
    with pytest.raises(PromptTooLong):
        chat.invoke(long_history, config={"callbacks": [tracker]})
    assert tracker.records[0].prompt_tokens == 0  # no server round trip
    trimming = get_chat_model(engine_settings, trim=True, max_tokens=8)
    assert "4" in trimming.invoke(long_history).content  # the oldest turns were dropped instead


def test_status_of_the_serving_engine(llm_engine, engine_settings: Settings) -> None:
    st = server.status(engine_settings)
    assert st.healthy and st.model == llm_engine.model and st.max_model_len == llm_engine.max_model_len
    assert llm_engine.model in st.served_models
