"""Prompt + max_tokens against the context window, counted with the model's own tokenizer."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from models.llm.budget import PromptTooLong, count_prompt_tokens, fit_messages, tokenizer_for
from models.llm.client import ArgusChatOpenAI
from models.llm.usage import UsageTracker

pytestmark = pytest.mark.unit

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def test_counts_match_the_server(tokenizer_ready: str) -> None:
    # Figures the vLLM server reported as usage.prompt_tokens for the same requests.
    tok = tokenizer_for(tokenizer_ready)
    assert count_prompt_tokens(tok, [HumanMessage("What is the capital of France? One word.")]) == 39
    assert count_prompt_tokens(tok, [HumanMessage("What is the weather in Paris?")], [WEATHER_TOOL]) == 169


def test_too_long_is_raised_before_anything_is_sent(tokenizer_ready: str) -> None:
    tracker = UsageTracker()
    # Port 9 (discard) has no server: reaching it would be a connection error, not PromptTooLong.
    chat = ArgusChatOpenAI(base_url="http://127.0.0.1:9/v1", api_key="EMPTY", model="m", max_retries=0,
                           max_model_len=64, tokenizer_path=tokenizer_ready, max_tokens=16, callbacks=[tracker])
    with pytest.raises(PromptTooLong) as err:
        chat.invoke("word " * 40)
    assert err.value.max_model_len == 64 and err.value.max_tokens == 16 and err.value.prompt_tokens > 48
    assert "exceeds the model's context window of 64 tokens" in str(err.value)
    with pytest.raises(PromptTooLong):
        chat.invoke("short", max_tokens=60)  # the per-call budget counts too
    with pytest.raises(PromptTooLong):
        list(chat.stream("word " * 40))
    assert [r.error.split(":")[0] for r in tracker.records] == ["PromptTooLong"] * 3


def test_trim_drops_the_oldest_turns_and_orphaned_tool_results(tokenizer_ready: str) -> None:
    tok = tokenizer_for(tokenizer_ready)
    call = AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "c1"}])
    messages = [
        SystemMessage("You are terse."),
        HumanMessage("old question " * 30),
        call,
        ToolMessage("rain " * 30, tool_call_id="c1"),
        AIMessage("It rains."),
        HumanMessage("And now?"),
    ]
    # The vLLM server reported usage.prompt_tokens 161 for the system prompt and the last exchange with
    # this tool, and 296 for all six messages. A window with room for those 161 (+ 10 to answer) only:
    # the question, the call and its result must go.
    assert count_prompt_tokens(tok, messages, [WEATHER_TOOL]) == 296
    kept, prompt = fit_messages(tok, messages, max_tokens=10, max_model_len=161 + 10, tools=[WEATHER_TOOL], trim=True)
    assert kept == [messages[0], *messages[4:]]  # the tool result went with the call it answers
    assert prompt == 161
    with pytest.raises(PromptTooLong):  # the system prompt and the last turn alone are too long
        fit_messages(tok, messages, max_tokens=10, max_model_len=20, trim=True)
