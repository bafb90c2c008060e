"""Agent runs: start a run, follow its events (SSE), review its plan, read its result.

    POST /v1/agent/runs                  {"question", "review"} -> 202 {"run_id"}
    GET  /v1/agent/runs/{run_id}/events  SSE: run_start, node_start/node_end, token, tool_call,
                                         tool_result, plan, then interrupt (plan review) or report
    POST /v1/agent/runs/{run_id}/plan    {"action": "accept"} or {"action": "edit", "plan": {...}}
    GET  /v1/agent/runs/{run_id}         status and, once finished, the AgentResult

A run executes in a background thread; its events are kept in memory so a client can
(re)connect at any point and resume with Last-Event-ID. A finished run that is no longer
in memory (the server restarted) is read back from the agents' checkpoints.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse

from app.api.problems import ApiError
from app.api.query import SSE_SEND_TIMEOUT_S
from app.api.security import Principal, require
from core.types import AgentEvent, AgentResult, Plan

log = logging.getLogger("argus.api.agents")
router = APIRouter(prefix="/v1/agent/runs", tags=["agents"])

MAX_RUNS_IN_MEMORY = 200
SERVER_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.\-~]+){2,}")  # /home/me/x, C:\\data\\y


@dataclass
class RunRecord:
    id: str
    question: str
    status: Literal["running", "interrupted", "finished", "failed"] = "running"
    events: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    cond: threading.Condition = field(default_factory=threading.Condition)


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"question": "Summarise the cleaning advice and chart the schedule", "review": True}]})

    question: str = Field(min_length=1, max_length=2000)
    review: bool = Field(False, description="Pause after planning for a plan review (POST .../plan).")


class RunCreated(BaseModel):
    run_id: str
    status: str
    events_url: str


class PlanReview(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"action": "accept"}]})

    action: Literal["accept", "edit"]
    plan: Plan | None = Field(None, description="The edited plan (action 'edit').")


class RunOut(BaseModel):
    run_id: str
    status: str = Field(description="running, interrupted (awaiting plan review), finished or failed")
    question: str | None = None
    events: int = 0
    result: AgentResult | None = None


def _stream_fn(request: Request):
    return stream_fn(request.app.state.argus)


def stream_fn(state):
    """`agents.run.stream_events` on a graph of this run's own (closed when the run ends), unless
    the app was given a stand-in."""
    if state.agent_stream is not None:
        return state.agent_stream

    def stream(*, settings, thread_id: str, **kwargs):
        from agents.graph import build_graph
        from agents.run import open_checkpointer, stream_events
        from pipelines.retrieve.search import Retriever

        saver = open_checkpointer(settings)
        retriever = Retriever(settings)
        try:
            graph = build_graph(settings, state.chat(), retriever, checkpointer=saver)
            yield from stream_events(settings=settings, thread_id=thread_id, graph=graph, **kwargs)
        finally:  # the run's index files, catalog connection and checkpoint database
            retriever.close()
            saver.conn.close()

    return stream


def _describe(value: Any) -> str:
    return f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else type(value).__name__


def _drive(record: RunRecord, stream, settings, **kwargs) -> None:
    """Run the graph (or resume it), appending each event to the record."""
    try:
        for ev in stream(settings=settings, thread_id=record.id, **kwargs):
            # A node's exception object rides in node_end's `error`: say what it was, never fail the run on it.
            data = ev.model_dump(mode="json", fallback=_describe) if isinstance(ev, AgentEvent) else ev
            with record.cond:
                record.events.append(data)
                if data["kind"] in ("report", "interrupt"):
                    record.result = data["data"].get("result")
                    record.status = "interrupted" if data["kind"] == "interrupt" else "finished"
                record.cond.notify_all()
    except Exception as exc:  # noqa: BLE001 — a failure is an event, never a dead stream
        log.exception("agent run %s failed", record.id)
        with record.cond:
            record.events.append({"kind": "error", "thread_id": record.id, "node": None, "t": 0.0,
                                  "data": {"error": public_message(exc)}})
            record.status = "failed"
            record.cond.notify_all()
    finally:
        with record.cond:
            if record.status == "running":
                record.status = "failed"
            record.cond.notify_all()


def public_message(exc: BaseException) -> str:
    """The failure as a client may see it: type and message, with file-system paths hidden
    (the full text goes to the server log)."""
    return SERVER_PATH.sub("<path>", f"{type(exc).__name__}: {exc}")[:1000]


def _start(request: Request, record: RunRecord, principal: Principal, **kwargs) -> None:
    """Run in a thread of its own, holding one of the caller's agent-run slots until it ends."""
    state = request.app.state.argus
    release = state.agent_slots.acquire(principal.id)  # 429 past the caps
    state.metrics.agent_runs.inc()

    def target() -> None:
        try:
            _drive(record, _stream_fn(request), state.settings, **kwargs)
        finally:
            state.metrics.agent_runs.dec()
            release()

    try:
        threading.Thread(target=target, name=f"agent-run-{record.id[:8]}", daemon=True).start()
    except BaseException:
        state.metrics.agent_runs.dec()
        release()
        raise


