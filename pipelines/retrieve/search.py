"""`search(query, k, filters) -> list[Evidence]`: hybrid retrieval grounded to moments and pages.

    channels (keyword, dense, visual, image) ─► filters ─► fusion (sum | rrf) ─► rerank ─► Evidence

A `Retriever` holds the opened indexes and catalog and notices when ingestion publishes a
new index version. Bad queries (empty, control characters only, too long, k out of range)
raise `QueryError` with one clear message; an empty base gives an empty result.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from core.settings import Settings, get_settings
from core.types import Citation, Evidence, Source, SourceType
from pipelines.retrieve.channels import (
    CHANNELS,
    ScoredRow,
    confidences,
    dense_channel,
    image_channel,
    keyword_channel,
    query_background,
    shares,
    text_channels_share,
    visual_channel,
)
from pipelines.retrieve.fusion import (
    Fused,
    FusionRule,
    Granularity,
    Hit,
    confidence_weights,
    fuse,
    joined_evidence,
)
from pipelines.retrieve.rerank import Reranker, rerank_order
from pipelines.store.catalog import Catalog, open_catalog
from pipelines.store.indexes import Indexes, current_version, open_indexes

MAX_QUERY_CHARS = 2000
ROW_CACHE_SIZE = 50_000  # catalog rows kept between searches (cleared when full or on a new index version)
MAX_K = 1000
FILTER_DEPTH_FACTOR = 4  # look deeper when filters will drop hits


class QueryError(ValueError):
    """The query cannot be searched; the message says why."""


class SearchFilters(BaseModel):
    types: list[SourceType] | None = Field(None, description="Only these source types.")
    source_ids: list[int] | None = Field(None, description="Only these sources.")
    t0: float | None = Field(None, ge=0, description="Only moments ending after this second.")
    t1: float | None = Field(None, ge=0, description="Only moments starting before this second.")
    language: str | None = Field(None, description="Only sources in this language (ISO 639-1).")


def clean_query(query: str) -> str:
    """The query without control characters and surplus whitespace; QueryError when nothing is left."""
    if not isinstance(query, str):
        raise QueryError("the query must be text")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}")
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in query)
    text = " ".join(text.split())
    if not text:
        raise QueryError("the query is empty")
    return text


class _SearchOnce:
    """An index as one query sees it: each query searched once, at the deepest k asked.

    The keyword and visual channels search the keyword index with the same text, and the
    dense and visual channels the dense index with the same vector; searching once and
    handing out prefixes halves the index work of a query."""

    def __init__(self, index, deepest: int):
        self._index, self._deepest = index, deepest
        self._hits: dict[object, list] = {}

    def __len__(self) -> int:
        return len(self._index)

    def __getattr__(self, name: str):
        return getattr(self._index, name)

    def search(self, query, k: int) -> list:
        key = query if isinstance(query, str) else np.asarray(query, dtype=np.float32).tobytes()
        if key not in self._hits:
            self._hits[key] = self._index.search(query, max(k, self._deepest))
        return self._hits[key][:k]


@dataclass
class Retriever:
    settings: Settings = field(default_factory=get_settings)
    channels: tuple[str, ...] = ("keyword", "dense", "visual", "image")
    rule: FusionRule = "sum"
    weights: dict[str, float] = field(default_factory=dict)
    reranker: Reranker | None = None
    rerank_top: int = 12
    depth: int = 50  # hits each channel contributes before fusion

    def __post_init__(self) -> None:
        unknown = set(self.channels) - set(CHANNELS)
        if unknown:
            raise QueryError(f"unknown channel(s) {sorted(unknown)}; known: {', '.join(CHANNELS)}")
        self._catalog: Catalog | None = None
        self._indexes: Indexes | None = None
        self._sources: dict[int, Source] = {}
        self._rows: dict[tuple[str, int], object] = {}  # (kind, id) -> catalog row, for this index version
        self._text_keyframes: frozenset[int] = frozenset()  # keyframes with words on screen, this version
        self._clip_text = None

    # -- resources ------------------------------------------------------------------

    def _open(self) -> tuple[Catalog, Indexes]:
        if self._catalog is None:
            self._catalog = open_catalog(self.settings)
        version = current_version(self.settings)
        if self._indexes is None or self._indexes.version != version:
            if self._indexes is not None:
                self._indexes.close()
            self._indexes = open_indexes(self.settings)
            self._sources = {s.id: s for s in self._catalog.list_sources()}
            self._text_keyframes = self._catalog.keyframes_with_text()
            self._rows.clear()
        return self._catalog, self._indexes

    def close(self) -> None:
        if self._indexes is not None:
            self._indexes.close()
        if self._catalog is not None:
            self._catalog.close()
        self._indexes = self._catalog = None

    def _clip(self):
        if self._clip_text is None and self.settings.clip_model:
            from models.clip import load_clip

            model = load_clip(self.settings)
            self._clip_text = lambda text: model.embed_texts([text])[0]
        return self._clip_text

    # -- search ---------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        *,
        granularity: Granularity = "moment",
        image: Path | np.ndarray | None = None,
        rerank: bool | None = None,
    ) -> list[Evidence]:
        """The k best moments (or sources) for `query`, each with its citation and per-channel scores."""
        if not isinstance(k, int) or k <= 0 or k > MAX_K:
            raise QueryError(f"k must be between 1 and {MAX_K}; got {k!r}")
        text = clean_query(query) if image is None or (query and query.strip()) else ""
        catalog, indexes = self._open()
        if not self._sources:
            return []
        depth = self.depth * (FILTER_DEPTH_FACTOR if filters else 1)
        rows = self._channel_rows(indexes, text, image, depth)
        hits = self._join(catalog, rows)
        hits = [h for h in hits if self._keep(h, filters)]
        weights = self.weights
        if self.settings.fusion_confidence:
            weights = {**self.weights, **confidence_weights(confidences(rows), self.weights, shares=shares(rows))}
        fused = fuse(hits, granularity=granularity, rule=self.rule, weights=weights)
        use_rerank = self.reranker is not None if rerank is None else rerank
        if use_rerank and self.reranker is not None and text:
            fused = self._rerank(text, fused)
        return [self._evidence(catalog, item, granularity) for item in fused[:k]]

    def embed(self, text: str) -> np.ndarray | None:
        """The query vector the dense and visual channels use (None if neither is on).

        Thread-safe and cached, unlike `search`: a server computes it before taking its lock."""
        if not text or not ({"dense", "visual"} & set(self.channels)):
            return None
        from models.text_embedding import embed_query

        return embed_query(text)

    def embed_class(self, text: str) -> np.ndarray | None:
        """The query in the class space's embedding (None without the class space, or where its
        model is not prepared: the visual channel then uses keyframe text alone). Cached."""
        if not text or "visual" not in self.channels or not self.settings.class_space:
            return None
        if self._indexes is not None and self._indexes.semantic is None:  # a base without keyframes
            return None
        from models.class_space import load_image_map
        from models.registry import ModelUnavailable
        from models.text_embedding import embed_class_query

        try:
            vector = embed_class_query(text, self.settings)
            image_map = load_image_map(self.settings)
            return vector if image_map is None else image_map.query(vector)
        except ModelUnavailable:
            return None

    def _channel_rows(self, indexes: Indexes, text: str, image, depth: int) -> list[ScoredRow]:
        # The visual channel asks the dense index for 2 x depth hits (keyframes among texts).
        indexes = dataclasses.replace(indexes, dense=_SearchOnce(indexes.dense, 2 * depth),
                                      keyword=_SearchOnce(indexes.keyword, depth))
        rows: list[ScoredRow] = []
        query_vector, class_vector = self.embed(text), self.embed_class(text)
        background = None
        if query_vector is not None and self.settings.fusion_confidence:
            background = query_background(query_vector, class_vector, self.settings)
        share = 1.0
        if query_vector is not None and self.settings.fusion_text_share:
            share = text_channels_share(indexes, query_vector, depth, background)
        if text and "keyword" in self.channels:
            rows += keyword_channel(indexes, text, depth, share)
        if query_vector is not None and "dense" in self.channels:
            rows += dense_channel(indexes, query_vector, depth, background, share)
        if query_vector is not None and "visual" in self.channels:
            rows += visual_channel(indexes, text, query_vector, depth, self._clip(),
                                   class_vector=class_vector, background=background,
                                   weigh_signals=self.settings.fusion_confidence,
                                   text_keyframes=self._text_keyframes)
        if image is not None and "image" in self.channels:
            from pipelines.ingest.visual import image_embedding

            rows += image_channel(indexes, image_embedding(image), depth)
        return rows

    def _join(self, catalog: Catalog, rows: list[ScoredRow]) -> list[Hit]:
        """Channel rows joined with their catalog rows: source, span or page, text.

        Rows are cached: they do not change while an index version is live, and building
        them (keyframe JSON, paths) was a third of a search."""
        if len(self._rows) > ROW_CACHE_SIZE:  # before looking: every row this search needs is then fetched
            self._rows.clear()
        missing: dict[str, set[int]] = {}
        for r in rows:
            if (r.kind, r.row_id) not in self._rows:
                missing.setdefault(r.kind, set()).add(r.row_id)
        for kind, ids in missing.items():
            for row_id, row in catalog.get_rows(kind, ids).items():  # type: ignore[arg-type]
                self._rows[(kind, row_id)] = row
        hits = []
        for r in rows:
            row = self._rows.get((r.kind, r.row_id))
            if row is None:  # removed since the index version was published
                continue
            if r.kind == "segment":
                hits.append(Hit(r.channel, r.kind, r.row_id, row.source_id, r.score, row.text, t0=row.t0, t1=row.t1))
            elif r.kind == "keyframe":
                hits.append(Hit(r.channel, r.kind, r.row_id, row.source_id, r.score, row.searchable_text(),
                                t0=row.t, t1=row.t, keyframe_id=row.id))
            elif r.kind == "chunk":
                hits.append(Hit(r.channel, r.kind, r.row_id, row.source_id, r.score, row.text, page=row.page,
                                heading=row.heading))
            else:
                hits.append(Hit(r.channel, r.kind, r.row_id, row.source_id, r.score, row.text))
        return hits

    def _keep(self, hit: Hit, filters: SearchFilters | None) -> bool:
        source = self._sources.get(hit.source_id)
        if source is None:
            return False
        if filters is None:
            return True
        if filters.types and source.type not in filters.types:
            return False
        if filters.source_ids and hit.source_id not in filters.source_ids:
            return False
        if filters.language and (source.language or "") != filters.language:
            return False
        if filters.t0 is not None or filters.t1 is not None:
            if hit.t0 is None:  # documents and whole-video captions have no time
                return False
            lo, hi = filters.t0 or 0.0, filters.t1 if filters.t1 is not None else float("inf")
            return hit.t0 <= hi and (hit.t1 if hit.t1 is not None else hit.t0) >= lo
        return True

    def _rerank(self, query: str, fused: list[Fused]) -> list[Fused]:
        head, tail = fused[: self.rerank_top], fused[self.rerank_top :]
        scores = self.reranker.scores(query, [item.best_text for item in head])
        for item, score in zip(head, scores, strict=True):
            if score is not None:
                item.channels["rerank"] = score
        return [head[i] for i in rerank_order(scores)] + tail

    def _evidence(self, catalog: Catalog, item: Fused, granularity: Granularity) -> Evidence:
        source = self._sources[item.source_id]
        best = max(item.hits, key=lambda h: h.score)
        evidence = item.evidence_hits()  # once: its text and, for a moment, its cited span
        t0, t1, page = item.t0, item.t1, item.page
        if granularity == "source":  # cite the best hit's moment or page
            t0, t1, page = best.t0, best.t1, best.page
        elif t0 is not None:  # cite the span whose text is the evidence, not the whole moment
            window = [h for h in evidence if h.t0 is not None]
            if window:
                t0, t1 = min(h.t0 for h in window), max(h.t1 if h.t1 is not None else h.t0 for h in window)
        keyframe_id = item.keyframe_id
        if keyframe_id is None and t0 is not None and source.type == SourceType.video:
            nearest = catalog.nearest_keyframe(source.id, (t0 + (t1 or t0)) / 2)
            keyframe_id = nearest.id if nearest else None
        heading = next((h.heading for h in item.hits if h.kind == "chunk" and h.page == page and h.heading), None)
        citation = Citation(source_id=source.id, source=source.name, type=source.type, t0=t0, t1=t1,
                            keyframe_id=keyframe_id, page=page, heading=heading)
        return Evidence(citation=citation, text=joined_evidence(evidence), score=round(item.score, 4),
                        channels={c: round(s, 4) for c, s in item.channels.items()})


def search(query: str, k: int = 10, filters: SearchFilters | None = None, *,
           granularity: Granularity = "moment", channels: Iterable[str] | None = None,
           settings: Settings | None = None) -> list[Evidence]:
    """One-shot search with default settings (opens and closes the base)."""
    retriever = Retriever(settings or get_settings(), channels=tuple(channels or Retriever.channels))
    try:
        return retriever.search(query, k, filters, granularity=granularity)
    finally:
        retriever.close()

