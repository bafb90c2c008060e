"""The graph state: what every node reads and the updates it returns.

Values are plain JSON-able data (plans, findings and evidence as dicts) so that the
SQLite checkpoints stay readable by any version of the code; `Plan`, `Finding` and
`Evidence` (core.types) validate them where nodes use them.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from langgraph.managed import RemainingSteps

from core.types import Evidence, Finding, Plan

# lookup: the fast path (answerer); calculation, legal, steps: a plan (a fixed one for calculation and legal).
Route = Literal["small_talk", "refuse", "clarify", "lookup", "calculation", "legal", "steps"]
PLANNED_ROUTES = ("calculation", "legal", "steps")


class AgentState(TypedDict, total=False):
    question: str
    messages: Annotated[list[AnyMessage], add_messages]  # the conversation the coordinator sees
    review: bool  # pause for a plan review after planning
    route: Route  # the coordinator's decision
    plan: dict[str, Any]  # a Plan
    step: int  # index of the plan step being worked on
    attempts: int  # runs of the current step so far
    last_ok: bool  # whether the latest agent run succeeded
    next: str  # the supervisor's choice of the next node
    replans: int
    steps_run: int  # agent runs, retries included (the step budget)
    findings: Annotated[list[dict[str, Any]], operator.add]  # Finding dicts
    evidence: Annotated[list[dict[str, Any]], operator.add]  # the numbered registry: [n] is evidence[n-1]
    failed_steps: Annotated[list[int], operator.add]
    llm_calls: Annotated[int, operator.add]
    tokens: Annotated[int, operator.add]  # prompt + completion tokens used
    stop_reason: str | None  # the budget that ended the run early
    status: str
    report: str
    citation_check: dict[str, Any]  # what checking the answer's [n] did (pipelines.retrieve.citations.CitationCheck.summary)
    harm_margin: float  # the harm screen's margin for the message (agents.intent.HarmScreen)
    remaining_steps: RemainingSteps  # managed by LangGraph: super-steps left before the recursion limit


def plan_of(state: AgentState) -> Plan | None:
    return Plan.model_validate(state["plan"]) if state.get("plan") else None


def findings_of(state: AgentState) -> list[Finding]:
    return [Finding.model_validate(f) for f in state.get("findings") or []]


def evidence_of(state: AgentState) -> list[Evidence]:
    return [Evidence.model_validate(e) for e in state.get("evidence") or []]
