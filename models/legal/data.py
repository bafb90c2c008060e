"""CAIL2018 cases: read a JSON-lines file, validate every row, and report the rows that are unusable.

One row is `{"fact": str, "meta": {"accusation": [str], "relevant_articles": [int], "punish_of_money": number,
"criminals": [str], "term_of_imprisonment": {"death_penalty": bool, "life_imprisonment": bool,
"imprisonment": int}}}`. Bad rows never stop a load: each is returned as a `BadRow` with its line and reason,
so that a user's own data in the same format can be checked before training on it.

Charge names are normalised to the spelling of `accu.txt`: the data brackets groups of alternatives
(`[走私、贩卖、运输、制造]毒品`) where `accu.txt` writes them plainly (`走私、贩卖、运输、制造毒品`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Case:
    """One judged case. `id` is `<file stem>:<line>`, stable for a given file."""

    id: str
    fact: str
    charges: tuple[str, ...]
    articles: tuple[int, ...]
    fine: float  # yuan
    criminals: tuple[str, ...]
    prison_months: int
    life: bool
    death: bool

    @property
    def primary_charge(self) -> str:
        return self.charges[0]


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


@dataclass
class CaseFile:
    path: Path
    cases: list[Case] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.path}: {len(self.cases)} cases"
        if self.bad:
            shown = "; ".join(f"line {b.line}: {b.reason}" for b in self.bad[:5])
            text += f", {len(self.bad)} bad rows skipped ({shown}{'; …' if len(self.bad) > 5 else ''})"
        return text


def normalise_charge(name: str) -> str:
    return name.replace("[", "").replace("]", "").strip()


def _str_list(value: Any, name: str, *, allow_empty: bool) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{name} must be a list of non-empty strings")
    if not value and not allow_empty:
        raise ValueError(f"{name} is empty")
    return tuple(v.strip() for v in value)


def parse_case(row: Any, case_id: str) -> Case:
    """One validated `Case`; raises ValueError naming the first problem."""
    if not isinstance(row, dict):
        raise ValueError("row is not a JSON object")
    fact = row.get("fact")
    if not isinstance(fact, str) or not fact.strip():
        raise ValueError("fact is missing or empty")
    meta = row.get("meta")
    if not isinstance(meta, dict):
        raise ValueError("meta is missing")

    charges = _str_list(meta.get("accusation"), "meta.accusation", allow_empty=False)
    criminals = _str_list(meta.get("criminals", []), "meta.criminals", allow_empty=True)
    articles = meta.get("relevant_articles", [])
    if not isinstance(articles, list) or not all(isinstance(a, int) and not isinstance(a, bool) for a in articles):
        raise ValueError("meta.relevant_articles must be a list of integers")
    fine = meta.get("punish_of_money")
    if isinstance(fine, bool) or not isinstance(fine, int | float) or fine < 0:
        raise ValueError("meta.punish_of_money must be a number >= 0")

    term = meta.get("term_of_imprisonment")
    if not isinstance(term, dict):
        raise ValueError("meta.term_of_imprisonment is missing")
    months = term.get("imprisonment")
    if isinstance(months, bool) or not isinstance(months, int) or months < 0:
        raise ValueError("term_of_imprisonment.imprisonment must be an integer >= 0 (months)")
    life, death = term.get("life_imprisonment"), term.get("death_penalty")
    if not isinstance(life, bool) or not isinstance(death, bool):
        raise ValueError("term_of_imprisonment.life_imprisonment and .death_penalty must be booleans")

    return Case(
        id=case_id,
        fact=fact.strip(),
        charges=tuple(dict.fromkeys(normalise_charge(c) for c in charges)),  # listed twice: one charge
        articles=tuple(articles),
        fine=float(fine),
        criminals=criminals,
        prison_months=months,
        life=life,
        death=death,
    )


def load_cases(path: str | Path, limit: int | None = None) -> CaseFile:
    """All valid cases of a CAIL2018 JSON-lines file (the first `limit` valid ones, if given)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CAIL2018 file at {path}")
    result = CaseFile(path)
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                result.cases.append(parse_case(json.loads(line), f"{path.stem}:{line_no}"))
            except json.JSONDecodeError as exc:
                result.bad.append(BadRow(line_no, f"not JSON ({exc.msg})"))
            except ValueError as exc:
                result.bad.append(BadRow(line_no, str(exc)))
            if limit is not None and len(result.cases) >= limit:
                break
    return result


def round_robin(cases: Sequence[Case], seed: int) -> list[Case]:
    """Cases ordered in rounds, each round holding one not-yet-taken case of every primary charge."""
    rng = random.Random(seed)
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.primary_charge, []).append(case)
    for members in groups.values():
        rng.shuffle(members)
    order: list[Case] = []
    for r in range(max((len(m) for m in groups.values()), default=0)):
        round_ = [m[r] for m in groups.values() if len(m) > r]
        rng.shuffle(round_)
        order += round_
    return order
