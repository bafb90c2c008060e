"""Report building: the baseline comparison flags per-task regressions; the judge's bookkeeping
(with a stand-in judge model, named as such); report.md and the plots are written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agents.evaluation.judge import cited_sentences, judge_attempt
from agents.evaluation.report import build_report, compare, write_report
from agents.evaluation.tasks import parse_tasks
from core.settings import Settings

pytestmark = pytest.mark.unit

TASKS = parse_tasks([json.dumps({"id": i, "question": "q", "lang": "en", "category": "lookup",
                                 "expected_facts": ["1995"]}) for i in ("a", "b")])


def record(task_id: str, answer: str, seconds: float = 5.0) -> dict:
    return {"task_id": task_id, "repeat": 0, "status": "ok", "error": None, "seconds": seconds, "answer": answer,
            "run_status": "done", "evidence": [{"citation": {"source": "s.mp4", "t0": 1.0, "t1": 2.0},
                                                "text": "Collins flew in 1995."}],
            "trace": {"visited": ["coordinator", "planner", "reporter"], "tool_calls": [], "nodes": [],
                      "tokens_in": 10, "tokens_out": 5, "llm_calls": 2}}


def test_baseline_comparison_flags_regressions(tmp_path) -> None:
    before = build_report(TASKS, [record("a", "In 1995 [1]."), record("b", "No idea.")])
    after = build_report(TASKS, [record("a", "In 1990 [1]."), record("b", "In 1995.")])
    comparison = compare(after, before)
    assert comparison["regressions"] == ["a"]
    assert comparison["summary"]["pass_rate"] == {"before": 0.5, "after": 0.5}

    settings = Settings(home=tmp_path / "home")
    write_report(tmp_path / "before", TASKS, [record("a", "In 1995 [1]."), record("b", "No idea.")], settings)
    report = write_report(tmp_path / "after", TASKS, [record("a", "In 1990 [1]."), record("b", "In 1995.")], settings,
                          baseline=tmp_path / "before")
    markdown = (tmp_path / "after" / "report.md").read_text()
    assert report["comparison"]["regressions"] == ["a"] and "**REGRESSION** (pass_rate, fact_recall)" in markdown
    assert (tmp_path / "after" / "categories.png").stat().st_size > 0
    assert (tmp_path / "after" / "latency.png").stat().st_size > 0
    saved = json.loads((tmp_path / "after" / "report.json").read_text())
    assert saved["tasks"][0]["attempts"][0]["trace"]["visited"] == ["coordinator", "planner", "reporter"]


class FakeJudgeChat(BaseChatModel):
    """A stand-in judge: 'supported' when the sentence's year appears in the evidence shown."""

    @property
    def _llm_type(self) -> str:
        return "fake-judge"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        prompt = messages[-1].content
        evidence, sentence = prompt.split("Sentence:")
        verdict = "supported" if any(y in evidence for y in sentence.split() if y.strip(".[]1").isdigit()) \
            else "unsupported"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(verdict))])


def test_judge_scores_cited_sentences() -> None:
    answer = "Collins flew in 1995 [1]. Hubble launched in 1990 [1]. An uncited sentence.\n\n**Sources**\n\n- [1] x"
    assert [n for _, n in cited_sentences(answer)] == [[1], [1]]
    judged = judge_attempt(FakeJudgeChat(), record("a", answer))
    assert [v["verdict"] for v in judged["sentences"]] == ["supported", "unsupported"]
    assert judged["groundedness"] == 0.5
    assert judge_attempt(FakeJudgeChat(), record("a", "Nothing cited."))["groundedness"] is None
