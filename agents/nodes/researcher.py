"""Researcher: calls its tools under forced tool choice, runs them, and numbers every piece of
evidence in the run's registry so that the report's [n] citations resolve."""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer

from agents import prompts
from agents.state import AgentState, evidence_of, findings_of, plan_of
from agents.team import Team
from core.types import Evidence, Finding, ToolCallRecord
from pipelines.retrieve.answer import relevant

MAX_CALLS = 2  # tool calls run per step
SEARCH = "search_knowledge_base"
LEGAL = "legal_judgement"
# A goal that names a file (and maybe a time or page) is worth the LLM's tool choice (inspect_source);
# any other goal is searched as it is written, without an LLM call.
NAMES_A_SOURCE = re.compile(r"\b[\w-]+\.(?:mp4|mkv|mov|webm|mp3|wav|m4a|flac|pdf|md|txt|html?|docx?)\b", re.IGNORECASE)


def goal_search(goal: str) -> dict[str, Any]:
    """A search for the step's goal over every source type: the researcher's fallback tool call."""
    return {"name": SEARCH, "args": {"query": goal}, "id": "fallback", "type": "tool_call"}


def legal_call(fact: str) -> dict[str, Any]:
    return {"name": LEGAL, "args": {"fact": fact}, "id": "legal", "type": "tool_call"}


def evidence_key(ev: Evidence) -> tuple:
    c = ev.citation
    return c.source_id, c.t0, c.t1, c.page, ev.text[:200]


def register(registry: list[Evidence], new: list[Evidence]) -> tuple[list[Evidence], list[int]]:
    """The items of `new` not yet in `registry`, and the [n] number of every item of `new`."""
    index = {evidence_key(ev): n for n, ev in enumerate(registry, start=1)}
    added: list[Evidence] = []
    numbers = []
    for ev in new:
        key = evidence_key(ev)
        if key not in index:
            added.append(ev)
            index[key] = len(registry) + len(added)
        numbers.append(index[key])
    return added, numbers


def _context(state: AgentState) -> str:
    done = [f"- {f.goal}: {f.summary[:300]}" for f in findings_of(state) if f.ok][-3:]
    return ("Earlier findings:\n" + "\n".join(done)) if done else ""


def make_researcher(team: Team):
    tools = {t.name: t for t in team.tools}

    def researcher(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        write = get_stream_writer()
        index = state.get("step", 0)
        step = plan_of(state).steps[index]
        usage: dict[str, int] = {}
        if state.get("route") == "legal":
            pending = [legal_call(state["question"])] if LEGAL in tools else []
        elif NAMES_A_SOURCE.search(step.goal):
            request = f"Question: {state['question']}\nStep: {step.goal}\nExpected: {step.expected_output}\n{_context(state)}"
            messages = [SystemMessage(prompts.RESEARCHER), HumanMessage(request)]
            bound = team.model(160).bind_tools(list(tools.values()), tool_choice="required")
            reply, usage = team.call(config, lambda: bound.invoke(messages))
            # The model wrote no call: search for the step's goal, the safest default.
            pending = list(reply.tool_calls)[:MAX_CALLS] or [goal_search(step.goal)]
        else:
            pending = [goal_search(step.goal)]
        registry = evidence_of(state)
        added_all: list[Evidence] = []
        records, numbers_all, texts = [], [], []
        while pending:
            call = pending.pop(0)
            name, args = call["name"], call.get("args") or {}
            write({"event": "tool_call", "tool": name, "args": args})
            record, found, text = _run_tool(tools.get(name), call)
            added, numbers = register(registry + added_all, found)
            added_all += added
            record.evidence = numbers
            records.append(record)
            numbers_all += [n for n in numbers if n not in numbers_all]
            texts.append(text)
            write({"event": "tool_result", "tool": name, "result": record.result, "evidence": numbers})
            if not pending and not numbers_all and SEARCH in tools and not any(map(_broad_search, records)):
                # The model's calls found nothing and none searched everything (a made-up file name, a
                # video-only filter): search for the step's goal once.
                pending.append(goal_search(step.goal))
        everything = registry + added_all
        legal_ok = any(r.tool == LEGAL and not r.result.startswith(("error", "unknown tool")) for r in records)
        if state.get("route") == "legal" and not records:
            texts.append(next((n for n in team.notes if n.startswith("legal tool")), "legal tool unavailable"))
        cited = "\n".join(f"[{n}] ({everything[n - 1].citation.label()}) {' '.join(everything[n - 1].text.split())[:300]}"
                          for n in numbers_all)
        summary = "\n".join(texts) if legal_ok else (cited or "\n".join(texts))
        finding = Finding(step=index, agent="researcher", goal=step.goal, ok=bool(numbers_all) or legal_ok,
                          summary=summary or "Nothing found.", evidence=numbers_all, tool_calls=records)
        return {"findings": [finding.model_dump()], "evidence": [e.model_dump() for e in added_all],
                "last_ok": finding.ok, "attempts": state.get("attempts", 0) + 1,
                "steps_run": state.get("steps_run", 0) + 1, **usage}

    return researcher


def _broad_search(record: ToolCallRecord) -> bool:
    return record.tool == SEARCH and record.args.get("source_type", "any") in ("any", None)


def _run_tool(tool, call: dict) -> tuple[ToolCallRecord, list[Evidence], str]:
    """Run one tool call; errors become the record's result (the supervisor retries the step)."""
    name, args = call["name"], call.get("args") or {}
    if tool is None:
        return ToolCallRecord(tool=name, args=args, result=f"unknown tool {name!r}"), [], ""
    try:
        message = tool.invoke({**call, "type": "tool_call"})
    except Exception as exc:  # noqa: BLE001 — a bad call by the model is a failed step, not a crash
        return ToolCallRecord(tool=name, args=args, result=f"error: {type(exc).__name__}: {exc}"[:500]), [], ""
    artifact = message.artifact if isinstance(message, ToolMessage) else None
    found = [ev for ev in artifact or [] if isinstance(ev, Evidence)]
    if name == SEARCH:
        found = relevant(found)  # off-topic hits would only mislead the reporter
    text = str(message.content if isinstance(message, ToolMessage) else message)
    result = text if len(text) < 500 else text[:500] + "…"
    return ToolCallRecord(tool=name, args=json.loads(json.dumps(args, default=str)), result=result), found, text
