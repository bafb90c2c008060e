"""Supervisor: routes each plan step to its agent, retries a failed step once, re-plans or moves
on, and ends in the reporter when the plan is done or a budget is spent. No LLM call: the plan's
schema-constrained `agent` field already says who does each step."""

from __future__ import annotations

from agents.state import AgentState, plan_of
from agents.team import Team

MAX_ATTEMPTS = {"coder": 2, "researcher": 1}  # the coder retries once with its error; a search again finds the same
RECURSION_MARGIN = 4  # super-steps kept for the reporter and the way out


def make_supervisor(team: Team):
    settings = team.settings

    def supervisor(state: AgentState) -> dict:
        plan = plan_of(state)
        step, attempts = state.get("step", 0), state.get("attempts", 0)
        update: dict = {}
        if attempts:  # back from an agent
            if state.get("last_ok"):
                step, attempts = step + 1, 0
            elif plan is not None and step < len(plan.steps) and attempts >= MAX_ATTEMPTS[plan.steps[step].agent]:
                update["failed_steps"] = [step]
                # Only the planner's own plans are re-planned: a fixed plan would come back the same.
                if state.get("route") == "steps" and state.get("replans", 0) < settings.agent_max_replans:
                    return {**update, "next": "planner", "attempts": 0}
                step, attempts = step + 1, 0
        update.update(step=step, attempts=attempts)
        stop = _budget_spent(state, settings)
        if stop:
            return {**update, "next": "reporter", "stop_reason": stop}
        if plan is None or step >= len(plan.steps):
            return {**update, "next": "reporter"}
        return {**update, "next": plan.steps[step].agent}

    return supervisor


def _budget_spent(state: AgentState, settings) -> str | None:
    if state.get("steps_run", 0) >= settings.agent_max_steps:
        return f"step budget ({settings.agent_max_steps} agent runs) spent"
    if state.get("tokens", 0) >= settings.agent_max_tokens:
        return f"token budget ({settings.agent_max_tokens} tokens) spent"
    if state.get("remaining_steps", RECURSION_MARGIN + 1) <= RECURSION_MARGIN:
        return f"recursion limit ({settings.agent_recursion_limit} graph steps) nearly reached"
    return None


def route(state: AgentState) -> str:
    return state["next"]
