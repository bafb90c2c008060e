"""The optional LLM judge: is each cited sentence of an answer supported by the evidence it cites?

Off by default and reported apart from the deterministic metrics: a small model judging
itself is a noisy signal. The rubric is fixed so that scores compare across runs.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from agents.evaluation.metrics import MARKER, answer_body, mean

RUBRIC = (
    "You check one sentence of an answer against the evidence it cites. Reply with exactly one word:\n"
    "- supported: every claim in the sentence is stated in the evidence;\n"
    "- partial: some claims are in the evidence, others are not;\n"
    "- unsupported: the evidence does not state the sentence's claims, or contradicts them.\n"
    "Judge only against the evidence, never against your own knowledge."
)
VERDICTS = {"supported": 1.0, "partial": 0.5, "unsupported": 0.0}
MAX_SENTENCES = 6
EVIDENCE_CHARS = 400
SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")


def cited_sentences(answer: str) -> list[tuple[str, list[int]]]:
    sentences = [s.strip() for s in SENTENCE_END.split(answer_body(answer)) if s.strip()]
    return [(s, [int(n) for n in MARKER.findall(s)]) for s in sentences if MARKER.search(s)][:MAX_SENTENCES]


def judge_attempt(chat, attempt: dict) -> dict[str, Any]:
    """Per-sentence verdicts and their mean (None when the answer cites nothing)."""
    from models.llm.client import choose

    evidence = attempt.get("evidence") or []
    verdicts = []
    for sentence, numbers in cited_sentences(attempt.get("answer") or ""):
        cited = [f"[{n}] {evidence[n - 1]['text'][:EVIDENCE_CHARS]}" for n in numbers if 1 <= n <= len(evidence)]
        if not cited:
            verdicts.append({"sentence": sentence, "verdict": "unsupported"})
            continue
        prompt = [SystemMessage(RUBRIC), HumanMessage("Evidence:\n" + "\n".join(cited) + f"\n\nSentence: {sentence}")]
        verdicts.append({"sentence": sentence, "verdict": choose(chat, prompt, list(VERDICTS))})
    return {"groundedness": mean(VERDICTS[v["verdict"]] for v in verdicts), "sentences": verdicts}


def judge_records(records: list[dict], settings) -> dict[str, Any]:
    """Groundedness per attempt ("task_id#repeat") and overall, on the configured engine."""
    from models.llm.client import get_chat_model

    chat = get_chat_model(settings)
    per_attempt = {}
    for record in records:
        if record.get("status") == "ok":
            per_attempt[f"{record['task_id']}#{record['repeat']}"] = judge_attempt(chat, record)
    return {"rubric": RUBRIC, "groundedness": mean(j["groundedness"] for j in per_attempt.values()),
            "attempts": per_attempt}
