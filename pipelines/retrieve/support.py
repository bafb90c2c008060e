"""Checking that an answer's sentences are supported by the evidence they cite.

A small local model cites loosely: it leaves out markers, cites [1] for what [3] says, or
answers from its own memory ("the 1998 world cup was won by ..."). Each sentence's claim is
the words it adds to the question (question words and filler removed); the sentence is
supported by an evidence item that contains most of those words. Supported sentences keep
the markers that support them (or get the best-supporting one); the rest are dropped, and an
answer with no supported sentence is no answer.

Words: lower-cased Latin words and numbers; Chinese as character bigrams (no segmenter
needed, and a bigram match is what "contains the claim" means for Chinese text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_SUPPORT = 0.5  # share of a sentence's claim words that the evidence must contain
MARKER = re.compile(r"\s*\[(\d{1,3})\]")
SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
LATIN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
# Function words and the filler a model wraps answers in ("based on the evidence provided ...").
STOP = frozenset("""a an the and or but if of to in on at by for with from as is are was were be been being
it its this that these those there here what which who whom whose when where why how do does did done can
could should would will shall may might must i you he she we they me him her us them my your his our their
not no yes so than then too very also about into over under per up down out off only just any some all each
based according evidence provided information passage passages video videos document documents source sources
mentioned states stated says said shown shows answer question knowledge base""".split())
CJK_STOP = frozenset("的了是在和与及或也都就而把被这那有个们吗呢吧啊么什怎为之其")


def words(text: str) -> set[str]:
    text = MARKER.sub(" ", text.lower())
    found = {w for w in LATIN.findall(text) if w not in STOP}
    for run in CJK_RUN.findall(text):
        chars = [c for c in run if c not in CJK_STOP]
        found.update(a + b for a, b in zip(chars, chars[1:], strict=False))
        if len(chars) == 1:
            found.add(chars[0])
    return found


def sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in SENTENCE.split(text.strip())) if s]


@dataclass
class Checked:
    text: str  # the supported sentences with their resolved markers
    supported: bool  # at least one sentence with a claim is supported
    cited: list[int]  # 1-based evidence numbers the text cites


def support(claim: set[str], evidence_words: set[str]) -> float:
    return len(claim & evidence_words) / len(claim) if claim else 0.0


def check_answer(text: str, question: str, evidence_texts: list[str]) -> Checked:
    """Keep the sentences of `text` that the evidence supports, each citing what supports it."""
    asked = words(question)
    pools = [words(t) for t in evidence_texts]
    kept: list[str] = []
    supported = False
    for sentence in sentences(text):
        claim = words(sentence) - asked
        markers = [int(n) for n in MARKER.findall(sentence)]
        bare = MARKER.sub("", sentence).strip()
        if not claim:  # restates the question: harmless, but it supports nothing
            kept.append(bare)
            continue
        scores = [support(claim, pool) for pool in pools]
        backing = [n for n in dict.fromkeys(markers) if 1 <= n <= len(pools) and scores[n - 1] >= MIN_SUPPORT]
        if not backing and scores and max(scores) >= MIN_SUPPORT:
            backing = [max(range(len(scores)), key=lambda i: scores[i]) + 1]
        if not backing:
            continue
        supported = True
        kept.append(_with_markers(bare, backing))
    if not supported:
        return Checked(text="", supported=False, cited=[])
    final = " ".join(kept)
    return Checked(text=final, supported=True, cited=sorted({int(n) for n in MARKER.findall(final)}))


def _with_markers(sentence: str, numbers: list[int]) -> str:
    """The markers go before the sentence's final punctuation: "It is 92 °C [1]."."""
    tags = "".join(f"[{n}]" for n in numbers)
    end = re.search(r"[.!?。！？]+$", sentence)
    if end:
        return f"{sentence[: end.start()].rstrip()} {tags}{end.group(0)}"
    return f"{sentence} {tags}"
