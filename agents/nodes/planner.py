"""Planner: a typed `Plan` decoded under its JSON schema; re-plans the remaining work after failures."""

from __future__ import annotations

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig

from agents import prompts
from agents.intent import NUMBER
from agents.state import AgentState, plan_of
from agents.team import Team
from core.types import Plan, PlanStep
from models.llm.client import StructuredOutputError, structured


def fallback_plan(question: str) -> Plan:
    """One research step: what to do when no valid plan came back."""
    return Plan(steps=[PlanStep(agent="researcher", goal=question[:300], expected_output="the relevant evidence")])


def template_plan(route: str | None, question: str) -> Plan | None:
    """The fixed plan of a route that needs no planning call (None: ask the planner)."""
    if route == "calculation":
        coder = PlanStep(agent="coder", goal=question[:300], expected_output="the computed result, printed")
        if len(NUMBER.findall(question)) >= 2:  # the numbers are given: search results would only distract
            return Plan(steps=[coder])
        return Plan(steps=[
            PlanStep(agent="researcher", goal=question[:300], expected_output="the numbers the calculation needs"),
            PlanStep(agent="coder", goal=question[:300], expected_output="the computed result, printed")])
    if route == "legal":
        return Plan(steps=[PlanStep(agent="researcher", goal=question[:300],
                                    expected_output="the charge and term from the legal_judgement tool")])
    if route == "lookup":  # only reaches the planner when the person reviews plans
        return fallback_plan(question)
    return None


def make_planner(team: Team):
    def planner(state: AgentState, config: RunnableConfig) -> dict:
        question = state["question"]
        previous = plan_of(state)
        template = template_plan(state.get("route"), question) if previous is None else None
        if template is not None:
            return {"plan": template.model_dump(), "step": 0, "attempts": 0}
        replanning = previous is not None
        request = f"Question: {question}"
        if replanning:
            failed = [previous.steps[i].goal for i in state.get("failed_steps") or [] if i < len(previous.steps)]
            request += "\n" + prompts.REPLAN.format(failures="; ".join(failed) or "none")
        messages = [SystemMessage(prompts.PLANNER), HumanMessage(request)]
        try:
            plan, usage = team.call(config, lambda: structured(team.model(), Plan).invoke(messages))
        except StructuredOutputError:
            plan, usage = fallback_plan(question), {}
        if not replanning:
            return {"plan": plan.model_dump(), "step": 0, "attempts": 0, **usage}
        # Keep the steps already worked on (their findings point at them) and append the new ones.
        done = previous.steps[: state.get("step", 0) + 1]
        merged = Plan.model_construct(steps=[*done, *plan.steps])
        return {"plan": merged.model_dump(), "step": len(done), "attempts": 0,
                "replans": state.get("replans", 0) + 1, **usage}

    return planner
