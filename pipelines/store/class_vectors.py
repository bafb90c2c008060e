"""The class-space index's vectors, computed from the keyframes' class evidence (and image
embeddings, for the class space's image half) in the catalog whenever a source is indexed
(`IndexWriter`), so `argus reindex` rebuilds them after the class-name data or the
class-space settings change; see `models/class_space`."""

from __future__ import annotations

import logging

import numpy as np

from core.settings import Settings
from pipelines.store.catalog import IndexedRow

log = logging.getLogger(__name__)


def class_space_vectors(rows: list[IndexedRow], settings: Settings) -> tuple[list[int], list[np.ndarray]]:
    """(keyframe ids, class-space vectors) of one source's keyframes that have class evidence.

    Without the text-embedding model (a base opened where weights are missing) the source
    gets no class-space vectors and a warning: the index is derived data, rebuilt by
    `argus reindex` once the model is there."""
    keyframes = [r for r in rows if r.kind == "keyframe" and _has_evidence(r.evidence)]
    if not settings.class_space or not keyframes:
        return [], []
    from models.class_space import keyframe_vectors, load_image_map
    from models.registry import ModelUnavailable

    try:
        vectors = keyframe_vectors([r.evidence for r in keyframes], settings)
        image_map = load_image_map(settings)
    except ModelUnavailable as exc:
        log.warning("no class-space vectors for source %d: %s", keyframes[0].source_id, exc)
        return [], []
    if image_map is not None:  # each vector joined with its keyframe's image embedding
        vectors = [None if v is None else image_map.keyframe(v, r.image_embedding)
                   for r, v in zip(keyframes, vectors, strict=True)]
    pairs = [(r.row_id, v) for r, v in zip(keyframes, vectors, strict=True) if v is not None]
    return [i for i, _ in pairs], [v for _, v in pairs]


def _has_evidence(evidence: dict | None) -> bool:
    if not evidence:
        return False
    return bool(evidence.get("objects") or evidence.get("tag_labels")
                or any(view.get("top") for view in evidence.get("views", [])))
