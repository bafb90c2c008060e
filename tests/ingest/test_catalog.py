"""The SQLite catalog: schema migrations, one-transaction writes, reads, jobs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from core.types import Caption, Chunk, DetectedObject, Keyframe, Segment, Source, SourceType, Tag
from pipelines.store import catalog as catalog_module
from pipelines.store.catalog import MIGRATIONS, Catalog, CatalogError, SourceRecord

pytestmark = pytest.mark.unit


def unit(vector: list[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    return v / np.linalg.norm(v)


def video_record(content_hash: str = "a" * 64, name: str = "talk.mp4") -> SourceRecord:
    source = Source(content_hash=content_hash, path=f"/data/{name}", name=name, type=SourceType.video,
                    mime="video/mp4", language="en", duration_s=12.5, size_bytes=1234)
    keyframes = [
        Keyframe(t=0.0, path=f"media/{content_hash}/kf_0000.jpg",
                 objects=[DetectedObject(label="cup", score=0.9, box=(0.1, 0.1, 0.5, 0.5))],
                 tags=[Tag(label="espresso", score=0.7)], ocr="MENU"),
        Keyframe(t=6.0, path=f"media/{content_hash}/kf_0001.jpg"),
    ]
    return SourceRecord(
        source=source,
        segments=[Segment(t0=0.0, t1=4.0, text="hello there", language="en"),
                  Segment(t0=4.0, t1=9.0, text="the espresso machine", language="en")],
        keyframes=keyframes,
        captions=[Caption(text="A person makes coffee.", model="test-vlm")],
        text_vectors={"segment": [unit([1, 0, 0]), unit([0, 1, 0])], "caption": [unit([0, 0, 1])],
                      "keyframe": [unit([1, 1, 0]), None]},
        image_vectors=[unit([1, 2, 3, 4]), unit([4, 3, 2, 1])],
        clip_vectors=[None, None],
    )


def doc_record(content_hash: str = "b" * 64) -> SourceRecord:
    source = Source(content_hash=content_hash, path="/data/manual.pdf", name="manual.pdf", type=SourceType.document,
                    mime="application/pdf", language="en", pages=2, size_bytes=99)
    chunks = [Chunk(ordinal=0, text="Page one text.", page=1, heading="Intro"),
              Chunk(ordinal=1, text="Page two text.", page=2, heading="Intro > Details")]
    return SourceRecord(source=source, chunks=chunks, text_vectors={"chunk": [unit([1, 0, 0]), unit([0, 1, 1])]})


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    c = Catalog(tmp_path / "catalog.sqlite", tmp_path)
    yield c
    c.close()


def test_schema_is_migrated_once_and_in_wal_mode(tmp_path: Path) -> None:
    first = Catalog(tmp_path / "c.sqlite", tmp_path)
    assert first.schema_version == len(MIGRATIONS)
    first.close()
    again = Catalog(tmp_path / "c.sqlite", tmp_path)  # reopening applies nothing twice
    assert again.schema_version == len(MIGRATIONS)
    versions = again._query("SELECT version FROM schema_version")
    assert [r[0] for r in versions] == list(range(1, len(MIGRATIONS) + 1))
    assert again._query("PRAGMA journal_mode")[0][0] == "wal"
    again.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    Catalog(tmp_path / "c.sqlite", tmp_path).close()
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        db.execute("INSERT INTO schema_version VALUES (?)", (len(MIGRATIONS) + 1,))
    with pytest.raises(CatalogError, match="newer than this Argus"):
        Catalog(tmp_path / "c.sqlite", tmp_path)


def test_a_failing_migration_leaves_no_half_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Catalog(tmp_path / "c.sqlite", tmp_path).close()
    broken = [*MIGRATIONS, "CREATE TABLE extra (x INTEGER);\nINSERT INTO no_such_table VALUES (1);"]
    monkeypatch.setattr(catalog_module, "MIGRATIONS", broken)
    with pytest.raises(sqlite3.OperationalError):
        Catalog(tmp_path / "c.sqlite", tmp_path)
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "extra" not in tables
        assert db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == len(MIGRATIONS)


def test_add_source_writes_every_row_and_reads_back(catalog: Catalog, tmp_path: Path) -> None:
    job = catalog.create_job("/data/talk.mp4")
    source_id = catalog.add_source(video_record(), job_id=job)
    source = catalog.get_source(source_id)
    assert source is not None and source.name == "talk.mp4" and source.duration_s == 12.5
    assert catalog.counts(source_id) == {"segment": 2, "caption": 1, "keyframe": 2, "chunk": 0}
    assert [s.text for s in catalog.segments(source_id)] == ["hello there", "the espresso machine"]
    keyframes = catalog.keyframes(source_id)
    assert keyframes[0].path == str(tmp_path / "media" / ("a" * 64) / "kf_0000.jpg")  # absolute on read
    assert keyframes[0].objects[0].label == "cup" and keyframes[0].tags[0].label == "espresso"
    assert catalog.captions(source_id)[0].model == "test-vlm"
    finished = catalog.get_job(job)
    assert finished.status == "done" and finished.source_id == source_id and finished.progress == 1

    rows = {(r.kind, r.row_id): r for r in catalog.indexed_rows()}
    kf_rows = [r for r in rows.values() if r.kind == "keyframe"]
    assert kf_rows[0].text == 'objects: cup; tags: espresso; text: "MENU"'
    assert kf_rows[1].embedding is None and kf_rows[1].image_embedding is not None
    assert np.allclose(kf_rows[0].image_embedding, unit([1, 2, 3, 4]))


def test_add_source_is_one_transaction(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real_blob = catalog_module._blob

    def failing_blob(vector):
        calls["n"] += 1
        if calls["n"] == 4:  # fail in the middle: after segments, inside keyframes
            raise RuntimeError("disk on fire")
        return real_blob(vector)

    monkeypatch.setattr(catalog_module, "_blob", failing_blob)
    with pytest.raises(RuntimeError):
        catalog.add_source(video_record())
    for table in ("sources", "segments", "keyframes", "captions", "chunks"):
        assert catalog._query(f"SELECT COUNT(*) FROM {table}")[0][0] == 0, table


def test_content_hash_is_unique(catalog: Catalog) -> None:
    catalog.add_source(video_record())
    with pytest.raises(sqlite3.IntegrityError):
        catalog.add_source(video_record(name="copy.mp4"))
    assert len(catalog.list_sources()) == 1


def test_lookups(catalog: Catalog) -> None:
    video = catalog.add_source(video_record())
    doc = catalog.add_source(doc_record())
    assert [s.id for s in catalog.find_sources(str(doc))] == [doc]
    assert [s.id for s in catalog.find_sources("talk.mp4")] == [video]
    assert [s.id for s in catalog.find_sources("bbbbbbbb")] == [doc]
    assert catalog.find_sources("nothing") == []
    assert catalog.source_by_hash("a" * 64).id == video
    chunks = catalog.chunks(doc)
    assert [(c.page, c.heading) for c in chunks] == [(1, "Intro"), (2, "Intro > Details")]
    rows = catalog.get_rows("chunk", [chunks[1].id, chunks[0].id, 99999])
    assert set(rows) == {chunks[0].id, chunks[1].id}
    assert catalog.nearest_keyframe(video, 5.0).t == 6.0
    assert catalog.nearest_keyframe(doc, 5.0) is None


def test_remove_cascades_and_ids_are_never_reused(catalog: Catalog) -> None:
    first = catalog.add_source(video_record())
    old_segments = {s.id for s in catalog.segments(first)}
    catalog.remove_source(first)
    assert catalog.get_source(first) is None
    for table in ("segments", "keyframes", "captions"):
        assert catalog._query(f"SELECT COUNT(*) FROM {table}")[0][0] == 0
    second = catalog.add_source(video_record())
    assert second != first
    assert not old_segments & {s.id for s in catalog.segments(second)}


def test_jobs_are_taken_over_after_a_crash(catalog: Catalog) -> None:
    a = catalog.create_job("/data/a.mp4", run_id="dead-run")
    catalog.update_job(a, status="running", stage="transcribe", progress=0.5)
    b = catalog.create_job("/data/b.mp4", run_id="dead-run")
    unclaimed = catalog.create_job("/data/c.mp4")  # queued ahead of time, no run yet
    # A new run on /data/a.mp4 continues job a instead of adding a row.
    assert catalog.create_job("/data/a.mp4", run_id="new-run") == a
    job = catalog.get_job(a)
    assert (job.status, job.stage, job.run_id) == ("queued", "", "new-run")
    assert catalog.fail_abandoned_jobs("new-run", "interrupted") == 1
    assert catalog.get_job(b).status == "failed" and catalog.get_job(b).error == "interrupted"
    assert catalog.get_job(unclaimed).status == "queued"
    catalog.update_job(a, status="done")
    assert catalog.create_job("/data/a.mp4", run_id="later") != a  # finished jobs are history
    with pytest.raises(ValueError):
        catalog.update_job(a, colour="red")


def test_keyframe_evidence_is_stored_and_old_keyframes_get_it_from_their_tags(catalog: Catalog) -> None:
    record = video_record()
    record.keyframe_evidence = [{"v": 1, "views": [{"kind": "frame", "w": 1.0, "top": [[967, 0.7]]}],
                                 "objects": [["cup", 0.9, 0.16]]}]  # the second keyframe has none
    source_id = catalog.add_source(record)
    rows = [r for r in catalog.indexed_rows([source_id]) if r.kind == "keyframe"]
    assert rows[0].evidence == record.keyframe_evidence[0]
    # '{}' (a keyframe without evidence, or one ingested before migration 2): rebuilt from tags and objects
    assert rows[1].evidence == {"v": 0, "tag_labels": [], "objects": []}
    with catalog.transaction() as db:
        db.execute("UPDATE keyframes SET evidence='{}' WHERE id=?", (rows[0].row_id,))
    legacy = next(r for r in catalog.indexed_rows([source_id]) if r.kind == "keyframe")
    assert legacy.evidence["tag_labels"] == [["espresso", 0.7]]
    assert legacy.evidence["objects"][0][:2] == ["cup", 0.9]
    assert legacy.evidence["objects"][0][2] == pytest.approx(0.16, abs=1e-6)


def test_a_schema_1_base_is_migrated_and_keeps_its_keyframes(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # a base written before keyframe evidence existed
        db.executescript(MIGRATIONS[0])
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (1)")
        db.execute("INSERT INTO sources (content_hash, path, name, type, size_bytes, added_at) "
                   "VALUES ('h', '/v.mp4', 'v.mp4', 'video', 1, 0)")
        db.execute("INSERT INTO keyframes (source_id, t, path, tags) VALUES (1, 0, 'kf.jpg', ?)",
                   ('[{"label": "tabby", "score": 0.8}]',))
    catalog = Catalog(path, tmp_path)
    try:
        assert catalog.schema_version == len(MIGRATIONS)
        (row,) = [r for r in catalog.indexed_rows() if r.kind == "keyframe"]
        assert row.evidence["tag_labels"] == [["tabby", 0.8]]
    finally:
        catalog.close()
