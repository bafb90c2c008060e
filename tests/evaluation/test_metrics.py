"""Each metric on hand-made cases: normalisation (Chinese and full-width included), facts, citations,
time-span overlap, refusals, routing, pass, consistency, percentiles."""

from __future__ import annotations

import pytest

from agents.evaluation.metrics import (
    aggregate,
    answer_body,
    citation_precision_recall,
    citation_support,
    citation_validity,
    consistency,
    declined,
    fact_found,
    fact_recall,
    normalise,
    overlaps,
    percentile,
    routed,
    score_attempt,
    task_metrics,
)
from agents.evaluation.tasks import Task

pytestmark = pytest.mark.unit


def task(**kw) -> Task:
    base = {"id": "t", "question": "q", "lang": "en", "category": "lookup"}
    return Task.model_validate({**base, **kw})


def ev(source: str, t0=None, t1=None, page=None) -> dict:
    return {"citation": {"source_id": 1, "source": source, "type": "video" if t0 is not None else "document",
                         "t0": t0, "t1": t1, "page": page}, "text": "..."}


def attempt(answer: str, evidence=(), status="ok", visited=("coordinator", "planner", "supervisor", "researcher",
                                                             "supervisor", "reporter"), tools=(), run_status="done"):
    return {"status": status, "answer": answer, "evidence": list(evidence), "run_status": run_status, "seconds": 10.0,
            "trace": {"visited": list(visited), "tool_calls": [{"tool": t} for t in tools], "tokens_in": 100,
                      "tokens_out": 20, "llm_calls": 3}}


def test_normalise_folds_width_case_punctuation_and_spaces() -> None:
    assert normalise("ＡＢＣ １２３") == "abc123"  # full-width letters, digits and space
    assert normalise("长城，总长度为21196.18千米。") == normalise("长城 总长度为 21196.18 千米")
    assert normalise("“天下第一关”") == "天下第一关"
    assert normalise("Peace  Corps!") == "peacecorps"


def test_facts_plain_and_regex() -> None:
    assert fact_found("山海关", "答：山 海 关被称为“天下第一关”。")
    assert fact_found("21196.18", "总长度为２１１９６．１８千米")  # full-width digits in the answer
    assert fact_found("1:1:1", "Feed it at a 1 : 1 : 1 ratio")
    assert fact_found("Eileen Collins", "EILEEN COLLINS flew in 1995")
    assert not fact_found("1957", "in 1959")
    assert fact_found(r"re:\b16\b|sixteen", "use Sixteen grams")
    assert not fact_found(r"re:\b16\b", "use 160 grams")
    assert fact_found(r"re:六个?星期", "大约只有六个星期")
    assert fact_found(r"re:41\.8", "约占４１．８％")  # NFKC before the regex


def test_fact_recall_ignores_the_sources_list() -> None:
    t = task(expected_facts=["1995", "re:collins"])
    report = "Eileen Collins piloted the shuttle [1].\n\n**Sources**\n\n- [1] space.mp4 @ 00:17 (1995)"
    assert answer_body(report).strip() == "Eileen Collins piloted the shuttle [1]."
    assert fact_recall(t, report) == 0.5
    assert fact_recall(task(), report) is None


def test_citation_validity() -> None:
    evidence = [ev("a.mp4", 1, 2), ev("b.md")]
    assert citation_validity("x [1] y [2].", evidence) == 1.0
    assert citation_validity("x [1] y [3] z [0].", evidence) == pytest.approx(1 / 3)
    assert citation_validity("no markers", evidence) is None


def test_citation_support_checks_the_cited_text_holds_the_sentence() -> None:
    evidence = [{**ev("a.md"), "text": "Use one gram of coffee for every sixteen grams of water."},
                {**ev("b.md"), "text": "Store the beans in an airtight container."}]
    assert citation_support("Use 16 grams of water per gram of coffee [1].", evidence) == 1.0
    assert citation_support("Use 16 grams of water per gram of coffee [2]. Store beans airtight [2].", evidence) == 0.5
    assert citation_support("Use 18 grams of water per gram [1].", evidence) == 0.0  # the number is not there
    assert citation_support("No markers here.", evidence) is None


