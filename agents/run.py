"""Running the graph: typed event streams, results, plan-review resumes, inspecting past runs.

The thread id is the run id; checkpoints live in ARGUS_HOME/agents/checkpoints.sqlite, so a
run can be resumed (after a plan review) and inspected from any process. Nothing here
raises for what happens inside a run: budgets and errors end in a (partial) report.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Literal

from langchain_core.messages import AIMessageChunk, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from agents.graph import build_graph
from agents.nodes.plan_review import PlanReview
from agents.nodes.reporter import not_done
from agents.state import evidence_of, findings_of, plan_of
from core.settings import Settings, get_settings
from core.types import AgentEvent, AgentResult, Plan

TOKEN_NODES = {"coordinator", "answerer", "reporter"}  # nodes whose tokens are prose worth streaming


def checkpoint_path(settings: Settings):
    return settings.home / "agents" / "checkpoints.sqlite"


def checkpoint_serializer() -> JsonPlusSerializer:
    """Checkpoints may rebuild only LangGraph's safe types and the project's own (the shared types and
    the agents' models): a tampered checkpoint file cannot make the loader construct anything else."""
    import agents.nodes.coder
    import agents.nodes.plan_review
    import agents.sandbox
    import core.types

    own = [(module.__name__, name)
           for module in (core.types, agents.sandbox, agents.nodes.coder, agents.nodes.plan_review)
           for name, obj in vars(module).items() if isinstance(obj, type) and obj.__module__ == module.__name__]
    return JsonPlusSerializer(allowed_msgpack_modules=own)


def open_checkpointer(settings: Settings | None = None) -> SqliteSaver:
    """The SQLite saver under ARGUS_HOME (one connection, usable from the API's worker threads)."""
    settings = settings or get_settings()
    path = checkpoint_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteSaver(sqlite3.connect(str(path), check_same_thread=False), serde=checkpoint_serializer())


def review_command(action: Literal["accept", "edit"], plan: Plan | dict | None = None) -> Command:
    """The resume value for a pending plan review; raises ValidationError for an invalid plan."""
    review = PlanReview.model_validate({"action": action, "plan": plan})
    if review.action == "edit" and review.plan is None:
        raise ValueError("an edit needs the edited plan")
    return Command(resume=review.model_dump(exclude_none=True))


def _config(thread_id: str, settings: Settings) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": settings.agent_recursion_limit}


def stream_events(
    question: str | None = None,
    *,
    thread_id: str | None = None,
    review: bool | None = None,
    resume: Command | dict | None = None,
    settings: Settings | None = None,
    graph: CompiledStateGraph | None = None,
) -> Iterator[AgentEvent]:
    """Run (or resume) a thread and yield its events; the last one is "report" or "interrupt",
    whose `data["result"]` is the `AgentResult`.

    Start: `stream_events("question")`. Resume a plan review:
    `stream_events(thread_id=..., resume={"action": "accept"})` (or a `review_command(...)`).
    """
    settings = settings or get_settings()
    thread_id = thread_id or uuid.uuid4().hex
    own_saver = None
    if graph is None:
        own_saver = open_checkpointer(settings)
        graph = build_graph(settings, checkpointer=own_saver)
    config = _config(thread_id, settings)
    started = time.perf_counter()

    def event(kind: str, node: str | None = None, **data: Any) -> AgentEvent:
        return AgentEvent(kind=kind, thread_id=thread_id, node=node, t=round(time.perf_counter() - started, 3), data=data)

    if resume is not None:
        payload: Any = resume if isinstance(resume, Command) else review_command(**resume)
    else:
        review = settings.agent_review_plan if review is None else review
        payload = {"question": question or "", "messages": [HumanMessage(question or "")], "review": review}
    yield event("run_start", question=question, resumed=resume is not None,
                notes=list(getattr(getattr(graph, "team", None), "notes", [])))
    node_started: dict[str, float] = {}
    try:
        for mode, chunk in graph.stream(payload, config, stream_mode=["tasks", "messages", "custom", "updates"]):
            yield from _translate(mode, chunk, event, node_started)
    except Exception as exc:  # noqa: BLE001 — a run ends in a report, never in an exception
        yield event("error", error=f"{type(exc).__name__}: {exc}")
        result = _result(graph, config, thread_id, failure=f"{type(exc).__name__}: {exc}")
    else:
        result = _result(graph, config, thread_id)
    finally:
        if own_saver is not None:
            own_saver.conn.close()
    kind = "interrupt" if result.status == "interrupted" else "report"
    yield event(kind, result=result.model_dump(mode="json"))


def _translate(mode: str, chunk: Any, event: Callable[..., AgentEvent], started: dict[str, float]) -> Iterator[AgentEvent]:
    if mode == "tasks":
        name = chunk["name"]
        if "triggers" in chunk:
            started[chunk["id"]] = time.perf_counter()
            yield event("node_start", name)
        else:
            seconds = time.perf_counter() - started.pop(chunk["id"], time.perf_counter())
            update = chunk.get("result") if isinstance(chunk.get("result"), dict) else {}
            yield event("node_end", name, seconds=round(seconds, 3), error=_error_text(chunk.get("error")),
                        llm_calls=update.get("llm_calls", 0), tokens=update.get("tokens", 0),
                        **({"next": update["next"]} if "next" in update else {}),
                        **({"route": update["route"]} if "route" in update else {}))
    elif mode == "messages":
        message, meta = chunk
        node = meta.get("langgraph_node")
        if isinstance(message, AIMessageChunk) and node in TOKEN_NODES and isinstance(message.content, str) \
                and message.content:
            yield event("token", node, text=message.content)
    elif mode == "custom" and isinstance(chunk, dict) and chunk.get("event") in ("tool_call", "tool_result"):
        data = {k: v for k, v in chunk.items() if k != "event"}
        yield event(chunk["event"], _custom_node(chunk), **data)
    elif mode == "updates" and isinstance(chunk, dict):
        for node, update in chunk.items():
            if node == "planner" and isinstance(update, dict) and update.get("plan"):
                yield event("plan", node, plan=update["plan"])


def _error_text(error: Any) -> str | None:
    """A node's error as text: LangGraph hands over the exception itself, which events cannot carry."""
    return None if error is None else f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)


