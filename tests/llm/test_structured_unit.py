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


def test_choice_grammar_accepts_exactly_the_choices() -> None:
    from models.llm.client import choice_grammar

    assert choice_grammar(["yes", "no"]) == 'root ::= "yes" | "no"'
    assert choice_grammar(['say "hi"', "a\\b\nc"]) == 'root ::= "say \\"hi\\"" | "a\\\\b\\nc"'


# ---------------------------------------------------------------- the OpenAI client on a scripted HTTP server

def _fake_openai_server(reply: str, finish_reason: str, seen: list[dict]):
    """An httpx transport that answers chat completions like an OpenAI server (unit tests only)."""
    import json

    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        return httpx.Response(200, json={
            "id": "fake", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": finish_reason,
                         "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        })

    return httpx.Client(transport=httpx.MockTransport(handler))


def _chat_on(http_client, **kw):
    from models.llm.client import ArgusChatOpenAI

    return ArgusChatOpenAI(base_url="http://fake/v1", api_key="x", model="m", http_client=http_client,
                           max_retries=0, use_responses_api=False, **kw)


def test_a_length_cut_structured_reply_raises_structured_output_error_not_a_type_error() -> None:
    """A json_schema response_format goes as a body field, so the SDK's parse path (and its
    LengthFinishReasonError, whose keyword-only constructor cannot be copied or pickled) is never taken."""
    import copy
    import pickle

    seen: list[dict] = []
    chat = _chat_on(_fake_openai_server('{"label": "sp', "length", seen))
    with pytest.raises(StructuredOutputError, match="cut off at max_tokens") as err:
        structured(chat, Label).invoke("x")
    assert seen[0]["response_format"]["type"] == "json_schema"  # still constrained on the server
    assert seen[0]["response_format"]["json_schema"]["schema"]["properties"]["label"]["enum"] == ["spam", "ham"]
    pickle.loads(pickle.dumps(err.value))  # survives LangGraph checkpoints and process pools
    copy.deepcopy(err.value)


def test_the_sdk_length_error_itself_is_what_broke() -> None:
    """Why: openai's LengthFinishReasonError cannot be re-created from its args (the reported TypeError)."""
    import pickle

    import openai
    from openai.types.chat import ChatCompletion

    completion = ChatCompletion.model_validate({
        "id": "x", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "{"}}]})
    with pytest.raises(TypeError, match="positional argument"):
        pickle.loads(pickle.dumps(openai.LengthFinishReasonError(completion=completion)))


def test_a_pydantic_response_format_cut_off_is_reported_as_structured_output_error() -> None:
    seen: list[dict] = []
    chat = _chat_on(_fake_openai_server('{"label": "sp', "length", seen))
    with pytest.raises(StructuredOutputError, match="cut off"):
        chat.invoke("x", response_format=Label)  # LangChain's parse path: the SDK raises, the client translates


def test_choose_sends_a_grammar_to_llamacpp_and_a_choice_to_vllm() -> None:
    seen: list[dict] = []
    assert choose(_chat_on(_fake_openai_server("ham", "stop", seen), engine_backend="llamacpp"),
                  "Label it.", ["spam", "ham"]) == "ham"
    assert seen[-1]["grammar"] == 'root ::= "spam" | "ham"' and "structured_outputs" not in seen[-1]
    assert choose(_chat_on(_fake_openai_server("spam", "stop", seen), engine_backend="vllm"),
                  "Label it.", ["spam", "ham"]) == "spam"
    assert seen[-1]["structured_outputs"] == {"choice": ["spam", "ham"]} and "grammar" not in seen[-1]


def test_every_llm_request_has_a_connect_and_read_timeout(tmp_path) -> None:
    from core.settings import Settings
    from models.llm.client import get_chat_model

    s = Settings(home=tmp_path, llm_connect_timeout_s=3, llm_read_timeout_s=77, engine_port=9131)
    chat = get_chat_model(s, start=False)
    for client in (chat.http_client, chat.http_async_client):
        assert client.timeout.connect == 3 and client.timeout.read == 77
    assert chat.request_timeout.connect == 3 and chat.request_timeout.read == 77


def test_a_forced_tool_choice_goes_to_llamacpp_as_a_call_schema() -> None:
    """llama.cpp finds no tool-call grammar in Qwen2.5's template: the client constrains the call itself."""
    from langchain_core.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return city

    @tool
    def get_time(city: str) -> str:
        """Time in a city."""
        return city

    seen: list[dict] = []
    chat = _chat_on(_fake_openai_server('{"name": "get_time", "arguments": {"city": "Oslo"}}', "stop", seen),
                    engine_backend="llamacpp")
    reply = chat.bind_tools([get_weather, get_time], tool_choice="get_time").invoke("x")
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("get_time", {"city": "Oslo"})]
    body = seen[-1]
    assert body["tool_choice"] == "auto" and [t["function"]["name"] for t in body["tools"]] == ["get_time"]
    assert body["response_format"]["json_schema"]["schema"]["properties"]["name"] == {"const": "get_time"}
    chat.bind_tools([get_weather, get_time], tool_choice="required").invoke("x")
    names = [c["properties"]["name"]["const"] for c in seen[-1]["response_format"]["json_schema"]["schema"]["anyOf"]]
    assert names == ["get_weather", "get_time"]
    chat = _chat_on(_fake_openai_server("ok", "stop", seen), engine_backend="vllm")
    chat.bind_tools([get_weather, get_time], tool_choice="get_time").invoke("x")
    assert seen[-1]["tool_choice"]["function"]["name"] == "get_time" and "response_format" not in seen[-1]
