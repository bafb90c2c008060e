"""HNSW search indexes for large vector indexes: chosen by size, same ids, high recall, atomic."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import faiss
import numpy as np
import pytest

from core.settings import Settings
from core.types import Chunk, Keyframe, Source, SourceType
from pipelines.ingest.maintenance import reindex
from pipelines.store import index_writer as index_writer_module
from pipelines.store.catalog import Catalog, SourceRecord
from pipelines.store.index_writer import IndexWriter
from pipelines.store.indexes import CURRENT, current_version, open_indexes

pytestmark = pytest.mark.unit

THRESHOLD = 500
TEXT_DIM, IMAGE_DIM = 32, 48


@pytest.fixture
def base(argus_home: Path) -> tuple[Settings, Catalog]:
    settings = Settings(index_ann_min_vectors=THRESHOLD, index_hnsw_m=16, index_hnsw_ef_search=32)
    catalog = Catalog(settings.catalog_path, settings.home)
    yield settings, catalog
    catalog.close()


def clustered(n: int, dim: int, seed: int, clusters: int = 20) -> np.ndarray:
    """Unit vectors around a few centres: neighbours are close, as with real embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    vectors = centres[rng.integers(0, clusters, n)] + 0.5 * rng.standard_normal((n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def document(tag: str, n: int, seed: int) -> SourceRecord:
    source = Source(content_hash=tag * 64, path=f"/data/{tag}.txt", name=f"{tag}.txt", type=SourceType.document,
                    mime="text/plain", language="en", size_bytes=n)
    chunks = [Chunk(ordinal=i, text=f"{tag} chunk {i}") for i in range(n)]
    return SourceRecord(source=source, chunks=chunks, text_vectors={"chunk": list(clustered(n, TEXT_DIM, seed))})


def video(tag: str, n: int, seed: int) -> SourceRecord:
    source = Source(content_hash=tag * 64, path=f"/data/{tag}.mp4", name=f"{tag}.mp4", type=SourceType.video,
                    mime="video/mp4", language="en", duration_s=float(n), size_bytes=n)
    keyframes = [Keyframe(t=float(i), path=f"media/{tag}/kf_{i:04d}.jpg") for i in range(n)]
    return SourceRecord(source=source, keyframes=keyframes, image_vectors=list(clustered(n, IMAGE_DIM, seed)))


def publish_all(settings: Settings, catalog: Catalog, *records: SourceRecord) -> tuple[IndexWriter, list[int]]:
    writer = IndexWriter(settings, catalog)
    source_ids = [catalog.add_source(record) for record in records]
    writer.sync()
    writer.publish()
    return writer, source_ids


def manifest(settings: Settings) -> dict:
    return json.loads((settings.index_dir / current_version(settings) / "manifest.json").read_text())


def recall_at_10(settings: Settings, queries: np.ndarray, which: str = "dense") -> float:
    approximate = getattr(open_indexes(settings), which)
    exact = getattr(open_indexes(settings.model_copy(update={"index_exact_search": True})), which)
    assert (approximate.search_type, exact.search_type) == ("hnsw", "flat")
    found = 0
    for query in queries:
        truth = {h[:2] for h in exact.search(query, 10)}
        found += len(truth & {h[:2] for h in approximate.search(query, 10)})
    return found / (10 * len(queries))


def test_small_indexes_stay_flat(base) -> None:
    settings, catalog = base
    publish_all(settings, catalog, document("a", 100, seed=1))
    info = manifest(settings)
    assert info["search"] == {"dense": "flat"}
    assert not list((settings.index_dir / info["version"]).glob("*.hnsw.faiss"))
    assert open_indexes(settings).dense.search_type == "flat"


def test_large_indexes_are_searched_with_hnsw_and_keep_their_ids(base) -> None:
    settings, catalog = base
    _, (_, doc_b, film) = publish_all(settings, catalog, document("a", 400, seed=1), document("b", 400, seed=2),
                                          video("v", 600, seed=3))
    info = manifest(settings)
    assert info["search"] == {"dense": "hnsw", "image": "hnsw"}
    assert info["counts"]["dense"] == 800 and info["hnsw"] == {"m": 16, "ef_construction": 80}
    assert (settings.index_dir / info["version"] / "dense.hnsw.faiss").exists()

    ix = open_indexes(settings)
    assert len(ix.dense) == 800 and len(ix.image) == 600
    # A stored vector finds itself, by the same (kind, row id) the exact index gives.
    chunk_ids = [c.id for c in catalog.chunks(doc_b)]
    stored = clustered(400, TEXT_DIM, seed=2)
    for i in (0, 123, 399):
        top = ix.dense.search(stored[i], 3)[0]
        assert (top.kind, top.row_id) == ("chunk", chunk_ids[i]) and top.score == pytest.approx(1.0, abs=1e-4)
    keyframe_ids = [k.id for k in catalog.keyframes(film)]
    assert ix.image.search(clustered(600, IMAGE_DIM, seed=3)[7], 1)[0][:2] == ("keyframe", keyframe_ids[7])
    # k above efSearch still returns k hits.
    assert len(ix.dense.search(stored[0], 100)) == 100

    assert recall_at_10(settings, clustered(50, TEXT_DIM, seed=9)) >= 0.95
    assert recall_at_10(settings, clustered(50, IMAGE_DIM, seed=8), "image") >= 0.95


def test_removal_rebuilds_and_additions_extend_the_hnsw_index(base) -> None:
    settings, catalog = base
    writer, (doc_a, doc_b) = publish_all(settings, catalog, document("a", 200, seed=1), document("b", 600, seed=2))

    catalog.remove_source(doc_a)
    writer.sync()
    writer.publish()
    info = manifest(settings)
    assert info["search"] == {"dense": "hnsw"} and info["counts"]["dense"] == 600
    ix = open_indexes(settings)
    assert len(ix.dense) == 600
    b_chunks = {c.id for c in catalog.chunks(doc_b)}
    for query in clustered(20, TEXT_DIM, seed=1):  # doc a's own vectors now find only doc b
        assert {h.row_id for h in ix.dense.search(query, 10)} <= b_chunks

    doc_c = catalog.add_source(document("c", 200, seed=4))
    writer.sync()
    writer.publish()
    ix = open_indexes(settings)
    assert len(ix.dense) == 800
    c_chunks = [c.id for c in catalog.chunks(doc_c)]
    assert ix.dense.search(clustered(200, TEXT_DIM, seed=4)[5], 1)[0].row_id == c_chunks[5]
    assert recall_at_10(settings, clustered(50, TEXT_DIM, seed=9)) >= 0.95

    # A version whose vectors did not change shares the previous HNSW file.
    before = settings.index_dir / current_version(settings) / "dense.hnsw.faiss"
    writer.dirty = True
    writer.publish()
    after = settings.index_dir / current_version(settings) / "dense.hnsw.faiss"
    assert after != before and after.stat().st_ino == before.stat().st_ino

    # Below the threshold again: back to flat.
    catalog.remove_source(doc_b)
    writer.sync()
    writer.publish()
    assert manifest(settings)["search"] == {"dense": "flat"}
    assert open_indexes(settings).dense.search_type == "flat"


def test_reindex_writes_hnsw(base) -> None:
    settings, catalog = base
    catalog.add_source(document("a", 600, seed=1))
    counts = reindex(settings=settings)
    assert counts["dense"] == 600 and manifest(settings)["search"] == {"dense": "hnsw"}


def test_a_failed_hnsw_write_leaves_the_live_version_whole(base, monkeypatch) -> None:
    settings, catalog = base
    writer, _ = publish_all(settings, catalog, document("a", 100, seed=1))
    live = current_version(settings)
    catalog.add_source(document("b", 600, seed=2))
    writer.sync()

    real_write = faiss.write_index

    def fail_on_hnsw(index, path: str) -> None:
        if path.endswith(".hnsw.faiss"):
            raise OSError("disk full")
        real_write(index, path)

    monkeypatch.setattr(index_writer_module.faiss, "write_index", fail_on_hnsw)
    with pytest.raises(OSError):
        writer.publish()
    assert (settings.index_dir / CURRENT).read_text().strip() == live
    ix = open_indexes(settings)
    assert ix.version == live and len(ix.dense) == 100 and ix.dense.search_type == "flat"

    monkeypatch.setattr(index_writer_module.faiss, "write_index", real_write)
    writer.publish()
    assert manifest(settings)["search"] == {"dense": "hnsw"}
    assert not list(settings.index_dir.glob(".tmp-*"))  # the half-written folder was swept


def test_readers_see_whole_versions_while_hnsw_versions_are_published(base) -> None:
    settings, catalog = base
    writer, _ = publish_all(settings, catalog, document("a", 300, seed=1))
    seen: list[tuple[int, str, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                ix = open_indexes(settings)
                seen.append((len(ix.dense), ix.dense.search_type, len(ix.dense.search(np.ones(TEXT_DIM), 5))))
                ix.close()
            except BaseException as exc:  # noqa: BLE001 - any failure of a reader fails the test
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i, n in enumerate((300, 200, 250)):
            catalog.add_source(document("bcd"[i], n, seed=10 + i))
            writer.sync()
            writer.publish()
    finally:
        stop.set()
        reader.join()
    assert not errors
    whole = {(300, "flat"), (600, "hnsw"), (800, "hnsw"), (1050, "hnsw")}
    assert seen and {(n, kind) for n, kind, _ in seen} <= whole
    assert all(found == 5 for _, _, found in seen)
