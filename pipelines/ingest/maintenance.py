"""Removing sources and rebuilding the indexes. Both take the base's writer lock."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import numpy as np

from core.settings import Settings, get_settings
from core.types import Source
from pipelines.store.catalog import CatalogError, IndexedRow, open_catalog, writer_lock
from pipelines.store.index_writer import IndexWriter

EMBED_BATCH = 64


def remove_source(ref: str, settings: Settings | None = None) -> Source:
    """Delete one source (by id, file name, path or hash prefix) from the catalog, the
    indexes and the thumbnails. Raises `CatalogError` when `ref` matches none or several."""
    settings = settings or get_settings()
    with writer_lock(settings):
        catalog = open_catalog(settings)
        try:
            matches = catalog.find_sources(ref)
            if not matches:
                raise CatalogError(f"no source matches {ref!r}")
            if len(matches) > 1:
                listed = ", ".join(f"#{s.id} {s.name} ({s.content_hash[:10]})" for s in matches)
                raise CatalogError(f"{ref!r} matches {len(matches)} sources: {listed}; give an id or a hash")
            source = matches[0]
            # Catalog first: it is the truth. `sync` then drops the source from the indexes
            # (and catches up on anything else they lag); if the process dies before the
            # publish, the next writer's `sync` does the same.
            catalog.remove_source(source.id)
            writer = IndexWriter(settings, catalog)
            writer.sync()
            writer.publish()
            shutil.rmtree(settings.media_dir / source.content_hash, ignore_errors=True)
            return source
        finally:
            catalog.close()


def reindex(*, reembed: bool = False, settings: Settings | None = None,
            progress: Callable[[str, float], None] | None = None) -> dict[str, int]:
    """Rebuild every index from the catalog and publish it as a new version.

    Text vectors are stored in the catalog, so a rebuild normally embeds nothing. With
    `reembed`, every text vector is recomputed first (after changing the embedding model).
    Returns the row count of each index.
    """
    settings = settings or get_settings()
    report = progress or (lambda stage, fraction: None)
    with writer_lock(settings):
        catalog = open_catalog(settings)
        try:
            if reembed:
                rows = [r for r in catalog.indexed_rows()]
                catalog.replace_text_vectors(_embed_rows(rows, report))
            report("index", 0.0)
            writer = IndexWriter(settings, catalog)
            writer.rebuild()
            writer.publish()
            report("index", 1.0)
            return writer.stats()
        finally:
            catalog.close()


def _embed_rows(rows: list[IndexedRow], report: Callable[[str, float], None]):
    from models.text_embedding import embed_passages

    texts = [(r.kind, r.row_id, r.text) for r in rows]
    out = [(kind, row_id, None) for kind, row_id, text in texts if not text.strip()]
    wanted = [t for t in texts if t[2].strip()]
    for start in range(0, len(wanted), EMBED_BATCH):
        batch = wanted[start : start + EMBED_BATCH]
        vectors = np.asarray(embed_passages([text for _, _, text in batch]), dtype=np.float32)
        out.extend((kind, row_id, vec) for (kind, row_id, _), vec in zip(batch, vectors, strict=True))
        report("embed", (start + len(batch)) / len(wanted))
    return out
