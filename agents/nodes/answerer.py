"""Answerer: the fast path for a question one search can answer. Retrieve (the question and each of its
parts), one cited answer from `pipelines.retrieve.answer`, its citations checked; no planner, no tools.
One LLM call, plus a yes/no only for a sentence whose citation lexical support cannot settle."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer

from agents.answering import cited_answer, gather
from agents.intent import split_greeting
from agents.nodes.reporter import assemble
from agents.state import AgentState
from agents.team import Team
from core.types import Finding, ToolCallRecord
from pipelines.retrieve.answer_prompt import format_evidence

SEARCH = "search_knowledge_base"


def make_answerer(team: Team):
    def answerer(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        write = get_stream_writer()
        question = split_greeting(state["question"])[1] or state["question"]
        write({"event": "tool_call", "tool": SEARCH, "args": {"query": question}})
        evidence = gather(team.retriever, question, team.settings.agent_search_k)
        numbers = list(range(1, len(evidence) + 1))
        write({"event": "tool_result", "tool": SEARCH, "result": format_evidence(evidence)[:500] or "Nothing found.",
               "evidence": numbers})
        text, cited_evidence, check, usage = cited_answer(team, config, question, evidence)
        record = ToolCallRecord(tool=SEARCH, args={"query": question}, result=format_evidence(evidence)[:500],
                                evidence=numbers)
        finding = Finding(step=0, agent="researcher", goal=question, ok=bool(evidence),
                          summary=format_evidence(evidence)[:1500] or "Nothing found.", evidence=numbers,
                          tool_calls=[record])
        # The answer numbers the evidence as gathered (all of it relevant), so its [n] are the registry's.
        assert not cited_evidence or cited_evidence == evidence
        report = assemble(text, evidence, [], [], None)
        update = {"report": report, "status": "done", "messages": [AIMessage(text)],
                  "evidence": [e.model_dump() for e in evidence], "findings": [finding.model_dump()], **usage}
        if check is not None:
            update["citation_check"] = check.summary()
        return update

    return answerer
