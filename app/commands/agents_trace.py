"""`argus ask --agents`: run the agent team with a live trace of its nodes, tools and tokens."""

from __future__ import annotations

import json
import sys

import typer
from rich.markdown import Markdown
from rich.panel import Panel

from app.console import make_console
from core.settings import get_settings
from core.types import AgentEvent, AgentResult

console = make_console()


def show_event(ev: AgentEvent) -> None:
    """One trace line per event; reporter tokens are printed as they arrive."""
    d = ev.data
    stamp = f"[dim]{ev.t:7.1f}s[/]"
    if ev.kind == "run_start":
        console.print(f"{stamp} [bold]run[/] {ev.thread_id}" + "".join(f"\n         [dim]{n}[/]" for n in d["notes"]))
    elif ev.kind == "node_start":
        console.print(f"{stamp} [cyan]▶ {ev.node}[/]")
    elif ev.kind == "node_end":
        extra = " ".join(f"{k}={d[k]}" for k in ("route", "next") if k in d)
        usage = f"{d['llm_calls']} LLM calls, {d['tokens']} tokens" if d.get("llm_calls") else "no LLM"
        console.print(f"{stamp} [cyan]■ {ev.node}[/] {d['seconds']:.1f}s, {usage} {extra}"
                      + (f" [red]{d['error']}[/]" if d.get("error") else ""))
    elif ev.kind == "plan":
        for i, step in enumerate(d["plan"]["steps"], start=1):
            console.print(f"         [magenta]{i}. {step['agent']}[/]: {step['goal']}")
    elif ev.kind == "tool_call":
        args = d["args"].get("code") if d["tool"] == "python" else json.dumps(d["args"], ensure_ascii=False)
        console.print(f"{stamp} [yellow]⚙ {d['tool']}[/] {args}")
    elif ev.kind == "tool_result":
        console.print(f"{stamp} [yellow]↳[/] [dim]{str(d['result'])[:300]}[/]")
    elif ev.kind == "token" and ev.node == "reporter":
        sys.stdout.write(d["text"])
        sys.stdout.flush()
    elif ev.kind == "error":
        console.print(f"{stamp} [red]error[/] {d['error']}")


def ask_agents(question: str, *, review: bool, thread_id: str | None) -> None:
    from agents.run import run_agents

    settings = get_settings()
    result = run_agents(question, thread_id=thread_id, review=review, on_event=show_event, settings=settings)
    while result.status == "interrupted":
        result = _review(result, settings)
    console.print()
    console.print(Panel(Markdown(result.report or "(no report)"), title=f"{result.status} — run {result.thread_id}"))
    console.print(f"[dim]{result.llm_calls} LLM calls, {result.tokens} tokens[/]")


def _review(result: AgentResult, settings) -> AgentResult:
    from agents.run import run_agents

    plan = result.interrupt["plan"]
    console.print(Panel(json.dumps(plan, indent=2, ensure_ascii=False), title="plan review"))
    if typer.confirm("Accept this plan?", default=True):
        resume = {"action": "accept"}
    else:
        edited = typer.edit(json.dumps(plan, indent=2, ensure_ascii=False), extension=".json")
        resume = {"action": "edit", "plan": json.loads(edited)} if edited else {"action": "accept"}
    return run_agents(thread_id=result.thread_id, resume=resume, on_event=show_event, settings=settings)
