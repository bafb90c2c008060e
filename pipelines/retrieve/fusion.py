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

The text channels' share (`text_share`): confidence alone did not keep a licence text out of
picture queries, since a passage that shares the topic ("cells", "image") stands several sd
above a generic background too. What tells a picture query apart is that some class name (a
thing one can see) matches it better than any text of the base does: for the demo corpus's
speech and document questions the best passage beats the best class name by up to 8.8 sd
of the query's class-name cosines, for the real-footage picture queries it mostly trails
it by 1-5 sd. The keyword and dense weights are multiplied by that margin, mapped onto
`[TEXT_SHARE_FLOOR, 1]`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

Granularity = Literal["source", "moment"]
FusionRule = Literal["sum", "rrf"]
RRF_K = 60  # the usual constant: damps the head of each ranking
MERGE_SLACK_S = 1.0  # moments closer than this merge (a keyframe at t joins the segment around t)
MAX_MOMENT_S = 20.0  # a moment never grows past this: adjacent sentences must not chain into a whole video
EVIDENCE_CHARS = 600  # a moment's evidence text: its best-scoring rows, up to this many characters
NEIGHBOUR_SHARE = 0.5  # a neighbouring row joins the evidence if it scores this share of the best row
ON_SCREEN = re.compile(r'text: "(.*)"\s*$', re.DOTALL)  # a keyframe's OCR in its searchable text


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

    def evidence_hits(self) -> list[Hit]:
        """The rows whose text is this item's evidence, in reading order.

        A row hit by several channels counts once, its channels' scores summed. Speech, slide
        text (a keyframe's OCR) and document rows are evidence; a keyframe's tags and objects
        stand in only where nothing else has text. Timed rows: the strongest one and its
        neighbours in time, the stronger side first, while a neighbour scores at least
        `NEIGHBOUR_SHARE` of the strongest and the text fits `EVIDENCE_CHARS`, so the passage
        reads continuously and its span can be cited. Untimed rows (pages, whole sources):
        the strongest ones that fit."""
        scored = _row_scores(self.hits)
        rows = [r for r in scored if evidence_text(r[1])] or [r for r in scored if r[1].text]
        if not rows:
            return []
        size = {id(h): len(evidence_text(h) or h.text) + 1 for _, h in rows}
        if all(h.t0 is not None for _, h in rows):
            rows.sort(key=lambda r: (r[1].t0, r[1].row_id))
            lo = hi = max(range(len(rows)), key=lambda i: rows[i][0])
            floor, used = NEIGHBOUR_SHARE * rows[lo][0], size[id(rows[lo][1])]
            while True:
                sides = [i for i in (lo - 1, hi + 1) if 0 <= i < len(rows) and rows[i][0] >= floor
                         and used + size[id(rows[i][1])] <= EVIDENCE_CHARS]
                if not sides:
                    break
                i = max(sides, key=lambda j: rows[j][0])
                used += size[id(rows[i][1])]
                lo, hi = min(lo, i), max(hi, i)
            return [h for _, h in rows[lo:hi + 1]]
        chosen, used = [], 0
        for _, hit in sorted(rows, key=lambda r: -r[0]):
            if chosen and used + size[id(hit)] > EVIDENCE_CHARS:
                continue
            chosen.append(hit)
            used += size[id(hit)]
        return sorted(chosen, key=lambda h: (h.t0 if h.t0 is not None else 0.0, h.page or 0, h.row_id))

    @property
    def best_text(self) -> str:
        """The evidence text: `evidence_hits()` joined, at most `EVIDENCE_CHARS` long."""
        return joined_evidence(self.evidence_hits())


def joined_evidence(hits: list[Hit]) -> str:
    """Rows' evidence texts in order, at most `EVIDENCE_CHARS` long."""
    return " ".join(evidence_text(h) or " ".join(h.text.split()) for h in hits)[:EVIDENCE_CHARS]


def evidence_text(hit: Hit) -> str:
    """A row's text as evidence: speech and documents as they are, a keyframe by its on-screen text."""
    if hit.kind != "keyframe":
        return " ".join(hit.text.split())
    shown = ON_SCREEN.search(hit.text)
    return f'On screen: "{" ".join(shown.group(1).split())}"' if shown else ""


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


