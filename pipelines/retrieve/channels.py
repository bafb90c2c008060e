"""Retrieval channels. Each turns a query into `Hit`s with scores normalised to [0, 1].

- keyword: BM25F over transcript segments, captions and document chunks (Whoosh + jieba).
- dense:   multilingual-e5 query embedding against the same texts ("query:"/"passage:").
- visual:  the query text against keyframe text (objects, tags, OCR), dense and keyword,
           and CLIP text→image when CLIP weights are configured.
- image:   a query image's embedding against keyframe image embeddings.

Keyframe text is kept out of keyword and dense and given to visual alone, so each channel
stands for one modality and the ablation measures what each one adds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipelines.ingest.indexes import Hit as IndexHit
from pipelines.ingest.indexes import Indexes
from pipelines.retrieve.fusion import normalise

TEXT_KINDS = frozenset({"segment", "caption", "chunk"})
CHANNELS = ("keyword", "dense", "visual", "image", "clip")


@dataclass(frozen=True)
class ScoredRow:
    """A catalog row a channel found, before it is joined with the catalog."""

    channel: str
    kind: str
    row_id: int
    score: float  # normalised


def _scored(channel: str, hits: list[IndexHit], method: str) -> list[ScoredRow]:
    scores = normalise([h.score for h in hits], method)  # type: ignore[arg-type]
    return [ScoredRow(channel, h.kind, h.row_id, s) for h, s in zip(hits, scores, strict=True)]


def keyword_channel(indexes: Indexes, query: str, depth: int) -> list[ScoredRow]:
    hits = [h for h in indexes.keyword.search(query, depth) if h.kind in TEXT_KINDS]
    # BM25 is unbounded: only the ratio to this query's best hit means anything.
    return _scored("keyword", hits, "max")


def dense_channel(indexes: Indexes, query_vector: np.ndarray, depth: int) -> list[ScoredRow]:
    hits = [h for h in indexes.dense.search(query_vector, depth) if h.kind in TEXT_KINDS]
    return _scored("dense", hits, "minmax")


def visual_channel(indexes: Indexes, query: str, query_vector: np.ndarray, depth: int,
                   clip_text: Callable[[str], np.ndarray] | None = None) -> list[ScoredRow]:
    """Keyframes whose objects, tags or on-screen text match the query (best of each signal)."""
    best: dict[int, float] = {}
    signals = [
        _scored("visual", [h for h in indexes.keyword.search(query, depth) if h.kind == "keyframe"], "max"),
        _scored("visual", [h for h in indexes.dense.search(query_vector, depth * 2) if h.kind == "keyframe"][:depth],
                "minmax"),
    ]
    if clip_text is not None and indexes.clip is not None:
        signals.append(_scored("visual", indexes.clip.search(clip_text(query), depth), "minmax"))
    for rows in signals:
        for row in rows:
            best[row.row_id] = max(best.get(row.row_id, 0.0), row.score)
    return [ScoredRow("visual", "keyframe", row_id, s) for row_id, s in best.items()]


def image_channel(indexes: Indexes, image_vector: np.ndarray, depth: int) -> list[ScoredRow]:
    # Cosines of image embeddings are meaningful on their own (near-duplicates ~0.96).
    return _scored("image", indexes.image.search(image_vector, depth), "clip")
