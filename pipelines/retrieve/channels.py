"""Retrieval channels. Each turns a query into `Hit`s with scores normalised to [0, 1].

- keyword: BM25F over transcript segments, captions and document chunks (Whoosh + jieba).
- dense:   multilingual-e5 query embedding against the same texts ("query:"/"passage:").
- visual:  the query text against keyframe text (objects, tags, OCR), dense and keyword;
           against keyframe class-space vectors (ConSE mixes of class-name embeddings,
           `models/class_space`); and CLIP text→image when CLIP weights are configured.
- image:   a query image's embedding against keyframe image embeddings.

Keyframe text is kept out of keyword and dense and given to visual alone, so each channel
stands for one modality and the ablation measures what each one adds.

Each channel also reports its confidence for the query (`ScoredRow.confidence`), which
sets its weight in fusion (`fusion.confidence_weights`): keyword, the share of the query's
terms in its best hit; dense and the visual signals, how far the best cosine stands above
the query's background (its cosines with the class names, `query_background`). The text
channels also carry their share of the weight for the query (`ScoredRow.share`,
`fusion.text_share`): small where a class name, a thing one can see, matches the query
better than any text row of the base.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pipelines.retrieve.fusion import CONFIDENCE_FLOOR, Background, normalise, text_share, z_confidence
from pipelines.store.indexes import Hit as IndexHit
from pipelines.store.indexes import Indexes

TEXT_KINDS = frozenset({"segment", "caption", "chunk"})
CHANNELS = ("keyword", "dense", "visual", "image", "clip")
log = logging.getLogger(__name__)
NEUTRAL = 0.5  # the confidence of a channel that cannot judge its own hits


@dataclass(frozen=True)
class ScoredRow:
    """A catalog row a channel found, before it is joined with the catalog."""

    channel: str
    kind: str
    row_id: int
    score: float  # normalised
    confidence: float = NEUTRAL  # the channel's confidence for this query (the same on all its rows)
    share: float = 1.0  # the part of its fused weight the channel keeps for this query


def _scored(channel: str, hits: list[IndexHit], method: str, confidence: float = NEUTRAL,
            share: float = 1.0) -> list[ScoredRow]:
    scores = normalise([h.score for h in hits], method)  # type: ignore[arg-type]
    return [ScoredRow(channel, h.kind, h.row_id, s, confidence, share) for h, s in zip(hits, scores, strict=True)]


def confidences(rows: list[ScoredRow]) -> dict[str, float]:
    """Each channel's confidence for this query."""
    return {r.channel: r.confidence for r in rows}


def shares(rows: list[ScoredRow]) -> dict[str, float]:
    """Each channel's share of its weight for this query."""
    return {r.channel: r.share for r in rows}


def text_channels_share(indexes: Indexes, query_vector: np.ndarray, depth: int,
                        background: Background | None) -> float:
    """The keyword and dense channels' share for this query (`fusion.text_share`), from the
    best text row's raw cosine; 1 without a background or without text rows."""
    if background is None:
        return 1.0
    hits = [h for h in indexes.dense.search(query_vector, depth) if h.kind in TEXT_KINDS]
    return text_share(hits[0].score, background) if hits else 1.0


def _keyword_confidence(hits: list[IndexHit]) -> float:
    return hits[0].coverage if hits and hits[0].coverage is not None else NEUTRAL


def _vector_confidence(hits: list[IndexHit], background: Background | None, *, centred: bool = False) -> float:
    if not hits or background is None:
        return NEUTRAL
    if centred:
        return z_confidence(hits[0].score, background.centred_mean, background.centred_std)
    return z_confidence(hits[0].score, background.mean, background.std)


def keyword_channel(indexes: Indexes, query: str, depth: int, share: float = 1.0) -> list[ScoredRow]:
    hits = [h for h in indexes.keyword.search(query, depth) if h.kind in TEXT_KINDS]
    # BM25 is unbounded: only the ratio to this query's best hit means anything.
    return _scored("keyword", hits, "max", _keyword_confidence(hits), share)


def dense_channel(indexes: Indexes, query_vector: np.ndarray, depth: int,
                  background: Background | None = None, share: float = 1.0) -> list[ScoredRow]:
    hits = [h for h in indexes.dense.search(query_vector, depth) if h.kind in TEXT_KINDS]
    return _scored("dense", hits, "minmax", _vector_confidence(hits, background), share)


