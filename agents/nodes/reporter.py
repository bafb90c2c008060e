"""Reporter: the final Markdown answer with [n] citations that resolve to the run's evidence and are
checked against it, its sources (video @ mm:ss with keyframe, document page), the calculation and
charts, and what was not done.

A calculation's answer is the script's own output (a small model retelling a number gets it wrong);
research answers are `agents.answering.cited_answer` over the run's evidence and step results."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig

from agents import prompts
from agents.answering import cited_answer, not_covered
from agents.intent import is_chinese
from agents.state import AgentState, evidence_of, findings_of, plan_of
from agents.team import Team
from core.types import Evidence, Finding
from pipelines.retrieve.answer import cited_numbers
from pipelines.retrieve.citations import check_citations

EVIDENCE_CHARS = 350  # per item in the reporter's prompt: keeps prefill short on a CPU


def not_done(state: AgentState, findings: list[Finding]) -> list[str]:
    """Plan steps without a successful finding, each with why."""
    plan = plan_of(state)
    if plan is None:
        return []
    ok = {f.step for f in findings if f.ok}
    failed = set(state.get("failed_steps") or [])
    reason_left = state.get("stop_reason") or "not reached"
    return [f"{i + 1}. {s.agent}: {s.goal} — {'failed' if i in failed else reason_left}"
            for i, s in enumerate(plan.steps) if i not in ok]


def source_line(n: int, ev: Evidence) -> str:
    c = ev.citation
    extra = f" (keyframe {c.keyframe_id})" if c.keyframe_id is not None else ""
    extra += f" — {c.heading}" if c.heading and c.t0 is None else ""
    return f"[{n}] {c.label()}{extra}"


def _prompt(question: str, evidence: list[Evidence], findings: list[Finding]) -> list:
    lines = [f"[{n}] ({ev.citation.label()}) {' '.join(ev.text.split())[:EVIDENCE_CHARS]}"
             for n, ev in enumerate(evidence, start=1)]
    results = [f"- {f.goal}: {f.summary[:600]}" for f in findings if f.agent != "researcher" and f.ok]
    body = "Evidence:\n" + ("\n".join(lines) or "(none)")
    if results:
        body += "\n\nStep results:\n" + "\n".join(results)
    return [SystemMessage(prompts.REPORTER), HumanMessage(f"{body}\n\nQuestion: {question}")]


def _without_llm(findings: list[Finding], reason: str) -> str:
    done = [f"- {f.goal}: {f.summary[:400]}" for f in findings if f.ok]
    return f"I could not write a full answer ({reason}). What was found:\n" + ("\n".join(done) or "- nothing")


def stdout_of(finding: Finding) -> str:
    text = finding.summary.split("stdout:\n", 1)[-1] if "stdout:\n" in finding.summary else ""
    text = text.split("\nfiles: ", 1)[0]
    return "\n".join(line for line in text.splitlines() if not line.startswith("(sandbox:")).strip()


def calculation_text(question: str, coder: Finding) -> str:
    output = stdout_of(coder) or "(the script printed nothing)"
    return f"计算结果：{output}" if is_chinese(question) else f"The calculation gives: {output}"


def legal_text(question: str, findings: list[Finding], notes: list[str]) -> str:
    results = [f.summary for f in findings if f.ok and any(c.tool == "legal_judgement" for c in f.tool_calls)]
    if results:
        return results[-1]
    why = next((n for n in notes if n.startswith("legal tool")), "the legal tool gave no result")
    return f"无法给出判决预测：{why}" if is_chinese(question) else f"I cannot judge this case: {why}"


def make_reporter(team: Team):
    settings = team.settings

    def reporter(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        evidence, findings = evidence_of(state), findings_of(state)
        question, route = state["question"], state.get("route")
        stop = state.get("stop_reason")
        usage: dict[str, int] = {}
        extra: dict[str, Any] = {}
        coder = [f for f in findings if f.agent == "coder" and f.ok]
        if route == "calculation" and coder:
            text = calculation_text(question, coder[-1])
        elif route == "legal":
            text = legal_text(question, findings, team.notes)
        elif not (evidence or any(f.ok for f in findings)):
            text = not_covered(question)
        elif state.get("tokens", 0) >= settings.agent_max_tokens:
            text = _without_llm(findings, stop or "token budget spent")
        elif not coder:  # research only: the same cited answer as the fast path
            text, _, check, usage = cited_answer(team, config, question, evidence)
            extra = {"citation_check": check.summary()} if check else {}
        else:
            reply, usage = team.call(config, lambda: team.model().invoke(_prompt(question, evidence, findings)))
            check = check_citations(str(reply.content), evidence, results=[f.summary for f in coder], question=question)
            text = check.text or not_covered(question)
            extra = {"citation_check": check.summary()}
        missing = not_done(state, findings)
        report = assemble(text, evidence, findings, missing, stop)
        status = "partial" if (stop or missing) else "done"
        return {"report": report, "status": status, **usage, **extra}

    return reporter


def assemble(text: str, evidence: list[Evidence], findings: list[Finding], missing: list[str],
             stop: str | None) -> str:
    parts = [text.strip()]
    cited = [n for n in cited_numbers(text) if 1 <= n <= len(evidence)]
    if cited:
        parts.append("**Sources**\n\n" + "\n".join(f"- {source_line(n, evidence[n - 1])}" for n in cited))
    elif evidence:  # the answer cites nothing: still show what it was written from
        parts.append("**Evidence consulted**\n\n" + "\n".join(
            f"- {source_line(n, ev)}" for n, ev in enumerate(evidence, start=1)))
    scripts = [c.args.get("code", "") for f in findings if f.agent == "coder" and f.ok for c in f.tool_calls]
    if scripts:
        parts.append("**Calculation**\n\n```python\n" + scripts[-1].strip() + "\n```")
    charts = [p for f in findings for p in f.files if p.endswith((".png", ".svg", ".jpg"))]
    if charts:
        parts.append("**Charts**\n\n" + "\n".join(f"![chart]({p})" for p in charts))
    if missing:
        head = f"**Not done** ({stop})" if stop else "**Not done**"
        parts.append(head + "\n\n" + "\n".join(f"- {m}" for m in missing))
    return "\n\n".join(parts)
