"""One chat completion streamed as text from the engine, with httpx alone.

`argus ask` runs in a fresh process each time, and importing LangChain and the OpenAI SDK there
costs about a second on a 2-core CPU: a fifth of a cited answer. The command needs one streamed
completion and nothing else of the chat model (no tools, no structured output), so it gets this
small client of the same OpenAI-compatible endpoint, with the same engine start, sampling
defaults, timeouts and `<think>` stripping. With `llm_backend = "inprocess"` there is no endpoint,
and `answer_stream` returns the LangChain chat model instead (its `.stream` yields chunks).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from core.settings import Settings, get_settings
from models.llm.parsing import ThinkStripper
from models.llm.server import EngineInfo, ensure_running
from models.llm.server_probe import llm_timeout

ROLES = {"system": "system", "human": "user", "user": "user", "ai": "assistant", "assistant": "assistant"}


class EngineError(RuntimeError):
    """The engine refused or broke off a completion (its own message is kept)."""


class EngineStream:
    """`.stream(messages)` yields the reply's text as the engine generates it (greedy)."""

    def __init__(self, info: EngineInfo, settings: Settings, max_tokens: int | None = None) -> None:
        self.url = f"{info.base_url.rstrip('/')}/chat/completions"
        self.model = info.model
        self.max_tokens = max_tokens or settings.llm_max_tokens
        self.headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
        self.timeout = llm_timeout(settings)
        self.trust_env = bool(settings.llm_base_url)  # loopback traffic never goes through a proxy

    def stream(self, messages: list[tuple[str, str]]) -> Iterator[str]:
        body = {"model": self.model, "messages": [{"role": ROLES[role], "content": text} for role, text in messages],
                "stream": True, "temperature": 0.0, "max_tokens": self.max_tokens}
        stripper = ThinkStripper()
        try:
            with httpx.Client(timeout=self.timeout, trust_env=self.trust_env) as client, \
                    client.stream("POST", self.url, json=body, headers=self.headers) as response:
                if response.status_code >= 400:
                    raise EngineError(f"the LLM engine answered HTTP {response.status_code}: "
                                      f"{_error_message(response.read())}")
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[len("data:"):].strip()
                    if data == "[DONE]":
                        break
                    event = json.loads(data)
                    if "error" in event:  # an error after the stream started
                        raise EngineError(f"the LLM engine broke off the answer: {_error_message(data.encode())}")
                    piece = ((event.get("choices") or [{}])[0].get("delta") or {}).get("content") or ""
                    if text := stripper.feed(piece):
                        yield text
        except httpx.HTTPError as exc:  # refused, reset or timed out: one clear error, not a traceback
            raise EngineError(f"the LLM engine at {self.url} failed: {type(exc).__name__}: {exc}") from exc
        if rest := stripper.flush():
            yield rest


def _error_message(raw: bytes) -> str:
    """The engine's own error message (OpenAI form `{"error": {"message": ...}}`), else its text."""
    try:
        error: Any = json.loads(raw).get("error")
    except (ValueError, AttributeError):
        return raw.decode(errors="replace")[:300]
    return str(error.get("message", error) if isinstance(error, dict) else error)[:300]


def answer_stream(settings: Settings | None = None, max_tokens: int | None = None) -> Any:
    """What `pipelines.retrieve.answer.stream_answer` streams from: the engine (started on demand)
    through `EngineStream`, or the in-process chat model."""
    settings = settings or get_settings()
    if settings.llm_backend == "inprocess":
        from models.llm.client import get_chat_model

        return get_chat_model(settings, max_tokens=max_tokens or settings.llm_max_tokens)
    return EngineStream(ensure_running(settings), settings, max_tokens)
