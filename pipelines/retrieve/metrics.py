"""Ranking metrics for the retrieval evaluation: Recall@k, MRR and nDCG@k.

Relevance is binary here (a hit is the labelled source, or a moment that overlaps the
labelled span / page), so nDCG uses gain 1 for each relevant rank and the ideal ranking
puts the single relevant item first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def first_relevant_rank(relevant: Sequence[bool]) -> int | None:
    """1-based rank of the first relevant item, or None."""
    for i, rel in enumerate(relevant, start=1):
        if rel:
            return i
    return None


def recall_at(relevant: Sequence[bool], k: int) -> float:
    """1.0 when a relevant item is in the top k (one labelled target per query)."""
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool]) -> float:
    rank = first_relevant_rank(relevant)
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at(relevant: Sequence[bool], k: int) -> float:
    """nDCG@k with binary gains; the ideal ranking has one relevant item at rank 1.

    Several relevant hits (e.g. two overlapping moments) are capped at the ideal so the
    score stays in [0, 1].
    """
    dcg = sum(1.0 / math.log2(i + 1) for i, rel in enumerate(relevant[:k], start=1) if rel)
    return min(1.0, dcg)


def spans_overlap(a0: float, a1: float, b0: float, b1: float, slack: float = 0.0) -> bool:
    """True when [a0, a1] and [b0, b1] share any time (with `slack` seconds of tolerance)."""
    return a0 <= b1 + slack and b0 <= a1 + slack


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
