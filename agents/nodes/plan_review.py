"""Plan review: pauses the run (a LangGraph interrupt) until a person accepts or edits the plan.

Resume with `Command(resume={"action": "accept"})` or
`Command(resume={"action": "edit", "plan": {...}})` (see `agents.run.review_command`).
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.types import interrupt
from pydantic import BaseModel, ValidationError

from agents.state import AgentState
from core.types import Plan


class PlanReview(BaseModel):
    action: Literal["accept", "edit"]
    plan: Plan | None = None  # the edited plan, for "edit"


def make_plan_review():
    def plan_review(state: AgentState) -> dict[str, Any]:
        answer = interrupt({"type": "plan_review", "question": state["question"], "plan": state["plan"],
                            "actions": ["accept", "edit"]})
        try:
            review = PlanReview.model_validate(answer)
        except ValidationError:
            return {}  # an unusable answer keeps the plan as it was
        if review.action == "edit" and review.plan is not None:
            return {"plan": review.plan.model_dump(), "step": 0, "attempts": 0}
        return {}

    return plan_review
