"""The CAIL2018 metrics.

- Charges: accuracy (the predicted set equals the gold set), micro-F1 (true/false positives and negatives
  pooled over all labels) and macro-F1 (the mean of per-label F1 over every label that occurs in the gold sets
  or the predictions; a label never gold and never predicted has no defined F1 and is left out).
- Prison term: per case, v = |log(pred + 1) - log(gold + 1)| in months scores 1.0 if v <= 0.2, 0.8 if <= 0.4,
  0.6 if <= 0.6, 0.4 if <= 0.8, 0.2 if <= 1.0, else 0. When the gold sentence is death or life imprisonment
  only the exact prediction scores (1.0); predicting death or life for a fixed-term case scores 0.
- Fine: correct when within 20 % of the gold fine (a gold fine of 0 needs a predicted 0).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

TERM_BUCKETS = ((0.2, 1.0), (0.4, 0.8), (0.6, 0.6), (0.8, 0.4), (1.0, 0.2))
FINE_TOLERANCE = 0.2


@dataclass(frozen=True)
class Sentence:
    months: float
    life: bool = False
    death: bool = False


def term_score(pred: Sentence, gold: Sentence) -> float:
    if gold.death:
        return 1.0 if pred.death else 0.0
    if gold.life:
        return 1.0 if pred.life and not pred.death else 0.0
    if pred.death or pred.life:
        return 0.0
    v = abs(math.log(max(pred.months, 0.0) + 1.0) - math.log(gold.months + 1.0))
    return next((score for limit, score in TERM_BUCKETS if v <= limit), 0.0)


def fine_correct(pred: float, gold: float) -> bool:
    if gold == 0:
        return pred == 0
    return abs(pred - gold) <= FINE_TOLERANCE * gold


@dataclass(frozen=True)
class ChargeScores:
    accuracy: float
    micro_f1: float
    macro_f1: float
    per_label_f1: dict[str, float]


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def charge_scores(predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> ChargeScores:
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} gold cases")
    if not gold:
        raise ValueError("no cases to score")
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    exact = 0
    for pred, true in zip(predicted, gold, strict=True):
        p, g = set(pred), set(true)
        exact += p == g
        tp.update(p & g)
        fp.update(p - g)
        fn.update(g - p)
    labels = sorted(set(tp) | set(fp) | set(fn))
    per_label = {label: _f1(tp[label], fp[label], fn[label]) for label in labels}
    return ChargeScores(
        accuracy=exact / len(gold),
        micro_f1=_f1(sum(tp.values()), sum(fp.values()), sum(fn.values())),
        macro_f1=sum(per_label.values()) / len(per_label) if per_label else 0.0,
        per_label_f1=per_label,
    )
