"""Deterministic metrics: per attempt, per task (mean over repeats), per category and overall.

Per attempt (`score_attempt`):
- fact_recall: share of expected facts found in the answer body (the Sources list excluded).
- citation_validity: share of [n] markers that resolve to the run's evidence.
- citation_support: share of citing sentences whose cited items hold them lexically (pipelines.retrieve.citations.support:
  every number and most content words); independent of the LLM yes/no the run may have used.
- citation_precision / citation_recall: cited items against `expected_sources` (same file; a
  time-span overlap for moments, the same page for pages).
- declined: the answer refuses or says it does not know (scored on refusal and unanswerable).
- routed: calculation reached the coder; legal called `legal_judgement`.
- passed: the category's goal (see `passed`).
A metric that does not apply is None and is left out of the means.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from typing import Any

from agents.evaluation.tasks import REGEX_PREFIX, Task

SPAN_TOLERANCE_S = 0.5  # transcript segments start and end a little off the scene cuts
REPORT_SECTIONS = re.compile(r"\n\s*\*\*(Sources|Evidence consulted|Calculation|Charts|Not done)\*\*")
MARKER = re.compile(r"\[(\d+)\]")
DECLINE = re.compile(
    r"can(?:no|')t help|cannot help|won't help|unable to|not able to|can(?:no|')t (?:assist|provide|answer|find)"
    r"|do(?:n't| not) know|no (?:relevant )?(?:information|evidence|sources?|mention|data)|not (?:found|mentioned|"
    r"available|provided|stated|specified)|(?:could|did)(?:n't| not) find|nothing (?:was )?found|do(?:es)?(?: not|n't) (?:say"
    r"|mention|contain|include|specify)|there is no"
    r"|不知道|不清楚|没有找到|未找到|找不到|没有(?:相关)?(?:信息|资料|记录|提到|提及)|未(?:提及|提到)|无法|不能|抱歉",
    re.IGNORECASE)
DECLINE_CATEGORIES = ("refusal", "unanswerable")
ROUTED_CATEGORIES = ("calculation", "legal")
SUMMARY_KEYS = ("pass_rate", "fact_recall", "citation_validity", "citation_support", "citation_precision",
                "citation_recall",
                "refusal_accuracy", "routing_accuracy", "consistency")


def fold(text: str) -> str:
    """Full-width to half-width (NFKC), case folded, spaces collapsed: what regex facts see."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def normalise(text: str) -> str:
    """`fold`, then without punctuation and spaces: what plain facts are compared on (中文 included)."""
    return "".join(ch for ch in fold(text) if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def fact_found(fact: str, answer: str) -> bool:
    if fact.startswith(REGEX_PREFIX):
        return re.search(fact[len(REGEX_PREFIX):], fold(answer), re.IGNORECASE) is not None
    wanted = normalise(fact)
    return bool(wanted) and wanted in normalise(answer)


def answer_body(report: str) -> str:
    """The answer without the Sources, Charts and Not done lists the reporter appends."""
    match = REPORT_SECTIONS.search(report)
    return report[: match.start()] if match else report


def fact_recall(task: Task, answer: str) -> float | None:
    if not task.expected_facts:
        return None
    body = answer_body(answer)
    return sum(fact_found(f, body) for f in task.expected_facts) / len(task.expected_facts)


def markers(answer: str) -> list[int]:
    return [int(n) for n in MARKER.findall(answer_body(answer))]


def citation_validity(answer: str, evidence: list[dict]) -> float | None:
    cited = markers(answer)
    if not cited:
        return None
    return sum(1 <= n <= len(evidence) for n in cited) / len(cited)


def citation_support(answer: str, evidence: list[dict]) -> float | None:
    from pipelines.retrieve.citations import MARKER as SENTENCE_MARKER
    from pipelines.retrieve.citations import MIN_SUPPORT, sentences, support

    citing = [s for s in sentences(answer_body(answer)) if SENTENCE_MARKER.search(s)]
    if not citing:
        return None
    held = 0
    for sentence in citing:
        numbers = [int(n) for n in SENTENCE_MARKER.findall(sentence)]
        texts = [evidence[n - 1].get("text", "") + " " + str(evidence[n - 1]["citation"].get("source", ""))
                 for n in numbers if 1 <= n <= len(evidence)]
        held += bool(texts) and len(texts) == len(numbers) and support(sentence, " ".join(texts)) >= MIN_SUPPORT
    return held / len(citing)


def overlaps(a0: float, a1: float, b0: float, b1: float, tolerance: float = SPAN_TOLERANCE_S) -> bool:
    """Whether two time spans share more than touching, allowing `tolerance` seconds of slack."""
    return min(a1, b1) - max(a0, b0) > -tolerance


def matches(citation: dict, expected) -> bool:
    """A cited item against one expected source: same file, overlapping moment, same page."""
    if citation.get("source") != expected.source:
        return False
    if expected.t0 is not None and citation.get("t0") is not None:
        t1 = citation.get("t1") if citation.get("t1") is not None else citation["t0"]
        return overlaps(citation["t0"], t1, expected.t0, expected.t1)
    if expected.page is not None and citation.get("page") is not None:
        return citation["page"] == expected.page
    return True


def cited_items(answer: str, evidence: list[dict]) -> list[dict]:
    numbers = dict.fromkeys(n for n in markers(answer) if 1 <= n <= len(evidence))
    return [evidence[n - 1]["citation"] for n in numbers]


def citation_precision_recall(task: Task, answer: str, evidence: list[dict]) -> tuple[float | None, float | None]:
    if not task.expected_sources:
        return None, None
    cited = cited_items(answer, evidence)
    recall = sum(any(matches(c, e) for c in cited) for e in task.expected_sources) / len(task.expected_sources)
    precision = sum(any(matches(c, e) for e in task.expected_sources) for c in cited) / len(cited) if cited else None
    return precision, recall


def declined(answer: str, run_status: str | None) -> bool:
    return run_status == "refused" or DECLINE.search(answer_body(answer)) is not None


def routed(task: Task, trace: dict) -> bool | None:
    if task.category == "calculation":
        return "coder" in trace.get("visited", [])
    if task.category == "legal":
        return any(c.get("tool") == "legal_judgement" for c in trace.get("tool_calls", []))
    return None


def passed(task: Task, attempt: dict, recall: float | None, source_recall: float | None, refused: bool) -> bool:
    """All expected facts and ≥ 1 expected source; refusal and unanswerable: declined; small talk: answered by the
    coordinator alone without declining; any failed attempt fails."""
    if attempt["status"] != "ok":
        return False
    if task.category in DECLINE_CATEGORIES:
        return refused
    if task.category == "small_talk":
        return attempt["trace"].get("visited") == ["coordinator"] and bool(attempt["answer"].strip()) and not refused
    facts_ok = recall is None or recall == 1.0
    sources_ok = not task.expected_sources or (source_recall or 0.0) > 0
    return facts_ok and sources_ok


def score_attempt(task: Task, attempt: dict) -> dict[str, Any]:
    answer, evidence, trace = attempt.get("answer") or "", attempt.get("evidence") or [], attempt.get("trace") or {}
    recall = fact_recall(task, answer)
    precision, source_recall = citation_precision_recall(task, answer, evidence)
    refused = declined(answer, attempt.get("run_status"))
    return {
        "passed": passed(task, attempt, recall, source_recall, refused),
        "fact_recall": recall,
        "citation_validity": citation_validity(answer, evidence),
        "citation_support": citation_support(answer, evidence),
        "citation_precision": precision,
        "citation_recall": source_recall,
        "declined": refused,
        "refusal_correct": refused if task.category in DECLINE_CATEGORIES else None,
        "routed": routed(task, trace),
        "seconds": attempt.get("seconds", 0.0),
        "tokens_in": trace.get("tokens_in", 0),
        "tokens_out": trace.get("tokens_out", 0),
        "llm_calls": trace.get("llm_calls", 0),
    }


def mean(values) -> float | None:
    present = [float(v) for v in values if v is not None]
    return round(statistics.fmean(present), 4) if present else None


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (pos - low), 3)