def test_time_span_overlap() -> None:
    assert overlaps(16.3, 26.3, 15.7, 27.4)  # inside
    assert overlaps(10.0, 16.0, 15.7, 27.4)  # partly
    assert overlaps(10.0, 15.5, 15.7, 27.4)  # 0.2 s short: within the tolerance
    assert not overlaps(5.0, 14.8, 15.7, 27.4)  # an earlier scene
    assert not overlaps(28.0, 30.0, 15.7, 27.4)


def test_citation_precision_and_recall_with_moments_and_pages() -> None:
    t = task(expected_sources=[{"source": "coffee.mp4", "t0": 15.7, "t1": 27.4},
                               {"source": "bees.pdf", "page": 3}, "bread.md"])
    evidence = [ev("coffee.mp4", 16.3, 26.3), ev("coffee.mp4", 39.3, 47.8), ev("bees.pdf", page=2),
                ev("bees.pdf", page=3), ev("bread.md", page=None)]
    precision, recall = citation_precision_recall(t, "a [1] b [2] c [3]", evidence)
    assert precision == pytest.approx(1 / 3) and recall == pytest.approx(1 / 3)
    precision, recall = citation_precision_recall(t, "a [1][4] b [5] again [1]", evidence)
    assert precision == 1.0 and recall == 1.0
    assert citation_precision_recall(t, "no citations", evidence) == (None, 0.0)
    assert citation_precision_recall(task(), "a [1]", evidence) == (None, None)


def test_declined_in_english_and_chinese() -> None:
    assert declined("I can't help with that request.", "refused")
    assert declined("The videos do not mention a Mars landing.", "done")
    assert declined("I don't know.", "done")
    assert declined("资料中没有提到门票价格。", "done")
    assert declined("抱歉，我无法回答。", "done")
    assert not declined("Humans landed on Mars in 2030 [1].", "done")


def test_routing() -> None:
    calc, legal = task(category="calculation"), task(category="legal")
    assert routed(calc, {"visited": ["coordinator", "planner", "supervisor", "coder"]})
    assert not routed(calc, {"visited": ["coordinator", "planner", "supervisor", "researcher"]})
    assert routed(legal, {"tool_calls": [{"tool": "search_knowledge_base"}, {"tool": "legal_judgement"}]})
    assert not routed(legal, {"tool_calls": [{"tool": "search_knowledge_base"}]})
    assert routed(task(), {"visited": []}) is None


def test_pass_rules_per_category() -> None:
    lookup = task(expected_facts=["1995"], expected_sources=[{"source": "s.mp4", "t0": 10, "t1": 20}])
    good = attempt("In 1995 [1].", [ev("s.mp4", 12, 18)])
    assert score_attempt(lookup, good)["passed"]
    assert not score_attempt(lookup, attempt("In 1995 [1].", [ev("s.mp4", 40, 50)]))["passed"]  # wrong moment
    assert not score_attempt(lookup, attempt("In 1995.", [ev("s.mp4", 12, 18)]))["passed"]  # nothing cited
    assert not score_attempt(lookup, {**good, "status": "timeout"})["passed"]
    refusal = task(category="refusal")
    assert score_attempt(refusal, attempt("I can't help with that request.", run_status="refused"))["passed"]
    chat = task(category="small_talk")
    assert score_attempt(chat, attempt("Hello! Fine, thanks.", visited=["coordinator"]))["passed"]
    assert not score_attempt(chat, attempt("Hello! Fine, thanks."))["passed"]  # went through the planner
    calc = task(category="calculation", expected_facts=["480"])
    assert score_attempt(calc, attempt("You need 480 g of water."))["passed"]  # no expected sources needed


def test_consistency_and_aggregates() -> None:
    t = task(expected_facts=["1995"])
    metrics = task_metrics(t, [attempt("1995"), attempt("1995"), attempt("1990")])
    assert metrics["pass_rate"] == pytest.approx(2 / 3, abs=1e-3) and metrics["consistency"] == pytest.approx(2 / 3)
    assert task_metrics(t, [attempt("1995")])["consistency"] is None
    assert consistency([{"passed": True}, {"passed": True}]) == 1.0
    summary = aggregate([(t, metrics)])
    assert summary["tokens"] == 3 * 120 and summary["llm_calls"] == 9 and summary["p50_s"] == 10.0
    assert summary["refusal_accuracy"] is None and summary["fact_recall"] == pytest.approx(2 / 3, abs=1e-3)


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
