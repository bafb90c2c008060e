"""Coder: the LLM writes a short Python script for a calculation or chart step (under a JSON
schema); the sandbox runs it; its output and produced files become the step's finding."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from pydantic import BaseModel, Field

from agents import prompts
from agents.sandbox import run_python
from agents.state import AgentState, findings_of, plan_of
from agents.team import Team, thread_id
from core.types import Finding, ToolCallRecord
from models.llm.client import StructuredOutputError, structured

SCRIPT_TOKENS = 220  # a few lines of arithmetic; a longer script is the model rambling


def repaired(code: str) -> str:
    """The script with stray closing braces at its end dropped: the model sometimes copies the JSON object's
    closing brace into the code ("print(1969 - 1957)}"), which constrained decoding allows inside a string."""
    try:
        compile(code, "<script>", "exec")
        return code
    except SyntaxError:
        pass
    trimmed = code.rstrip()
    while trimmed.endswith(("}", "]")) or trimmed.endswith('"'):
        trimmed = trimmed[:-1].rstrip()
        try:
            compile(trimmed, "<script>", "exec")
            return trimmed
        except SyntaxError:
            continue
    return code


class Script(BaseModel):
    code: str = Field(description="a complete Python script that prints its results")


def make_coder(team: Team):
    settings = team.settings

    def coder(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        write = get_stream_writer()
        index = state.get("step", 0)
        step = plan_of(state).steps[index]
        findings = findings_of(state)
        notes = "\n".join(f"- {f.summary[:500]}" for f in findings if f.ok)[-1500:] or "(none)"
        request = f"Task: {step.goal}\nNotes:\n{notes}"
        failed = [f for f in findings if f.agent == "coder" and f.step == index and not f.ok]
        if failed:  # the retry sees why the first script failed (greedy decoding would repeat it)
            request += f"\nThe previous script failed:\n{failed[-1].summary[-400:]}\nWrite a simpler script."
        examples = [m for task, script in prompts.CODER_EXAMPLES for m in (HumanMessage(task), AIMessage(script))]
        messages = [SystemMessage(prompts.CODER), *examples, HumanMessage(request)]
        base = {"attempts": state.get("attempts", 0) + 1, "steps_run": state.get("steps_run", 0) + 1}
        try:
            script, usage = team.call(config, lambda: structured(team.model(SCRIPT_TOKENS), Script).invoke(messages))
        except StructuredOutputError as exc:
            finding = Finding(step=index, agent="coder", goal=step.goal, ok=False, summary=f"no script: {exc}"[:500])
            return {"findings": [finding.model_dump()], "last_ok": False, **base}
        script = Script(code=repaired(script.code))
        write({"event": "tool_call", "tool": "python", "args": {"code": script.code}})
        out_dir = settings.home / "agents" / "files" / thread_id(config) / f"step-{index + 1}"
        result = run_python(script.code, settings, out_dir=out_dir)
        write({"event": "tool_result", "tool": "python", "result": result.summary(500),
               "files": [f.path for f in result.files], "ok": result.ok})
        record = ToolCallRecord(tool="python", args={"code": script.code}, result=result.summary(500))
        finding = Finding(step=index, agent="coder", goal=step.goal, ok=result.ok, summary=result.summary(),
                          files=[f.path for f in result.files], tool_calls=[record])
        return {"findings": [finding.model_dump()], "last_ok": finding.ok, **base, **usage}

    return coder