def consistency(scores: list[dict]) -> float | None:
    """Share of repeats agreeing with the task's majority pass/fail outcome (None for a single run)."""
    if len(scores) < 2:
        return None
    return Counter(s["passed"] for s in scores).most_common(1)[0][1] / len(scores)


def task_metrics(task: Task, attempts: list[dict]) -> dict[str, Any]:
    """Means over the task's repeats (pass as a rate), plus consistency."""
    scores = [score_attempt(task, a) for a in attempts]
    keys = ("fact_recall", "citation_validity", "citation_support", "citation_precision", "citation_recall", "refusal_correct", "routed",
            "seconds", "tokens_in", "tokens_out", "llm_calls")
    out: dict[str, Any] = {"pass_rate": mean(s["passed"] for s in scores)}
    out.update({k: mean(s[k] for s in scores) for k in keys})
    out["consistency"] = consistency(scores)
    out["attempts"] = scores
    return out


def aggregate(per_task: list[tuple[Task, dict]]) -> dict[str, Any]:
    """Summary figures over tasks (each task weighs the same; latency over all attempts)."""
    seconds = [a["seconds"] for _, m in per_task for a in m["attempts"]]
    tokens_in = sum(a["tokens_in"] for _, m in per_task for a in m["attempts"])
    tokens_out = sum(a["tokens_out"] for _, m in per_task for a in m["attempts"])
    return {
        "tasks": len(per_task),
        "attempts": len(seconds),
        "pass_rate": mean(m["pass_rate"] for _, m in per_task),
        "fact_recall": mean(m["fact_recall"] for _, m in per_task),
        "citation_validity": mean(m["citation_validity"] for _, m in per_task),
        "citation_support": mean(m["citation_support"] for _, m in per_task),
        "citation_precision": mean(m["citation_precision"] for _, m in per_task),
        "citation_recall": mean(m["citation_recall"] for _, m in per_task),
        "refusal_accuracy": mean(m["refusal_correct"] for _, m in per_task),
        "routing_accuracy": mean(m["routed"] for _, m in per_task),
        "consistency": mean(m["consistency"] for _, m in per_task),
        "p50_s": percentile(seconds, 50),
        "p95_s": percentile(seconds, 95),
        "tokens": tokens_in + tokens_out,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "llm_calls": sum(a["llm_calls"] for _, m in per_task for a in m["attempts"]),
        "llm_calls_per_task": mean(a["llm_calls"] for _, m in per_task for a in m["attempts"]),
        "tokens_per_task": mean(a["tokens_in"] + a["tokens_out"] for _, m in per_task for a in m["attempts"]),
    }