def visual_channel(indexes: Indexes, query: str, query_vector: np.ndarray, depth: int,
                   clip_text: Callable[[str], np.ndarray] | None = None, *,
                   class_vector: np.ndarray | None = None, background: Background | None = None,
                   weigh_signals: bool = True, text_keyframes: frozenset[int] = frozenset()) -> list[ScoredRow]:
    """Keyframes whose objects, tags, on-screen text or class evidence match the query.

    Signals: the keyframe text by keyword; the class space (`class_vector`); the keyframe text
    in the text space (`query_vector`), beside the class space only for keyframes with words on
    screen (`text_keyframes`); CLIP where configured. Each keyframe takes its best signal.
    With `weigh_signals` (and a query background), each signal first counts by its own
    confidence, as the channels do in fusion: keyframe text that merely shares a word with the
    query does not outrank a clear class-space match; the channel's confidence is its most
    confident signal's. `class_vector` is the query in the class space's embedding (None: no
    class-space signal)."""
    keyword = [h for h in indexes.keyword.search(query, depth) if h.kind == "keyframe"]
    signals = [(_scored("visual", keyword, "max"), _keyword_confidence(keyword))]
    text = [h for h in indexes.dense.search(query_vector, depth * 2) if h.kind == "keyframe"][:depth]
    semantic = indexes.semantic
    if class_vector is not None and semantic is not None and semantic.dim != class_vector.shape[0]:
        _warn_stale_class_index(semantic.dim, class_vector.shape[0])
        semantic = None
    if class_vector is not None and semantic is not None:
        # Beside the class space, a keyframe's text in e5's space counts only for its words on screen: its
        # objects and tags as text repeat the class evidence less well ("football helmet" for "a football
        # match"; dev R@1 0.737 -> 0.789, R@5 0.947 -> 1.000), while slides carry facts the speech garbles.
        text = [h for h in text if h.row_id in text_keyframes]
        hits = semantic.search(class_vector, depth)
        # What is seen counts at least as a signal that cannot judge itself: EmbeddingGemma's class-space
        # cosines stand out less evenly than e5's, and without this floor keyframe text sharing one word
        # ("football helmet") outranked the right video (dev R@1 0.579 -> 0.684; e5's figures unchanged).
        confidence = max(NEUTRAL, _vector_confidence(hits, background, centred=True))
        signals.append((_scored("visual", hits, "minmax"), confidence))
    signals.append((_scored("visual", text, "minmax"), _vector_confidence(text, background)))
    if clip_text is not None and indexes.clip is not None:
        signals.append((_scored("visual", indexes.clip.search(clip_text(query), depth), "minmax"), NEUTRAL))
    signals = [(rows, conf) for rows, conf in signals if rows]
    best: dict[int, float] = {}
    for rows, conf in signals:
        scale = CONFIDENCE_FLOOR + (1 - CONFIDENCE_FLOOR) * conf if weigh_signals else 1.0
        for row in rows:
            best[row.row_id] = max(best.get(row.row_id, 0.0), row.score * scale)
    peak = max(best.values(), default=0.0) or 1.0
    confidence = max((conf for _, conf in signals), default=NEUTRAL)
    return [ScoredRow("visual", "keyframe", row_id, s / peak, confidence) for row_id, s in best.items()]


@lru_cache(maxsize=4)
def _warn_stale_class_index(index_dim: int, model_dim: int) -> None:
    log.warning("the class-space index holds %d-d vectors but the class space gives %d-d ones (its model changed, "
                "or the image half was turned on or off): keyframes are matched by their text alone until `argus reindex`",
                index_dim, model_dim)


def image_channel(indexes: Indexes, image_vector: np.ndarray, depth: int) -> list[ScoredRow]:
    # Cosines of image embeddings are meaningful on their own (near-duplicates ~0.96).
    hits = indexes.image.search(image_vector, depth)
    return _scored("image", hits, "clip", min(1.0, max(0.0, hits[0].score)) if hits else NEUTRAL)


def query_background(query_vector: np.ndarray, class_vector: np.ndarray | None = None,
                     settings=None) -> Background | None:
    """The query's cosine statistics against the class names, and its best cosine with one
    (None without the class names). Raw: in the text-embedding space, where text rows are
    scored; centred: in the class space, as the query meets the (centred) keyframe vectors
    there (`class_vector`; without it, the text space's)."""
    from models.class_space import load_class_space, load_image_map
    from models.registry import ModelUnavailable

    try:
        text_space = load_class_space(settings, model="text")
        space = load_class_space(settings) if class_vector is not None else text_space
        image_map = load_image_map(settings) if class_vector is not None else None
    except ModelUnavailable:
        return None
    raw = text_space.all_classes @ query_vector
    names = space.all_centred if image_map is None else image_map.names  # the joined class space's names
    centred = names @ (class_vector if class_vector is not None else query_vector)
    return Background(float(raw.mean()), float(raw.std()), float(centred.mean()), float(centred.std()),
                      float(raw.max()))
