"""Agent team end to end: five demo questions on the base of ARGUS_HOME (e.g. the ingested
demo corpus). Per question and per node: wall time, LLM calls, tokens in/out, tokens/s.

    ARGUS_HOME=/path/to/demo-base python bench/bench_agents.py [--out bench/results/agents.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from langgraph.checkpoint.memory import InMemorySaver

QUESTIONS = (
    "Hello! What can you do?",
    "What water temperature is best for brewing coffee?",
    "How many hours a day do adult cats sleep, and how many hours is that in a week? Calculate it.",
    "When was the first artificial satellite launched? Show me the moment in the video.",
    "When should I check the tire pressure on my motorcycle?",
)


class NodeUsage(BaseCallbackHandler):
    """Tokens in/out and latency of LLM calls, per LangGraph node."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: dict[UUID, tuple[str, float]] = {}
        self.nodes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def on_chat_model_start(self, serialized: dict, messages: list, *, run_id: UUID, **kw: Any) -> None:
        node = (kw.get("metadata") or {}).get("langgraph_node", "?")
        with self.lock:
            self.open[run_id] = (node, time.perf_counter())

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kw: Any) -> None:
        from models.llm.usage import _token_counts

        prompt, completion = _token_counts(response)
        with self.lock:
            node, start = self.open.pop(run_id, ("?", time.perf_counter()))
            row = self.nodes[node]
            row["llm_calls"] += 1
            row["tokens_in"] += prompt
            row["tokens_out"] += completion
            row["llm_s"] += time.perf_counter() - start

    def take(self) -> dict[str, dict[str, float]]:
        with self.lock:
            out = {k: dict(v) for k, v in self.nodes.items()}
            self.nodes.clear()
        return out


def run_question(question: str, settings, graph, usage: NodeUsage) -> dict[str, Any]:
    from agents.run import stream_events

    node_s: dict[str, float] = defaultdict(float)
    started = time.perf_counter()
    result: dict[str, Any] = {}
    for ev in stream_events(question, settings=settings, graph=graph):
        if ev.kind == "node_end":
            node_s[ev.node] += ev.data["seconds"]
        if ev.kind in ("report", "interrupt"):
            result = ev.data["result"]
    wall = time.perf_counter() - started
    nodes = usage.take()
    for node, seconds in node_s.items():
        row = nodes.setdefault(node, {"llm_calls": 0, "tokens_in": 0, "tokens_out": 0, "llm_s": 0.0})
        row["wall_s"] = round(seconds, 2)
        row["tokens_per_s"] = round(row["tokens_out"] / row["llm_s"], 2) if row["llm_s"] else 0.0
        row["llm_s"] = round(row["llm_s"], 2)
    total_out = sum(r["tokens_out"] for r in nodes.values())
    total_llm_s = sum(r["llm_s"] for r in nodes.values())
    return {
        "question": question, "status": result.get("status"), "wall_s": round(wall, 2),
        "llm_calls": int(sum(r["llm_calls"] for r in nodes.values())),
        "tokens_in": int(sum(r["tokens_in"] for r in nodes.values())), "tokens_out": int(total_out),
        "tokens_per_s": round(total_out / total_llm_s, 2) if total_llm_s else 0.0,
        "plan": result.get("plan"), "evidence": len(result.get("evidence") or []),
        "report": result.get("report", ""), "nodes": nodes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "agents.json")
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    args = parser.parse_args()

    from agents.graph import build_graph
    from core.settings import get_settings
    from models.llm.client import get_chat_model

    settings = get_settings()
    usage = NodeUsage()
    chat = get_chat_model(settings, callbacks=[usage])
    graph = build_graph(settings, chat=chat, checkpointer=InMemorySaver())
    rows = [run_question(q, settings, graph, usage) for q in QUESTIONS[: args.questions]]

    print(f"{'question':58} {'status':9} {'wall s':>7} {'calls':>5} {'in':>6} {'out':>5} {'tok/s':>6}")
    for r in rows:
        print(f"{r['question'][:58]:58} {r['status'] or '-':9} {r['wall_s']:7.1f} {r['llm_calls']:5d} "
              f"{r['tokens_in']:6d} {r['tokens_out']:5d} {r['tokens_per_s']:6.2f}")
        for node, n in r["nodes"].items():
            print(f"    {node:54} {'':9} {n.get('wall_s', 0):7.1f} {int(n['llm_calls']):5d} "
                  f"{int(n['tokens_in']):6d} {int(n['tokens_out']):5d} {n.get('tokens_per_s', 0):6.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
        "base": str(settings.home), "model": settings.llm_model, "questions": rows,
    }, indent=2, ensure_ascii=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