def _record(request: Request, run_id: str) -> RunRecord:
    record = request.app.state.argus.runs.get(run_id)
    if record is None:
        raise ApiError(404, f"no agent run {run_id!r}")
    return record


@router.post("", status_code=202, response_model=RunCreated, summary="Start an agent run",
             responses={429: {"description": "Too many agent runs in progress (Retry-After)"}})
def create_run(request: Request, body: RunRequest, principal: Principal = Depends(require("read"))) -> RunCreated:
    runs = request.app.state.argus.runs
    if len(runs) >= MAX_RUNS_IN_MEMORY:  # forget the oldest finished runs (their checkpoints remain)
        for old in [r for r in runs.values() if r.status in ("finished", "failed")][: len(runs) // 2]:
            runs.pop(old.id, None)
    record = RunRecord(id=uuid.uuid4().hex, question=body.question)
    _start(request, record, principal, question=body.question, review=body.review)
    runs[record.id] = record
    return RunCreated(run_id=record.id, status=record.status, events_url=f"/v1/agent/runs/{record.id}/events")


@router.get("/{run_id}/events", summary="The run's events as server-sent events",
            dependencies=[Depends(require("read"))],
            responses={200: {"content": {"text/event-stream": {}}, "description": "id: n, event: kind, data: AgentEvent"}})
async def run_events(request: Request, run_id: str, last_event_id: str | None = Header(None)) -> EventSourceResponse:
    """Replays the events so far, then follows the run until it finishes or pauses for review.
    Reconnect with `Last-Event-ID` to continue where the stream broke off."""
    record = _record(request, run_id)
    start = int(last_event_id) + 1 if last_event_id and last_event_id.isdigit() else 0

    async def events():
        i = start
        while True:
            with record.cond:
                batch = record.events[i:]
                settled = record.status != "running"
            for offset, ev in enumerate(batch):
                yield {"id": str(i + offset), "event": ev["kind"], "data": json.dumps(ev, ensure_ascii=False)}
            i += len(batch)
            if settled and not batch:
                with record.cond:
                    if len(record.events) == i and record.status != "running":
                        return
            if not batch:
                await asyncio.sleep(0.1)

    return EventSourceResponse(events(), send_timeout=SSE_SEND_TIMEOUT_S, ping=15)


@router.post("/{run_id}/plan", status_code=202, response_model=RunOut, summary="Accept or edit the proposed plan",
             responses={409: {"description": "No plan awaits review"},
                        429: {"description": "Too many agent runs in progress (Retry-After)"}})
def review_plan(request: Request, run_id: str, body: PlanReview, principal: Principal = Depends(require("read"))) -> RunOut:
    record = _record(request, run_id)
    if body.action == "edit" and body.plan is None:
        raise ApiError(422, "action 'edit' needs a plan")
    with record.cond:
        if record.status != "interrupted":
            raise ApiError(409, f"the run is {record.status}; no plan awaits review")
        record.status = "running"
    resume: dict[str, Any] = {"action": body.action}
    if body.plan is not None:
        resume["plan"] = body.plan.model_dump()
    try:
        _start(request, record, principal, resume=resume)
    except ApiError:
        with record.cond:
            record.status = "interrupted"  # still awaiting its review: the caller may try again
        raise
    return RunOut(run_id=record.id, status=record.status, question=record.question, events=len(record.events))


@router.get("/{run_id}", response_model=RunOut, summary="A run's status and result",
            dependencies=[Depends(require("read"))])
def get_run(request: Request, run_id: str) -> RunOut:
    record = request.app.state.argus.runs.get(run_id)
    if record is None:
        if not (len(run_id) == 32 and all(c in "0123456789abcdef" for c in run_id)):
            raise ApiError(404, f"no agent run {run_id!r}")
        from agents.run import get_run as stored_run

        result = stored_run(run_id, settings=request.app.state.argus.settings)
        if result is None:
            raise ApiError(404, f"no agent run {run_id!r}")
        status = "interrupted" if result.status == "interrupted" else "finished"
        return RunOut(run_id=run_id, status=status, question=result.question, result=result)
    with record.cond:
        result = AgentResult.model_validate(record.result) if record.result else None
        return RunOut(run_id=record.id, status=record.status, question=record.question, events=len(record.events),
                      result=result)
