"""FAISS + Whoosh indexes: id scheme, search, atomic versions, sync with the catalog, rebuild."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_catalog import doc_record, unit, video_record

from core.settings import Settings
from core.types import Chunk, Source, SourceType
from pipelines.store.catalog import Catalog, SourceRecord
from pipelines.store.index_writer import IndexWriter
from pipelines.store.indexes import (
    CURRENT,
    Hit,
    chinese_analyzer,
    current_version,
    dense_id,
    open_indexes,
    split_dense_id,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def base(argus_home: Path) -> tuple[Settings, Catalog]:
    settings = Settings()
    catalog = Catalog(settings.catalog_path, settings.home)
    yield settings, catalog
    catalog.close()


def chinese_record() -> SourceRecord:
    source = Source(content_hash="c" * 64, path="/data/咖啡.txt", name="咖啡.txt", type=SourceType.document,
                    mime="text/plain", language="zh", size_bytes=10)
    chunks = [Chunk(ordinal=0, text="每天使用后，清洁咖啡机的蒸汽棒。"), Chunk(ordinal=1, text="Descale the Espresso MACHINE monthly.")]
    return SourceRecord(source=source, chunks=chunks, text_vectors={"chunk": [unit([0, 0, 1]), unit([1, 0, 1])]})


def test_dense_ids_pack_kind_and_row() -> None:
    for kind in ("segment", "caption", "keyframe", "chunk"):
        for row in (1, 42, 2**40):
            assert split_dense_id(dense_id(kind, row)) == (kind, row)
    assert len({dense_id(k, 7) for k in ("segment", "caption", "keyframe", "chunk")}) == 4


def test_analyzer_splits_chinese_and_lowercases() -> None:
    tokens = [t.text for t in chinese_analyzer()("清洁咖啡机的蒸汽棒 Espresso MACHINE!")]
    assert "咖啡" in tokens and "蒸汽" in tokens
    assert "espresso" in tokens and "machine" in tokens
    assert "!" not in tokens and " " not in tokens


def test_empty_base_gives_empty_indexes(base) -> None:
    settings, _ = base
    ix = open_indexes(settings)
    assert ix.version is None and len(ix.dense) == 0
    assert ix.dense.search(unit([1, 0, 0]), 5) == [] and ix.keyword.search("anything", 5) == []


def test_search_returns_catalog_rows(base) -> None:
    settings, catalog = base
    video = catalog.add_source(video_record())
    doc = catalog.add_source(doc_record())
    zh = catalog.add_source(chinese_record())
    writer = IndexWriter(settings, catalog)
    for source_id in (video, doc, zh):
        writer.add_source(source_id)
    version = writer.publish()
    ix = open_indexes(settings)
    assert ix.version == version and ix.source_ids == {video, doc, zh}
    # 2 segments + 1 caption + 1 keyframe with text + 2 + 2 chunks have vectors.
    assert len(ix.dense) == 8 and len(ix.image) == 2 and ix.clip is None

    segment_ids = [s.id for s in catalog.segments(video)]
    top = ix.dense.search(unit([0, 1, 0]), 1)[0]
    assert (top.kind, top.row_id) == ("segment", segment_ids[1])
    assert top.score == pytest.approx(1.0, abs=1e-5)
    assert isinstance(top, Hit) and tuple(top)[0] == "segment"

    keyframe_ids = [k.id for k in catalog.keyframes(video)]
    assert ix.image.search(unit([4, 3, 2, 1]), 1)[0][:2] == ("keyframe", keyframe_ids[1])

    zh_chunks = [c.id for c in catalog.chunks(zh)]
    hits = ix.keyword.search("咖啡机 清洁", 5)
    assert hits and (hits[0].kind, hits[0].row_id) == ("chunk", zh_chunks[0])
    english = {h[:2] for h in ix.keyword.search("ESPRESSO machine", 5)}
    assert ("chunk", zh_chunks[1]) in english and ("segment", segment_ids[1]) in english
    assert ix.keyword.search('"AND OR ( :', 5) == []  # no query syntax: odd input cannot break it
    keyframe_hits = ix.keyword.search("menu", 5)
    assert keyframe_hits[0][:2] == ("keyframe", keyframe_ids[0])
    ix.close()


def test_versions_are_atomic_and_readers_keep_theirs(base) -> None:
    settings, catalog = base
    writer = IndexWriter(settings, catalog)
    writer.add_source(catalog.add_source(doc_record()))
    first = writer.publish()
    old_reader = open_indexes(settings)

    # Leftovers of a publish killed half-way are ignored and later swept.
    stray = settings.index_dir / ".tmp-v000099-12345"
    stray.mkdir()
    (stray / "dense.faiss").write_bytes(b"half")

    writer.add_source(catalog.add_source(video_record()))
    second = writer.publish()
    assert second != first and current_version(settings) == second
    assert (settings.index_dir / CURRENT).read_text().strip() == second
    assert not stray.exists()
    assert len(old_reader.dense) == 2  # still answering from its own version
    assert old_reader.keyword.search("page", 5)
    assert len(open_indexes(settings).dense) == 6

    for _ in range(4):
        writer.dirty = True
        writer.publish()
    versions = sorted(p.name for p in settings.index_dir.glob("v*"))
    assert len(versions) == 3 and versions[-1] == current_version(settings)
    assert writer.publish() == versions[-1]  # nothing pending: no new version


def test_sync_repairs_indexes_that_lag_the_catalog(base) -> None:
    settings, catalog = base
    writer = IndexWriter(settings, catalog)
    kept = catalog.add_source(doc_record())
    gone = catalog.add_source(video_record())
    writer.add_source(kept)
    writer.add_source(gone)
    writer.publish()

    # A run committed a source and died before publishing; another removal never reached the indexes.
    late = catalog.add_source(chinese_record())
    catalog.remove_source(gone)

    fresh = IndexWriter(settings, catalog)
    assert fresh.sync() is True
    fresh.publish()
    ix = open_indexes(settings)
    assert ix.source_ids == {kept, late}
    assert len(ix.dense) == 4 and len(ix.image) == 0
    assert all(h.kind == "chunk" for h in ix.keyword.search("espresso page hello menu", 20))
    assert IndexWriter(settings, catalog).sync() is False


def test_rebuild_equals_incremental(base) -> None:
    settings, catalog = base
    writer = IndexWriter(settings, catalog)
    for record in (video_record(), doc_record(), chinese_record()):
        writer.add_source(catalog.add_source(record))
    writer.publish()
    incremental = open_indexes(settings)
    counts = (len(incremental.dense), len(incremental.image), len(incremental.keyword))

    rebuilt = IndexWriter(settings, catalog)
    rebuilt.rebuild()
    rebuilt.publish()
    ix = open_indexes(settings)
    assert (len(ix.dense), len(ix.image), len(ix.keyword)) == counts
    query = unit([1, 0, 1])
    assert ix.dense.search(query, 3) == incremental.dense.search(query, 3)
    manifest = json.loads((settings.index_dir / ix.version / "manifest.json").read_text())
    assert manifest["counts"]["dense"] == counts[0] and manifest["dims"]["image"] == 4


def test_mismatched_vector_size_names_the_fix(base) -> None:
    settings, catalog = base
    writer = IndexWriter(settings, catalog)
    writer.add_source(catalog.add_source(doc_record()))
    record = chinese_record()
    record.text_vectors["chunk"] = [unit([1, 0, 0, 0]), unit([0, 1, 0, 0])]
    with pytest.raises(ValueError, match="reindex --reembed"):
        writer.add_source(catalog.add_source(record))
    assert np.isfinite(writer.stats()["dense"])


def test_unreadable_indexes_are_rebuilt_from_the_catalog(base) -> None:
    settings, catalog = base
    writer = IndexWriter(settings, catalog)
    writer.add_source(catalog.add_source(doc_record()))
    version = writer.publish()
    (settings.index_dir / version / "dense.faiss").write_bytes(b"damaged")
    repaired = IndexWriter(settings, catalog)
    repaired.publish()
    assert len(open_indexes(settings).dense) == 2
