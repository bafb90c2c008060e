"""What one agent run did, recorded from the graph's event stream and its LLM calls.

`RunTrace.on_event` takes every `AgentEvent` of `agents.run.stream_events`; `NodeUsage` is
a callback on the run's chat model that splits tokens in and out per node (the graph's own
accounting only sums them).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID

from core.types import AgentEvent
from models.llm.usage import UsageTracker

RESULT_CHARS = 1200  # tool results kept in the trace (the search results the LLM saw)


class NodeUsage(UsageTracker):
    """A `UsageTracker` that also sums prompt and completion tokens per graph node."""

    def __init__(self) -> None:
        super().__init__()
        self._node_of: dict[UUID, str] = {}
        self.per_node: dict[str, dict[str, int]] = {}
        self._node_lock = threading.Lock()

    def on_chat_model_start(self, serialized, messages, *, run_id: UUID, **kwargs: Any) -> None:
        node = (kwargs.get("metadata") or {}).get("langgraph_node", "?")
        with self._node_lock:
            self._node_of[run_id] = str(node)
        super().on_chat_model_start(serialized, messages, run_id=run_id, **kwargs)

    def _close(self, run_id: UUID, prompt: int, completion: int, error: str | None) -> None:
        with self._node_lock:
            node = self._node_of.pop(run_id, "?")
            totals = self.per_node.setdefault(node, {"calls": 0, "tokens_in": 0, "tokens_out": 0})
            totals["calls"] += 1
            totals["tokens_in"] += prompt
            totals["tokens_out"] += completion
        super()._close(run_id, prompt, completion, error)


@dataclass
class RunTrace:
    thread_id: str = ""
    notes: list[str] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)  # in visiting order, with seconds and tokens
    plan: dict[str, Any] | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {node, tool, args, result, evidence}
    errors: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None  # the AgentResult, from the last event

    def on_event(self, ev: AgentEvent) -> None:
        self.thread_id = ev.thread_id
        data = ev.data
        if ev.kind == "run_start":
            self.notes = list(data.get("notes") or [])
        elif ev.kind == "node_end":
            self.nodes.append({"node": ev.node, "seconds": data.get("seconds", 0.0), "llm_calls": data.get("llm_calls", 0),
                               "tokens": data.get("tokens", 0), "error": data.get("error"),
                               **{k: data[k] for k in ("route", "next") if k in data}})
        elif ev.kind == "plan":
            self.plan = data.get("plan")
        elif ev.kind == "tool_call":
            self.tool_calls.append({"node": ev.node, "tool": data.get("tool"), "args": data.get("args", {}),
                                    "result": None, "evidence": []})
        elif ev.kind == "tool_result":
            pending = [c for c in self.tool_calls if c["tool"] == data.get("tool") and c["result"] is None]
            if pending:
                pending[0]["result"] = str(data.get("result", ""))[:RESULT_CHARS]
                pending[0]["evidence"] = list(data.get("evidence") or [])
        elif ev.kind == "error":
            self.errors.append(str(data.get("error")))
        elif ev.kind in ("report", "interrupt"):
            self.result = data.get("result")

    def visited(self) -> list[str]:
        return [n["node"] for n in self.nodes]

    def as_dict(self, usage: NodeUsage | None = None) -> dict[str, Any]:
        out = asdict(self)
        out.pop("result")
        out["visited"] = self.visited()
        if usage is not None:
            summary = usage.summary()
            out["tokens_in"], out["tokens_out"], out["llm_calls"] = (summary.prompt_tokens, summary.completion_tokens,
                                                                     summary.calls)
            out["usage_by_node"] = usage.per_node  # tokens in and out per node, summed over its visits
        return out
