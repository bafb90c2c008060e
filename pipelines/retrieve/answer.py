"""`argus ask`: retrieve, then let the LLM answer from the evidence only, citing it as [n].

The evidence is numbered in the prompt. The reply is checked sentence by sentence
(`citations.py`): a sentence stays only if an evidence item contains what it claims, and it
cites that item, so every [n] of an `Answer` resolves to a passage that says it. A reply
with no supported sentence is a decline, in the question's language. When retrieval finds
nothing relevant enough, the answer says so without asking the LLM (a small model asked
anyway tends to answer from its own memory).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from core.types import Answer, Evidence
from pipelines.retrieve.answer_prompt import answer_prompt
from pipelines.retrieve.citations import CitationCheck, check_citations, content, tokens

NOT_FOUND = "The knowledge base does not answer this question: no ingested video or document covers it."
NOT_FOUND_ZH = "知识库无法回答这个问题：已导入的视频和文档都没有涉及。"
MIN_EVIDENCE_SCORE = 0.35  # below this fused score nothing retrieved is on topic
# An item scoring under this fraction of the best one is rarely about the question, and every item costs
# prefill time (~0.01 s a token for the 1.5B model on a 2-core CPU). On the dev questions of the agent task set
# (bench/bench_ask.py --split dev --focus 0,0.3,0.4): right 0.77, 0.86, 0.82 at p50 4.0, 4.1, 3.0 s.
FOCUS_RATIO = 0.4
MARKER = re.compile(r"\[(\d{1,3})\]")
CJK = re.compile(r"[\u3400-\u9fff]")


def resolve_markers(text: str, evidence: list[Evidence]) -> str:
    """Drop [n] markers that do not point at an item of `evidence`."""
    return MARKER.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= len(evidence) else "", text).strip()


def cited_numbers(text: str) -> list[int]:
    return sorted({int(n) for n in MARKER.findall(text)})


def relevant(evidence: list[Evidence]) -> list[Evidence]:
    return [ev for ev in evidence if ev.score >= MIN_EVIDENCE_SCORE]


def focused(evidence: list[Evidence], ratio: float = FOCUS_RATIO) -> list[Evidence]:
    """The relevant items of one search, without those that score under `ratio` of its best one."""
    kept = relevant(evidence)
    floor = ratio * max((ev.score for ev in kept), default=0.0)
    return [ev for ev in kept if ev.score >= floor]


def stream_answer(question: str, evidence: list[Evidence], chat: Any, chat_model: str = "") -> Iterator[str]:
    """The answer's text as it is generated (markers are checked once it is complete).

    `chat` streams either LangChain chunks (a chat model) or text (`models.llm.stream.EngineStream`);
    `chat_model` (llm_chat_model) picks the prompt that suits it."""
    evidence = relevant(evidence)
    if not evidence:
        yield not_found(question)
        return
    for chunk in chat.stream(answer_prompt(question, evidence, chat_model)):
        text = chunk if isinstance(chunk, str) else chunk.content
        if text:
            yield str(text)


def not_found(question: str) -> str:
    """The decline, in the question's language."""
    return NOT_FOUND_ZH if CJK.search(question) else NOT_FOUND


def finish_answer(question: str, evidence: list[Evidence], text: str,
                  ask: Callable[[str, Evidence], bool] | None = None) -> Answer:
    """The `Answer` for a complete reply: only sentences the evidence supports, each citing the
    evidence that supports it, numbered as in the prompt."""
    return checked_answer(question, evidence, text, ask)[0]


def checked_answer(question: str, evidence: list[Evidence], text: str,
                   ask: Callable[[str, Evidence], bool] | None = None) -> tuple[Answer, CitationCheck | None]:
    """`finish_answer` and the citation check behind it (None when nothing was checked); `ask(sentence,
    item)` is an LLM's yes/no for sentences lexical support cannot settle."""
    evidence = relevant(evidence)
    if not evidence or text.strip() in (NOT_FOUND, NOT_FOUND_ZH):
        return Answer(question=question, text=not_found(question), evidence=[], answered=False), None
    check = check_citations(text, evidence, ask=ask, question=question)
    if check.grounded:
        return Answer(question=question, text=check.text, evidence=evidence, answered=True), check
    decline = not_found(question)
    asked = content(tokens(question))
    if asked and len(asked & set(tokens(evidence[0].text))) / len(asked) >= 0.5:
        # The top passage is about the question although no answer sentence held up: show it.
        closest = " ".join(evidence[0].text.split())[:300]
        lead = "最接近的段落是" if CJK.search(question) else "The closest passage is"
        return Answer(question=question, text=f'{decline} {lead} [1]: "{closest}"', evidence=evidence[:1],
                      answered=False), check
    return Answer(question=question, text=decline, evidence=[], answered=False), check