def _custom_node(chunk: dict) -> str:
    return "coder" if chunk.get("tool") == "python" else "researcher"


def _result(graph: CompiledStateGraph, config: dict, thread_id: str, failure: str | None = None) -> AgentResult:
    """The `AgentResult` of a thread from its latest checkpoint."""
    snapshot = graph.get_state(config)
    values = snapshot.values or {}
    findings = findings_of(values)
    base = dict(
        thread_id=thread_id, question=values.get("question", ""), evidence=evidence_of(values),
        plan=plan_of(values), findings=findings, llm_calls=values.get("llm_calls", 0),
        tokens=values.get("tokens", 0), stop_reason=values.get("stop_reason"),
    )
    if snapshot.interrupts:
        return AgentResult(**base, status="interrupted", interrupt=snapshot.interrupts[0].value)
    if failure is not None or (snapshot.next and not values.get("report")):
        reason = failure or "the run stopped early"
        done = [f"- {f.goal}: {f.summary[:300]}" for f in findings if f.ok]
        report = f"The run ended early ({reason}). What was found:\n" + ("\n".join(done) or "- nothing")
        missing = not_done({**values, "stop_reason": reason}, findings)
        if missing:
            report += "\n\n**Not done**\n\n" + "\n".join(f"- {m}" for m in missing)
        return AgentResult(**{**base, "stop_reason": reason}, status="partial", report=report, not_done=missing)
    status = values.get("status") or "done"
    return AgentResult(**base, status=status, report=values.get("report", ""), not_done=not_done(values, findings)
                       if status == "partial" else [])


def run_agents(
    question: str | None = None,
    *,
    thread_id: str | None = None,
    review: bool | None = None,
    resume: Command | dict | None = None,
    on_event: Callable[[AgentEvent], None] | None = None,
    settings: Settings | None = None,
    graph: CompiledStateGraph | None = None,
) -> AgentResult:
    """Run (or resume) a thread to its end or its plan review and return the result."""
    final: AgentEvent | None = None
    for ev in stream_events(question, thread_id=thread_id, review=review, resume=resume, settings=settings,
                            graph=graph):
        if on_event is not None:
            on_event(ev)
        final = ev
    assert final is not None and "result" in final.data  # the stream always ends with the result
    return AgentResult.model_validate(final.data["result"])


def get_run(thread_id: str, *, settings: Settings | None = None,
            checkpointer: BaseCheckpointSaver | None = None) -> AgentResult | None:
    """A past or paused run by its thread id, from the checkpoints; None when there is none."""
    settings = settings or get_settings()
    saver = checkpointer or open_checkpointer(settings)
    try:
        graph = build_graph(settings, chat=_Unused(), retriever=_Unused(), checkpointer=saver)
        config = _config(thread_id, settings)
        if not graph.get_state(config).values:
            return None
        return _result(graph, config, thread_id)
    finally:
        if checkpointer is None:
            saver.conn.close()


class _Unused:
    """Stands in for the chat model and retriever when a graph is only read, never run."""
