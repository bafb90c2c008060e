"""Prompt token counts from the llama.cpp server itself: the served GGUF's own tokenizer and template.

`/v1/chat/completions/input_tokens` renders a chat request exactly as a real request
is rendered (chat template, tool definitions, generation prompt) and returns its
token count; `/tokenize` tokenises plain text. Both take a millisecond or two on the
loopback, need no copy of the tokenizer in this process, and are right for whichever
GGUF is served (the 0.5B, the 1.5B, or a configured file).

`budget.py` uses a `ServerTokenizer` wherever it would use a Hugging Face tokenizer:
`tokenizer_for("llama-server:<base url>")` returns one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import httpx
from langchain_core.messages import BaseMessage, convert_to_openai_messages

PREFIX = "llama-server:"
_KEYS: dict[str, str] = {}  # base url -> API key, kept out of the reference string


def server_tokenizer_ref(base_url: str, api_key: str = "EMPTY") -> str:
    """The `tokenizer_path` that means "ask the llama.cpp server at base_url"."""
    _KEYS[base_url] = api_key
    return PREFIX + base_url


def is_server_ref(path: object) -> bool:
    return isinstance(path, str) and path.startswith(PREFIX)


class ServerTokenizer:
    """Counts tokens through a llama.cpp server (`base_url` ends in /v1)."""

    def __init__(self, base_url: str, api_key: str = "EMPTY", timeout: httpx.Timeout | None = None):
        self.base_url = base_url.rstrip("/")
        self.root = self.base_url.removesuffix("/v1")
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._client = httpx.Client(trust_env=False, timeout=timeout or httpx.Timeout(60.0, connect=5.0))

    def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._client.post(url, json=body, headers=self._headers)
        response.raise_for_status()
        return dict(response.json())

    def count_chat(self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None = None) -> int:
        """Tokens of the prompt the server builds for these messages (and tools)."""
        body: dict[str, Any] = {"messages": convert_to_openai_messages(messages)}
        if tools:
            body["tools"] = tools
        return int(self._post(f"{self.base_url}/chat/completions/input_tokens", body)["input_tokens"])

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return list(self._post(f"{self.root}/tokenize", {"content": text, "add_special": add_special_tokens})["tokens"])


@lru_cache(maxsize=8)
def server_tokenizer(ref: str) -> ServerTokenizer:
    base_url = ref.removeprefix(PREFIX)
    return ServerTokenizer(base_url, _KEYS.get(base_url, "EMPTY"))
