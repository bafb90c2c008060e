"""What the nodes share: settings, the chat model, the retriever, the tools, and LLM-call accounting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.runnables.config import merge_configs
from langchain_core.tools import BaseTool

from core.settings import Settings
from models.llm.usage import UsageTracker

T = TypeVar("T")


@dataclass
class Team:
    settings: Settings
    chat: BaseChatModel
    tools: list[BaseTool] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # shown in the trace, e.g. "legal tool unavailable"
    retriever: Any = None  # pipelines.retrieve.search.Retriever: the fast path searches without a tool call
    harm_screen: Any = None  # agents.intent.HarmScreen (None: built from the settings on first use)
    harm_doubt_band: float | None = None  # near misses of the screen asked to the LLM (None: agents.intent.DOUBT_BAND)

    def __post_init__(self) -> None:
        if self.harm_screen is None:
            from agents.intent import HarmScreen

            self.harm_screen = HarmScreen(self.settings)
        if self.harm_doubt_band is None:
            from agents.intent import DOUBT_BAND

            self.harm_doubt_band = DOUBT_BAND

    def model(self, max_tokens: int | None = None) -> BaseChatModel:
        """The chat model with a completion budget (every token costs ~0.15 s on a 2-core CPU)."""
        return self.chat.bind(max_tokens=max_tokens or self.settings.agent_node_max_tokens)  # type: ignore[return-value]

    def call(self, config: RunnableConfig, fn: Callable[[], T]) -> tuple[T, dict[str, int]]:
        """Run `fn` (which calls the LLM) and return its result with the state update for the budgets.

        `fn` runs as a child of the node's run, so LangGraph still streams its tokens; the
        extra tracker counts this call's tokens for the run's token budget.
        """
        tracker = UsageTracker()
        result = RunnableLambda(lambda _: fn(), name="llm").invoke(
            None, config=merge_configs(config, {"callbacks": [tracker]}))
        usage = tracker.summary()
        return result, {"llm_calls": usage.calls, "tokens": usage.prompt_tokens + usage.completion_tokens}


def thread_id(config: RunnableConfig) -> str:
    return str((config.get("configurable") or {}).get("thread_id", "default"))


def merge_usage(*updates: dict[str, Any]) -> dict[str, int]:
    total = {"llm_calls": 0, "tokens": 0}
    for u in updates:
        for key in total:
            total[key] += int(u.get(key, 0))
    return total
