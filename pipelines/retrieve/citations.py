"""Checking an answer's sentences and [n] citations against the evidence they point at.

A small local model cites loosely: it leaves out markers, cites [1] for what [3] says, or answers
from its own memory. Every sentence with a claim is checked: its numbers must all occur in the
cited evidence and most of its content words too (lexical support; numbers compared as digits,
English and Chinese number words included). A sentence the cited item does not support is re-cited
to an item that does; where no item supports it lexically, an optional yes/no question to the LLM
("does this passage support this sentence?") decides. A sentence no evidence supports is taken out
of the answer, and the check says so; an answer with no supported sentence is no answer. `argus
ask` (`answer.py`), the agents' answers and the evaluation's citation metrics use this one check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from core.types import Evidence

MARKER = re.compile(r"\s*\[(\d{1,3})\]")
# A sentence ends at . ! ? followed by a space or the end (not inside 8851.8), or at 。！？; the markers
# written right after its end belong to it.
SENTENCE = re.compile(r".+?(?:[.!?](?=\s|$|\[)|[。！？；]|$)(?:\s*\[\d{1,3}\])*", re.DOTALL)
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:\.\d+)?|[\u3400-\u9fff]")
STOP = frozenset(
    "the a an and or of to in on at for by with from is are was were be been it its this that these those as "
    "about which what who when where how why do does did not no can should would could may might will than then "
    "there their they them he she his her you your i my we our us also into over under between after before "
    "evidence answer question according video document passage says say said based provided mentioned".split())
CJK_STOP = frozenset("的了是在和与及也都就而且为被把这那有个之其中或等吗呢吧啊约大")
MIN_SUPPORT = 0.6  # share of a sentence's content words the evidence must hold (0.5 let a restated question pass)

UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
ZH_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
ZH_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万]+")


def _english_numbers(words: list[str]) -> list[str]:
    """Number words as digits ("ninety two" -> "92", "two million" -> "2000000"); other words unchanged."""
    out: list[str] = []
    total = current = 0
    in_number = False
    for word in [*words, ""]:
        if word in UNITS or word in TENS or (word in SCALES and in_number):
            if word in UNITS:
                current += UNITS[word]
            elif word in TENS:
                current += TENS[word]
            elif word == "hundred":
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * SCALES[word]
                current = 0
            in_number = True
            continue
        if in_number:
            out.append(str(total + current))
            total = current = 0
            in_number = False
        if word:
            out.append(word)
    return out


def _chinese_number(text: str) -> str:
    """一九八七 -> 1987 (digit by digit); 三十八 -> 38; 十二 -> 12 (positional)."""
    if not re.search("[十百千万]", text):
        return "".join(str(ZH_DIGITS[c]) for c in text if c in ZH_DIGITS)
    total, current, number = 0, 0, 0
    for c in text:
        if c in ZH_DIGITS:
            number = ZH_DIGITS[c]
        else:
            scale = {"十": 10, "百": 100, "千": 1000, "万": 10000}[c]
            if scale == 10000:
                total = (total + current + number) * scale
                current = 0
            else:
                current += (number or 1) * scale
            number = 0
    return str(total + current + number)


def tokens(text: str) -> list[str]:
    """Lower-case words, numbers as digits (commas dropped, English and Chinese number words converted), and
    single CJK characters."""
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text.lower())
    text = ZH_NUMBER.sub(lambda m: f" {_chinese_number(m.group(0))} " if len(m.group(0)) > 1 or m.group(0) not in "一两"
                         else m.group(0), text)
    return [_stem(w) for w in _english_numbers(WORD.findall(text))]


def _stem(word: str) -> str:
    """A light English stem, so "monthly" meets "month" and "sleeps" meets "sleep"."""
    if len(word) > 4 and word.isalpha():
        for suffix in ("ing", "ed", "ly", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[: -len(suffix)]
    return word


def content(words: list[str]) -> set[str]:
    return {w for w in words if w not in STOP and w not in CJK_STOP and (len(w) > 2 or w.isdigit() or CJK.match(w))}


CJK = re.compile(r"[\u3400-\u9fff]")


def _numbers(words: set[str]) -> set[str]:
    return {w for w in words if re.fullmatch(r"\d+(?:\.\d+)?", w)}


def support(sentence: str, evidence_text: str, asked: frozenset[str] | set[str] = frozenset(),
            names: bool = True) -> float:
    """How far `evidence_text` holds the sentence: 0 when a number of its claim or (with `names`) a proper
    name is missing, else the share of its content words found, where the words it shares with the question
    (`asked`) count half (they say what the sentence is about, not what it claims) and at least one of them
    must be found (the evidence is about the same thing). 1.0 for a sentence with no content words."""
    return _support(sentence, set(tokens(evidence_text)), asked, names)


def _support(sentence: str, held: set[str], asked: frozenset[str] | set[str], names: bool) -> float:
    """`support` against evidence already tokenised (`held`)."""
    words = content(tokens(MARKER.sub("", sentence)))
    if not words:
        return 1.0
    claim, topic = words - asked, words & asked
    if not _numbers(claim) <= held or (topic and not topic & held) or (names and not _names(sentence) <= held):
        return 0.0
    return (len(claim & held) + 0.5 * len(topic & held)) / (len(claim) + 0.5 * len(topic))


NAME = re.compile(r"(?<=[\w,;:)] )[A-Z][a-z]{2,}")  # a capitalised word inside a sentence: a proper name


CALENDAR = frozenset(_stem(w) for w in """january february march april may june july august september october
november december monday tuesday wednesday thursday friday saturday sunday""".split())


def _names(sentence: str) -> set[str]:
    """The proper names of a sentence ("... landed on Mars" -> {"mars"}): evidence that lacks one is about
    something else, however many other words it shares. Months and weekdays are details, not names."""
    found = (_stem(n.lower()) for n in NAME.findall(MARKER.sub("", sentence)))
    return {w for w in found if w not in STOP and w not in CALENDAR}


@dataclass
class CitationCheck:
    text: str
    cited: int = 0  # sentences with markers
    supported: int = 0  # ... kept with markers that hold them (after re-citing)
    recited: int = 0  # ... whose marker was moved to the item that holds them
    asked: int = 0  # ... decided by the LLM's yes/no
    removed: list[str] = field(default_factory=list)  # sentences no evidence holds
    added: int = 0  # uncited sentences given the marker of the item that holds them

    @property
    def grounded(self) -> bool:
        """Whether any claim of the answer is backed by evidence."""
        return self.supported + self.added > 0

    def summary(self) -> dict:
        return {"cited": self.cited, "supported": self.supported, "recited": self.recited, "asked": self.asked,
                "removed": len(self.removed), "added": self.added}


def sentences(text: str) -> list[str]:
    return [m.group(0) for m in SENTENCE.finditer(text) if m.group(0).strip()]


def check_citations(text: str, evidence: list[Evidence], ask: Callable[[str, Evidence], bool] | None = None,
                    results: list[str] = (), question: str = "") -> CitationCheck:
    """`text` with every [n] checked against `evidence` ([n] is evidence[n-1]); `ask(sentence, item)` is the
    LLM's yes/no for sentences lexical support cannot settle (None: lexical support only). A sentence that
    only the step `results` (a calculation's output) hold is kept, without a marker: no evidence item holds it.
    A sentence that only restates the `question` (or asks one) is no claim and is left out; one with no
    content words ("OK.") is kept as it is."""
    asked = content(tokens(question))
    check = CitationCheck(text="")
    texts = [" ".join([e.text, e.citation.label(), e.citation.heading or ""]) for e in evidence]
    pools = [set(tokens(t)) for t in texts]  # each evidence item tokenised once, not once per sentence
    outputs = [set(tokens(r)) for r in results]
    kept: list[str] = []
    for sentence in sentences(text):
        cited = [int(n) for n in MARKER.findall(sentence)]
        bare = MARKER.sub("", sentence).rstrip()
        words = content(tokens(bare))
        if (not words and not bare.strip(" .。!！?？:：-")) or bare.rstrip().endswith(("?", "？")) \
                or (asked and words and words <= asked):
            continue  # a lone marker, a question, or the question restated: no claim
        scores = [_support(bare, pool, asked, True) for pool in pools]
        best = max(range(len(scores)), key=scores.__getitem__) if scores else None
        if not cited and not words:
            kept.append(bare)  # no claim ("OK."): harmless
            continue
        if not cited:
            if best is not None and scores[best] < MIN_SUPPORT and ask is not None \
                    and _numbers_held(bare, pools[best]):
                check.asked += 1
                if ask(bare, evidence[best]):
                    scores[best] = 1.0
            if best is not None and scores[best] >= MIN_SUPPORT:
                kept.append(_with_marker(bare, [best + 1]))
                check.added += 1
                continue
        else:
            check.cited += 1
            holding = [n for n in dict.fromkeys(cited) if 1 <= n <= len(evidence) and scores[n - 1] >= MIN_SUPPORT]
            if not holding and best is not None and scores[best] >= MIN_SUPPORT:
                holding = [best + 1]
                check.recited += 1
            if not holding and ask is not None:
                in_range = [n for n in dict.fromkeys(cited) if 1 <= n <= len(evidence)
                            and _numbers_held(bare, pools[n - 1])]
                for n in in_range[:1]:  # one question per sentence: each costs a call
                    check.asked += 1
                    if ask(bare, evidence[n - 1]):
                        holding = [n]
            if holding:
                check.supported += 1
                kept.append(_with_marker(bare, holding))
                continue
        # No evidence item holds it: a calculation's output may (kept without a marker), else it goes.
        if any(_support(bare, out, frozenset(), False) >= MIN_SUPPORT for out in outputs):
            check.supported += bool(cited)
            kept.append(bare)
        else:
            check.removed.append(bare.strip())
    check.text = "".join(s.strip() if CJK.search(s.strip()[-6:]) else s.strip() + " " for s in kept).strip()
    return check


def _numbers_held(sentence: str, held: set[str]) -> bool:
    return _numbers(content(tokens(sentence))) <= held


def _with_marker(sentence: str, numbers: list[int]) -> str:
    """The sentence with its markers before the final punctuation: "It is 92 °C [1]."."""
    marks = "".join(f"[{n}]" for n in numbers)
    body = sentence.rstrip()
    if not CJK.search(body) and body.endswith("。"):  # an English sentence with a Chinese full stop
        body = body[:-1] + "."
    match = re.search(r"[.!?。！？；]+$", body)
    if match:
        return f"{body[:match.start()].rstrip()} {marks}{match.group(0)}" if not CJK.search(body) else \
            f"{body[:match.start()].rstrip()}{marks}{match.group(0)}"
    return f"{body} {marks}" if not CJK.search(body) else f"{body}{marks}"
