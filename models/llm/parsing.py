"""Cleaning model output: `<think>` blocks out, tool calls written as text in.

Two habits of small chat models that the rest of Argus should never see:

- reasoning models wrap their scratch work in `<think>...</think>`; it is removed
  (whole replies with `strip_think`, streamed ones with `ThinkStripper`);
- asked with `tool_choice="auto"`, Qwen2.5-Coder-0.5B answers with a ```json block
  holding `{"name": ..., "arguments": ...}` instead of `<tool_call>` tags, so the
  server's hermes parser finds no call. `parse_tool_calls` turns such blocks (and
  stray `<tool_call>` blocks) back into tool calls.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: `argus ask` streams text without loading LangChain
    from langchain_core.messages.tool import ToolCall

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
_THINK_BLOCK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)
_THINK_UNCLOSED = re.compile(r"<think>.*\Z", re.DOTALL)  # a reply cut off mid-thought

# A fenced block (```json, ```JSON or bare ```) or a hermes <tool_call> block.
_CANDIDATE = re.compile(
    r"```(?:json|JSON)?\s*\n?(?P<fenced>.*?)```|<tool_call>\s*(?P<tagged>.*?)\s*</tool_call>",
    re.DOTALL,
)


def strip_think(text: str) -> str:
    """`text` without `<think>...</think>` blocks (and without an unterminated one at the end)."""
    if THINK_OPEN not in text:
        return text
    return _THINK_UNCLOSED.sub("", _THINK_BLOCK.sub("", text)).strip()


class ThinkStripper:
    """Removes `<think>` blocks from a stream of text pieces, tags split across pieces included."""

    def __init__(self) -> None:
        self._buffer = ""
        self._inside = False
        self._skip_space = False  # drop the whitespace that follows a closed block

    def feed(self, piece: str) -> str:
        self._buffer += piece
        out: list[str] = []
        while self._buffer:
            if self._inside:
                end = self._buffer.find(THINK_CLOSE)
                if end < 0:
                    self._buffer = self._buffer[-(len(THINK_CLOSE) - 1):]  # may hold a partial close tag
                    break
                self._buffer = self._buffer[end + len(THINK_CLOSE):]
                self._inside, self._skip_space = False, True
                continue
            if self._skip_space:
                self._buffer = self._buffer.lstrip()
                if not self._buffer:
                    break
                self._skip_space = False
            start = self._buffer.find(THINK_OPEN)
            if start >= 0:
                out.append(self._buffer[:start])
                self._buffer = self._buffer[start + len(THINK_OPEN):]
                self._inside = True
                continue
            keep = _partial_tag_suffix(self._buffer, THINK_OPEN)
            out.append(self._buffer[: len(self._buffer) - keep])
            self._buffer = self._buffer[len(self._buffer) - keep:]
            break
        return "".join(out)

    def flush(self) -> str:
        """What is left at the end of the stream (nothing if it ended inside a block)."""
        rest = "" if self._inside else self._buffer
        self._buffer = ""
        return rest


def _partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is a beginning of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


def _as_calls(value: Any, allowed: set[str] | None) -> list[ToolCall]:
    from langchain_core.messages.tool import tool_call

    items = value if isinstance(value, list) else [value]
    calls: list[ToolCall] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            return []
        args = item.get("arguments", item.get("parameters", {}))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                return []
        if not isinstance(args, dict) or (allowed is not None and item["name"] not in allowed):
            return []
        calls.append(tool_call(name=item["name"], args=args, id=f"call_{uuid.uuid4().hex[:24]}"))
    return calls


def parse_tool_calls(text: str, tool_names: Iterable[str] | None = None) -> tuple[list[ToolCall], str]:
    """Tool calls written as JSON in `text`, and the text that is left.

    Recognises ```json blocks, `<tool_call>` blocks and a reply that is nothing but a
    JSON object, each holding `{"name": ..., "arguments": {...}}` (or a list of them;
    `parameters` is accepted for `arguments`). With `tool_names`, only calls to those
    tools count. Blocks that are not tool calls stay in the text.
    """
    allowed = set(tool_names) if tool_names is not None else None
    calls: list[ToolCall] = []
    kept: list[str] = []
    last = 0
    for match in _CANDIDATE.finditer(text):
        body = (match.group("fenced") if match.group("fenced") is not None else match.group("tagged")).strip()
        try:
            found = _as_calls(json.loads(body), allowed)
        except ValueError:
            found = []
        if found:
            calls += found
            kept.append(text[last:match.start()])
            last = match.end()
    kept.append(text[last:])
    rest = "".join(kept).strip()
    if not calls and rest.startswith(("{", "[")):
        try:
            calls = _as_calls(json.loads(rest), allowed)
        except ValueError:
            calls = []
        if calls:
            rest = ""
    return calls, rest
