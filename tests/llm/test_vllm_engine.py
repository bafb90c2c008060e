"""vLLM's own real tests (the GPU engine, selectable on CPUs): start, structured output, forced tool call, streaming.

Marked `vllm`: they start a vLLM server of their own on `engine_port + 2` (about a minute
and ~8 GB on a CPU) whatever the default engine is. Run them with `-m vllm`.
"""

from __future__ import annotations

from typing import Literal

import pytest
from langchain_core.tools import tool
from pydantic import BaseModel

from core.settings import Settings
from models.llm import server
from models.llm.client import get_chat_model, structured

pytestmark = [pytest.mark.integration, pytest.mark.vllm]


class Verdict(BaseModel):
    topic: Literal["cooking", "sports", "science"]
    confident: bool


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"sunny in {city}"


@pytest.fixture(scope="module")
def vllm_chat(vllm_engine):
    settings = Settings(llm_backend="vllm", engine_port=Settings().engine_port + 2, llm_base_url=None)
    assert server.status(settings).healthy and vllm_engine.backend == "vllm"
    return get_chat_model(settings, max_tokens=40)


def test_vllm_structured_output(vllm_chat) -> None:
    verdict = structured(vllm_chat, Verdict).invoke("How do I bake bread?")
    assert isinstance(verdict, Verdict)


def test_vllm_forced_tool_call(vllm_chat) -> None:
    reply = vllm_chat.bind_tools([get_weather], tool_choice="get_weather").invoke("Weather in Oslo?")
    (call,) = reply.tool_calls
    assert call["name"] == "get_weather" and isinstance(call["args"].get("city"), str)


def test_vllm_streaming(vllm_chat) -> None:
    chunks = [c.content for c in vllm_chat.stream("Count from 1 to 5, separated by commas.")]
    assert len([c for c in chunks if c]) >= 3 and "3" in "".join(chunks)
