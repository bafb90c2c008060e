"""The cited answer both the fast path and the reporter give: evidence gathered for the question (and
for each part of a question with several), `pipelines.retrieve.answer`'s cited answer, its citations
checked, and a plain "the base does not cover this" in the user's language when nothing holds it."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig

from agents import prompts
from agents.intent import is_chinese
from agents.team import Team, merge_usage
from core.types import Evidence
from models.llm.client import StructuredOutputError, choose
from pipelines.retrieve.answer import checked_answer, relevant
from pipelines.retrieve.answer_prompt import ANSWER_TOKENS, answer_prompt
from pipelines.retrieve.citations import CitationCheck
from pipelines.retrieve.search import QueryError

MAX_EVIDENCE = 6  # items in the answer's prompt: prefill is most of a CPU engine's time
PARTS = re.compile(r"[?？]\s*|[,，;；]\s*(?:and |以及|并且|还有|和)|\s+and (?:how|what|which|when|where|who|in)\b", re.I)


def not_covered(question: str) -> str:
    return prompts.NOT_COVERED_ZH if is_chinese(question) else prompts.NOT_COVERED_EN


def question_parts(question: str) -> list[str]:
    """The question and, for one that asks several things, each part (searched separately)."""
    parts = [p.strip() for p in PARTS.split(question) if p and len(p.strip()) > 8]
    return [question, *parts] if len(parts) > 1 else [question]


def _key(ev: Evidence) -> tuple:
    c = ev.citation
    return c.source_id, c.t0, c.t1, c.page, ev.text[:200]


def gather(retriever, question: str, k: int) -> list[Evidence]:
    """Relevant evidence for the question and its parts, best first, without duplicates."""
    found: dict[tuple, Evidence] = {}
    for query in question_parts(question):
        try:
            hits = relevant(retriever.search(query, k))  # not `focused`: it cut the 2nd part of split questions
        except QueryError:
            continue
        for ev in hits:
            found.setdefault(_key(ev), ev)
    ranked = sorted(found.values(), key=lambda ev: ev.score, reverse=True)
    return ranked[:MAX_EVIDENCE]


def supports(team: Team, config: RunnableConfig, sentence: str, ev: Evidence, usage: list[dict]) -> bool:
    """The LLM's constrained yes/no: does the passage state what the sentence says?"""
    passage = " ".join(ev.text.split())[:600]
    messages = [SystemMessage(prompts.SUPPORTS), HumanMessage(f"Passage: {passage}\n\nSentence: {sentence}")]
    try:
        verdict, used = team.call(config, lambda: choose(team.chat, messages, ["yes", "no"]))
    except StructuredOutputError:
        return False
    usage.append(used)
    return verdict == "yes"


def cited_answer(team: Team, config: RunnableConfig, question: str,
                 evidence: list[Evidence]) -> tuple[str, list[Evidence], CitationCheck | None, dict[str, Any]]:
    """(answer text, the evidence its [n] point at, the citation check, LLM usage)."""
    if not relevant(evidence):
        return not_covered(question), [], None, {}
    # answer.py's numbered evidence and marker resolution, with an instruction this small model follows: told to
    # "reply exactly" a refusal sentence when unsure, it declined 3 of the first 4 dev lookups whose top passage
    # held the answer; the citation check below is what catches an answer the evidence does not hold.
    messages = answer_prompt(question, evidence, team.settings.llm_chat_model)
    reply, usage = team.call(config, lambda: team.model(ANSWER_TOKENS).invoke(messages))
    asked: list[dict] = []
    result, check = checked_answer(question, evidence, str(reply.content),
                                   ask=lambda sentence, ev: supports(team, config, sentence, ev, asked))
    usage = merge_usage(usage, *asked)
    if not result.answered:
        return not_covered(question), [], check, usage
    return result.text, result.evidence, check, usage
