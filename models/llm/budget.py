"""Prompt + completion must fit the context window: check it before sending.

A server rejects a request whose prompt tokens plus `max_tokens` exceed its window
(after the round trip, with an error that names neither the caller nor the fix).
Argus counts the prompt first, with the served model's tokenizer and chat template
(tool definitions included, since Qwen's template writes them into the prompt): the
llama.cpp server counts for it (`server_tokens.py`), for vLLM the Hugging Face
tokenizer of the served folder does. It then
either raises `PromptTooLong` or, when the caller allows it, drops the oldest
conversation turns until the request fits.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, SystemMessage, ToolMessage, convert_to_openai_messages


class PromptTooLong(ValueError):
    """The prompt plus the completion budget does not fit the model's context window."""

    def __init__(self, prompt_tokens: int, max_tokens: int, max_model_len: int):
        self.prompt_tokens, self.max_tokens, self.max_model_len = prompt_tokens, max_tokens, max_model_len
        super().__init__(
            f"prompt of {prompt_tokens} tokens + max_tokens {max_tokens} = {prompt_tokens + max_tokens} "
            f"exceeds the model's context window of {max_model_len} tokens; shorten the prompt "
            "(fewer or shorter passages), lower max_tokens, or allow trimming the oldest turns (trim=True)"
        )


_TOKENIZER_LOCK = threading.Lock()


def load_tokenizer(path: str) -> Any:
    """The Hugging Face tokenizer of a model folder, loaded once per process.

    Under a lock: `lru_cache` does not serialise the first calls, and threads that import
    transformers at once race in its lazy imports (`ImportError: AutoTokenizer`: 502s from the
    API under 20 concurrent asks)."""
    with _TOKENIZER_LOCK:
        return _load_tokenizer(path)


@lru_cache(maxsize=4)
def _load_tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def default_tokenizer_path() -> str:
    """The chat LLM's Hugging Face folder (the 0.5B conversion vLLM serves)."""
    from models.registry import resolve

    return str(resolve("chat_llm"))


def template_messages(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """OpenAI-style dicts as the server hands them to the chat template."""
    out = convert_to_openai_messages(messages)
    for message in out:
        content = message.get("content")
        if isinstance(content, list):  # text parts only: the served models read text
            message["content"] = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        elif content is None:
            message["content"] = ""
        for call in message.get("tool_calls") or []:
            fn = call.get("function", {})
            if isinstance(fn.get("arguments"), str):
                try:  # templates render arguments as an object, as vLLM passes them
                    fn["arguments"] = json.loads(fn["arguments"])
                except ValueError:
                    pass
    return out


def count_prompt_tokens(tokenizer: Any, messages: list[BaseMessage], tools: list[dict[str, Any]] | None = None) -> int:
    """Tokens of the prompt the server will build: chat template + generation prompt."""
    if hasattr(tokenizer, "count_chat"):  # the llama.cpp server renders and counts it itself
        return int(tokenizer.count_chat(messages, tools))
    ids = tokenizer.apply_chat_template(
        template_messages(messages), tools=tools or None, add_generation_prompt=True, tokenize=True,
        return_dict=False,
    )
    return len(ids)


def fit_messages(
    tokenizer: Any,
    messages: list[BaseMessage],
    *,
    max_tokens: int,
    max_model_len: int,
    tools: list[dict[str, Any]] | None = None,
    trim: bool = False,
) -> tuple[list[BaseMessage], int]:
    """`messages` (trimmed if allowed) and their prompt size, or PromptTooLong.

    Trimming keeps system messages and the last message, and drops the oldest other
    turns first; a tool result whose call was dropped goes with it.
    """
    prompt = count_prompt_tokens(tokenizer, messages, tools)
    if prompt + max_tokens <= max_model_len:
        return messages, prompt
    if not trim:
        raise PromptTooLong(prompt, max_tokens, max_model_len)
    kept = list(messages)
    while prompt + max_tokens > max_model_len:
        if not _drop_oldest_turn(kept):
            raise PromptTooLong(prompt, max_tokens, max_model_len)
        prompt = count_prompt_tokens(tokenizer, kept, tools)
    return kept, prompt


def _oldest_turn(messages: list[BaseMessage]) -> int | None:
    """Index of the oldest message that may be dropped: not a system message, not the last one."""
    return next((i for i, m in enumerate(messages[:-1]) if not isinstance(m, SystemMessage)), None)


def _drop_oldest_turn(messages: list[BaseMessage]) -> bool:
    first = _oldest_turn(messages)
    if first is None:
        return False
    del messages[first]
    # A tool result must follow the assistant turn that called it: drop orphans too.
    while (first := _oldest_turn(messages)) is not None and isinstance(messages[first], ToolMessage):
        del messages[first]
    return True


def tokenizer_for(path: str | Path | None = None) -> Any:
    """A tokenizer: of a model folder, or (`llama-server:<url>`) the llama.cpp server's own."""
    from models.llm.server_tokens import is_server_ref, server_tokenizer

    if is_server_ref(path):
        return server_tokenizer(str(path))
    return load_tokenizer(str(path) if path else default_tokenizer_path())
