"""What the engine manager needs from each engine: how to launch it and how to recognise it.

One module per engine (`engine_llamacpp.py`, `engine_vllm.py`) builds an `Engine`;
`server.py` starts, waits for, inspects and stops any of them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.settings import Settings


class EngineError(RuntimeError):
    """The engine cannot be started, reached or stopped; the message says why."""


@dataclass(frozen=True)
class EngineCommand:
    """One start of an engine: its command line, environment and what to record about it."""

    argv: list[str]
    env: dict[str, str]
    model_path: str
    recorded_env: tuple[str, ...] = ()  # prefixes of the variables written to the state file
    details: dict[str, Any] = field(default_factory=dict)  # threads, device, build: for status


@dataclass(frozen=True)
class Engine:
    name: str  # the llm_backend value, e.g. "llamacpp"
    title: str  # for messages, e.g. "llama.cpp"
    marker: str  # an argument of the engine's command line that ends with this identifies it
    command: Callable[[Settings], EngineCommand]
    owned_by: str  # what the server puts in /v1/models "owned_by"

    def is_engine_cmdline(self, args: list[str]) -> bool:
        return any(a.endswith(self.marker) for a in args)
