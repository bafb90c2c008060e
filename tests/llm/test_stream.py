"""`models.llm.stream`: `argus ask`'s light client streams from the real engine as the LangChain model does."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.settings import Settings
from models.llm.stream import EngineError, EngineStream, answer_stream

pytestmark = pytest.mark.integration


def test_streams_the_answer_the_chat_model_gives(chat, engine_settings: Settings) -> None:
    stream = answer_stream(engine_settings, max_tokens=48)
    assert isinstance(stream, EngineStream)
    messages = [("system", "You answer in one short sentence."), ("human", "What is the capital of France?")]
    pieces = list(stream.stream(messages))
    assert len(pieces) >= 3 and "Paris" in "".join(pieces)
    # the same answer; not compared character by character: a cached prefix is evaluated in other batches,
    # and with two threads the rounding may tip a near tie
    assert "Paris" in "".join(str(c.content) for c in chat.stream(messages))


def test_the_engine_refusal_is_one_clear_error(engine_settings: Settings) -> None:
    stream = answer_stream(engine_settings, max_tokens=48)
    too_long = "word " * (2 * engine_settings.engine_max_model_len)  # more than the context window
    with pytest.raises(EngineError, match=r"HTTP 4\d\d: .*context"):
        list(stream.stream([("human", too_long)]))


def test_an_unreachable_engine_is_one_clear_error(engine_settings: Settings) -> None:
    stream = answer_stream(engine_settings, max_tokens=48)
    stream.url = "http://127.0.0.1:9/v1/chat/completions"  # the discard port: nothing listens
    with pytest.raises(EngineError, match="ConnectError"):
        list(stream.stream([("human", "Hello")]))


def test_the_ask_path_does_not_import_langchain() -> None:
    code = ("import sys; import models.llm.stream, pipelines.retrieve.answer, pipelines.retrieve.search; "
            "print(sorted(m for m in sys.modules if m.startswith(('langchain', 'openai'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