# The best text row's lead over the best class name, in sd of the query's class-name cosines,
# maps linearly onto the text channels' share between these two (a lead of 0 keeps 0.55 of it).
TEXT_MARGIN_LOW, TEXT_MARGIN_HIGH = -1.0, 1.0
TEXT_SHARE_FLOOR = 0.1  # text channels never vanish: their rows must still rank among themselves


@dataclass(frozen=True)
class Background:
    """A query's cosines with the class names: raw (for text passages) and centred (for
    class-space keyframe vectors, which are centred on the same class centroid), and the
    best raw one (the visual concept that matches the query best)."""

    mean: float
    std: float
    centred_mean: float
    centred_std: float
    best: float


def z_confidence(top: float, mean: float, std: float, low: float = Z_LOW, high: float = Z_HIGH) -> float:
    """How far the best raw score stands above the background, mapped onto [0, 1]."""
    z = (top - mean) / max(std, 1e-6)
    return min(1.0, max(0.0, (z - low) / (high - low)))


def text_share(top_text: float, background: Background) -> float:
    """The text channels' share of their weight for this query: how far the best text row's raw
    cosine stands above the best class name's, in sd of the class-name cosines, onto
    `[TEXT_SHARE_FLOOR, 1]`."""
    z = (top_text - background.best) / max(background.std, 1e-6)
    lead = min(1.0, max(0.0, (z - TEXT_MARGIN_LOW) / (TEXT_MARGIN_HIGH - TEXT_MARGIN_LOW)))
    return TEXT_SHARE_FLOOR + (1 - TEXT_SHARE_FLOOR) * lead


def confidence_weights(confidences: dict[str, float], weights: dict[str, float] | None = None,
                       floor: float = CONFIDENCE_FLOOR, shares: dict[str, float] | None = None) -> dict[str, float]:
    """Each channel's base weight (default 1) scaled by `floor + (1 - floor) * confidence`, and
    by its share for the query (default 1; the text channels': `text_share`)."""
    weights, shares = weights or {}, shares or {}
    return {c: weights.get(c, 1.0) * shares.get(c, 1.0) * (floor + (1 - floor) * conf)
            for c, conf in confidences.items()}


def _group_by_source(hits: list[Hit]) -> dict[int, list[Hit]]:
    groups: dict[int, list[Hit]] = defaultdict(list)
    for h in hits:
        groups[h.source_id].append(h)
    return groups


def _row_scores(hits: list[Hit]) -> list[tuple[float, Hit]]:
    """Each catalog row once, with the sum of its channels' scores (its strength across channels)."""
    rows: dict[tuple[str, int], list[Hit]] = defaultdict(list)
    for h in hits:
        rows[(h.kind, h.row_id)].append(h)
    return [(sum(h.score for h in group), max(group, key=lambda h: h.score)) for group in rows.values()]


def _group_moments(hits: list[Hit]) -> list[Fused]:
    """Merge the hits of one source into moments: overlapping spans (at most `MAX_MOMENT_S`
    long, grown around the strongest rows first), or one page."""
    moments: list[Fused] = []
    by_row: dict[tuple[str, int], list[Hit]] = defaultdict(list)
    for h in hits:
        if h.t0 is not None:
            by_row[(h.kind, h.row_id)].append(h)
    strongest_first = sorted(by_row.values(), key=lambda g: (-sum(h.score for h in g), g[0].t0))
    for group in strongest_first:
        t0 = group[0].t0
        t1 = group[0].t1 if group[0].t1 is not None else t0
        home = next((m for m in moments if t0 <= m.t1 + MERGE_SLACK_S and t1 >= m.t0 - MERGE_SLACK_S
                     and max(m.t1, t1) - min(m.t0, t0) <= MAX_MOMENT_S), None)
        if home is None:
            moments.append(Fused(group[0].source_id, 0.0, {}, list(group), t0=t0, t1=t1))
        else:
            home.t0, home.t1 = min(home.t0, t0), max(home.t1, t1)
            home.hits.extend(group)
    moments.sort(key=lambda m: m.t0)
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
