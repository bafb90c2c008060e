"""Fusing the channels' hits into ranked sources or moments.

Every channel returns `Hit`s whose `score` is already normalised to [0, 1] for that query
(the seed's lesson: raw keyword scores swamp the sum). Two fusion rules:

- "sum": the seed's per-source sum, made robust to long sources: a channel contributes
  its best hit in the item, weighted, so a source with many mediocre hits does not beat
  one with a single strong hit.
- "rrf": reciprocal-rank fusion, sum over channels of weight / (60 + rank).

Two granularities: "source" (a video, a document) and "moment" (a video span with its
keyframe, a document page). Overlapping moments of one source merge.

Per-query channel weights (`confidence_weights`): normalised scores hide how good a
channel's best hit is (a channel whose hits are all weak still gives its top hit 1.0, so a
licence text sharing one word with a purely visual query outvoted a visual channel that
was sure). Each channel therefore reports its own confidence: for the keyword channel the
share of the query's terms its best hit contains; for vector channels how far the best raw
cosine stands above the query's background (`z_confidence`). The weight is
`floor + (1 - floor) * confidence`, times the base weight.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

Granularity = Literal["source", "moment"]
FusionRule = Literal["sum", "rrf"]
RRF_K = 60  # the usual constant: damps the head of each ranking
MERGE_SLACK_S = 1.0  # moments closer than this merge (a keyframe at t joins the segment around t)


@dataclass(frozen=True)
class Hit:
    """One channel's hit on one catalog row."""

    channel: str
    kind: str  # "segment", "keyframe", "caption" or "chunk"
    row_id: int
    source_id: int
    score: float  # normalised to [0, 1] within this query and channel
    text: str = ""
    t0: float | None = None
    t1: float | None = None
    page: int | None = None
    keyframe_id: int | None = None
    heading: str | None = None


@dataclass
class Fused:
    """A fused result: a whole source, or one moment (span or page) of it."""

    source_id: int
    score: float
    channels: dict[str, float]  # best normalised score per channel
    hits: list[Hit] = field(default_factory=list)
    t0: float | None = None
    t1: float | None = None
    page: int | None = None

    @property
    def keyframe_id(self) -> int | None:
        keyframes = [h for h in self.hits if h.keyframe_id is not None]
        return max(keyframes, key=lambda h: h.score).keyframe_id if keyframes else None

    @property
    def best_text(self) -> str:
        texts = [h for h in self.hits if h.text and h.kind != "keyframe"] or [h for h in self.hits if h.text]
        return max(texts, key=lambda h: h.score).text if texts else ""


def normalise(scores: list[float], method: Literal["max", "minmax", "clip"] = "max") -> list[float]:
    """Map one channel's raw scores for one query into [0, 1].

    "max" divides by the best score (keyword scores: unbounded, only relative values mean
    anything); "minmax" spreads the list over [0, 1] (dense cosines that all sit in a
    narrow band); "clip" keeps a similarity that is already in [0, 1].
    """
    if not scores:
        return []
    if method == "clip":
        return [min(1.0, max(0.0, s)) for s in scores]
    hi, lo = max(scores), min(scores)
    if method == "max":
        return [max(0.0, s) / hi if hi > 0 else 0.0 for s in scores]
    if hi - lo < 1e-9:
        return [1.0 for _ in scores]
    return [(s - lo) / (hi - lo) for s in scores]


CONFIDENCE_FLOOR = 0.2  # a channel with no standout hit still counts, at a fifth of its weight
# A vector channel's top raw score, in standard deviations above the query's background (its
# cosines with ~1,100 short class names: generic texts unrelated to any one base), maps
# linearly onto confidence 0..1 between these two. Measured on the demo corpus: relevant
# transcript/document hits stand 3-14 sd above, licence texts for a picture query 0-2 sd.
Z_LOW, Z_HIGH = 1.0, 6.0


@dataclass(frozen=True)
class Background:
    """A query's cosines with the class names: raw (for text passages) and centred (for
    class-space keyframe vectors, which are centred on the same class centroid)."""

    mean: float
    std: float
    centred_mean: float
    centred_std: float


def z_confidence(top: float, mean: float, std: float, low: float = Z_LOW, high: float = Z_HIGH) -> float:
    """How far the best raw score stands above the background, mapped onto [0, 1]."""
    z = (top - mean) / max(std, 1e-6)
    return min(1.0, max(0.0, (z - low) / (high - low)))


def confidence_weights(confidences: dict[str, float], weights: dict[str, float] | None = None,
                       floor: float = CONFIDENCE_FLOOR) -> dict[str, float]:
    """Each channel's base weight (default 1) scaled by `floor + (1 - floor) * confidence`."""
    weights = weights or {}
    return {c: weights.get(c, 1.0) * (floor + (1 - floor) * conf) for c, conf in confidences.items()}


def _group_by_source(hits: list[Hit]) -> dict[int, list[Hit]]:
    groups: dict[int, list[Hit]] = defaultdict(list)
    for h in hits:
        groups[h.source_id].append(h)
    return groups


def _group_moments(hits: list[Hit]) -> list[Fused]:
    """Merge the hits of one source into moments: overlapping spans, or one page."""
    moments: list[Fused] = []
    timed = sorted((h for h in hits if h.t0 is not None), key=lambda h: (h.t0, h.t1 or h.t0))
    for h in timed:
        t1 = h.t1 if h.t1 is not None else h.t0
        last = moments[-1] if moments else None
        if last is not None and h.t0 <= (last.t1 or 0) + MERGE_SLACK_S:
            last.t1 = max(last.t1 or 0, t1)
            last.hits.append(h)
        else:
            moments.append(Fused(h.source_id, 0.0, {}, [h], t0=h.t0, t1=t1))
    pages: dict[int | None, Fused] = {}
    for h in hits:
        if h.t0 is None and h.kind == "chunk":
            pages.setdefault(h.page, Fused(h.source_id, 0.0, {}, [], page=h.page)).hits.append(h)
    return moments + list(pages.values())


def _items(hits: list[Hit], granularity: Granularity) -> list[Fused]:
    items: list[Fused] = []
    for source_id, source_hits in _group_by_source(hits).items():
        if granularity == "source":
            items.append(Fused(source_id, 0.0, {}, source_hits))
        else:
            # Captions describe a whole video: they rank sources, not moments.
            items.extend(_group_moments([h for h in source_hits if h.kind != "caption"]))
    for item in items:
        for h in item.hits:
            item.channels[h.channel] = max(item.channels.get(h.channel, 0.0), h.score)
    return items


def fuse(
    hits: list[Hit],
    *,
    granularity: Granularity = "source",
    rule: FusionRule = "sum",
    weights: dict[str, float] | None = None,
) -> list[Fused]:
    """Rank sources or moments from all channels' hits, best first."""
    weights = weights or {}
    items = _items(hits, granularity)
    if rule == "sum":
        for item in items:
            item.score = sum(weights.get(c, 1.0) * s for c, s in item.channels.items())
    else:
        for channel in {c for item in items for c in item.channels}:
            ranked = sorted((i for i in items if channel in i.channels), key=lambda i: -i.channels[channel])
            for rank, item in enumerate(ranked, start=1):
                item.score += weights.get(channel, 1.0) / (RRF_K + rank)
    return sorted(items, key=lambda i: (-i.score, i.source_id, i.t0 or 0.0, i.page or 0))
