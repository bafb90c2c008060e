"""A comparable picture of a knowledge base: catalog content without ids or timestamps,
plus index sizes. Two bases built from the same files must give equal snapshots."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from core.settings import Settings
from pipelines.store.indexes import open_indexes


def catalog_snapshot(home: Path) -> dict[str, list]:
    """Each table's rows keyed by their source's content hash instead of row ids."""
    db = sqlite3.connect(home / "catalog.sqlite")
    try:
        def rows(sql: str) -> list:
            return sorted(tuple(r) for r in db.execute(sql))

        join = "JOIN sources s ON s.id = x.source_id"
        return {
            "sources": rows("SELECT content_hash, path, name, type, mime, language, duration_s, pages, size_bytes "
                            "FROM sources"),
            "segments": rows(f"SELECT s.content_hash, x.t0, x.t1, x.text, x.language, x.embedding IS NOT NULL "
                             f"FROM segments x {join}"),
            "keyframes": rows(f"SELECT s.content_hash, x.t, x.path, x.objects, x.tags, x.ocr, x.embedding IS NOT NULL, "
                              f"x.image_embedding IS NOT NULL FROM keyframes x {join}"),
            "captions": rows(f"SELECT s.content_hash, x.text, x.model, x.composed FROM captions x {join}"),
            "chunks": rows(f"SELECT s.content_hash, x.ordinal, x.text, x.page, x.heading, x.embedding IS NOT NULL "
                           f"FROM chunks x {join}"),
        }
    finally:
        db.close()


def text_vectors(home: Path) -> dict[tuple, np.ndarray]:
    """Stored text vectors keyed by (table, content hash, position within the source)."""
    db = sqlite3.connect(home / "catalog.sqlite")
    out = {}
    try:
        for table in ("segments", "captions", "keyframes", "chunks"):
            sql = (f"SELECT s.content_hash, x.embedding FROM {table} x JOIN sources s ON s.id = x.source_id "
                   f"WHERE x.embedding IS NOT NULL ORDER BY s.content_hash, x.id")
            position: dict[str, int] = {}
            for content_hash, blob in db.execute(sql):
                n = position[content_hash] = position.get(content_hash, -1) + 1
                out[(table, content_hash, n)] = np.frombuffer(blob, dtype=np.float32)
    finally:
        db.close()
    return out


def index_sizes(home: Path) -> dict[str, int]:
    ix = open_indexes(Settings(home=home))
    try:
        return {"dense": len(ix.dense), "image": len(ix.image), "keyword": len(ix.keyword),
                "sources": len(ix.source_ids), "clip": len(ix.clip) if ix.clip else 0}
    finally:
        ix.close()


def latest_jobs(home: Path) -> dict[str, tuple[str, str | None]]:
    """(status, error) of the newest job of each path."""
    db = sqlite3.connect(home / "catalog.sqlite")
    try:
        rows = db.execute("SELECT path, status, error FROM jobs ORDER BY id").fetchall()
    finally:
        db.close()
    return {path: (status, error) for path, status, error in rows}


def assert_same_base(a: Path, b: Path) -> None:
    snap_a, snap_b = catalog_snapshot(a), catalog_snapshot(b)
    for table in snap_a:
        assert snap_a[table] == snap_b[table], f"{table} differ:\n{json.dumps([snap_a[table], snap_b[table]], default=str)[:3000]}"
    vectors_a, vectors_b = text_vectors(a), text_vectors(b)
    assert vectors_a.keys() == vectors_b.keys()
    for key, vector in vectors_a.items():
        assert np.allclose(vector, vectors_b[key], atol=1e-4), key
    assert index_sizes(a) == index_sizes(b)
