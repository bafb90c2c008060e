"""Sentencing from precedents: the LLM fills a JSON schema several times and the runs are merged.

The seed's lesson: LLMs are poor at numbers, so neither the fine nor the prison term is generated from the fact
alone. The LLM sees the fact and the top precedents (their charges, fines and terms) and fills a schema whose
decoding the vLLM engine constrains (structured outputs):

- `charge` (罪名): one of the candidate charges (the classifier's and the precedents'), an enum;
- `fine_yuan` (罚金) and `prison_months` (有期徒刑, months): non-negative integers;
- `life_imprisonment` (是否无期) and `death_penalty` (是否死刑): booleans, fixed to false unless a precedent
  carries that sentence;
- `defendant` (犯罪嫌疑人): the name as written in the fact.

The statistical term estimate (`term_estimate.py`, when trained) is shown beside the precedents and joins the
drafts' prison terms in the median as one more draft: on validation it scored about twice the LLM's terms.

Merge rule (`merge_runs`): a vote for the categorical fields (charge, defendant, life, death; a tie goes to the
value seen first), the median for the numbers. The merged numbers are then clamped into the range the
precedents span, so a sentence never leaves the precedents' evidence.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, create_model

from core.settings import Settings
from core.types import Precedent

FACT_CHARS = 800
PRECEDENT_CHARS = 150
TEMPERATURE = 0.7  # the runs must differ for a vote to mean anything
MAX_TOKENS = 160

SYSTEM_PROMPT = (
    "你是中国刑事审判助手。根据本案案情和相似判例，判断本案的罪名、罚金（元）和刑期（月）。"
    "罚金和刑期必须参考罪名相同、情节相近的判例，不要凭空编造数字。被告人姓名照抄案情中的写法。"
)


class SentencingDraft(BaseModel):
    """One run's answer (the field types of the per-case schema, before its charge enum is applied)."""

    charge: str
    fine_yuan: int
    prison_months: int
    life_imprisonment: bool
    death_penalty: bool
    defendant: str


@dataclass(frozen=True)
class Sentence:
    charge: str
    fine: float
    prison_months: float
    life: bool
    death: bool
    defendant: str


def draft_schema(charges: Sequence[str], precedents: Sequence[Precedent]) -> type[SentencingDraft]:
    """The per-case schema: the charge enum, and life/death allowed only when a precedent had them."""
    months = [p.prison_months for p in precedents]
    fines = [p.fine for p in precedents]
    allow_life = any(p.life for p in precedents)
    allow_death = any(p.death for p in precedents)
    return create_model(
        "SentencingDraft",
        __base__=SentencingDraft,
        charge=(Literal[tuple(dict.fromkeys(charges))], Field(description="罪名")),
        fine_yuan=(int, Field(ge=0, description=f"罚金（元），判例范围 {min(fines):.0f}–{max(fines):.0f}")),
        prison_months=(int, Field(ge=0, description=f"有期徒刑（月），判例范围 {min(months)}–{max(months)}")),
        life_imprisonment=(bool if allow_life else Literal[False], Field(description="是否无期徒刑")),
        death_penalty=(bool if allow_death else Literal[False], Field(description="是否死刑")),
        defendant=(str, Field(max_length=40, description="犯罪嫌疑人（被告人）姓名")),
    )


def _outcome(p: Precedent) -> str:
    if p.death:
        term = "死刑"
    elif p.life:
        term = "无期徒刑"
    else:
        term = f"有期徒刑{p.prison_months}个月"
    return f"罪名：{'、'.join(p.charges)}；罚金：{p.fine:.0f}元；刑期：{term}"


def build_prompt(fact: str, precedents: Sequence[Precedent], charges: Sequence[str],
                 term_estimate: float | None = None) -> list[tuple[str, str]]:
    lines = [f"本案案情：{fact[:FACT_CHARS]}", "", "相似判例："]
    for n, p in enumerate(precedents, start=1):
        lines.append(f"[{n}] {_outcome(p)}")
        lines.append(f"    案情：{p.fact[:PRECEDENT_CHARS]}")
    if term_estimate is not None:
        lines += ["", f"统计模型根据同类案件估计的有期徒刑：约{term_estimate:.0f}个月（供参考）。"]
    lines += ["", f"候选罪名：{'、'.join(charges)}", "请给出本案的判决结果。"]
    return [("system", SYSTEM_PROMPT), ("human", "\n".join(lines))]


def _vote(values: Sequence) -> object:
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)  # ties: the value seen first


def merge_runs(runs: Sequence[SentencingDraft], precedents: Sequence[Precedent],
               term_estimate: float | None = None) -> Sentence:
    """Vote for categories, median for numbers (the term estimate counted as one more draft's term),
    numbers clamped into the precedents' range."""
    if not runs:
        raise ValueError("no sentencing runs to merge")
    if not precedents:
        raise ValueError("no precedents: a sentence is never produced without them")
    months = [p.prison_months for p in precedents]
    fines = [p.fine for p in precedents]
    median_months = statistics.median([*(r.prison_months for r in runs),
                                       *([term_estimate] if term_estimate is not None else [])])
    median_fine = statistics.median(r.fine_yuan for r in runs)
    return Sentence(
        charge=str(_vote([r.charge for r in runs])),
        fine=float(min(max(median_fine, min(fines)), max(fines))),
        prison_months=float(min(max(median_months, min(months)), max(months))),
        life=bool(_vote([r.life_imprisonment for r in runs])),
        death=bool(_vote([r.death_penalty for r in runs])),
        defendant=str(_vote([r.defendant.strip() for r in runs])),
    )


def sentence(fact: str, precedents: Sequence[Precedent], charges: Sequence[str], settings: Settings,
             runs: int | None = None, term_estimate: float | None = None) -> tuple[Sentence, int]:
    """The merged sentence of `runs` structured calls on the LLM engine, and how many runs were merged."""
    from models.llm.client import get_chat_model, structured

    if not precedents:
        raise ValueError("no precedents: a sentence is never produced without them")
    candidates = list(dict.fromkeys([*charges, *(c for p in precedents for c in p.charges)]))
    schema = draft_schema(candidates, precedents)
    chat = get_chat_model(settings, temperature=TEMPERATURE, max_tokens=MAX_TOKENS)
    prompt = build_prompt(fact, precedents, candidates, term_estimate)
    n = runs or settings.legal_sentencing_runs
    run = structured(chat, schema)
    # The first run alone puts the prompt in the engine's prefix cache; the others then run concurrently on it.
    drafts = [run.invoke(prompt)]
    drafts += run.batch([prompt] * (n - 1)) if n > 1 else []
    return merge_runs(drafts, precedents, term_estimate), len(drafts)
