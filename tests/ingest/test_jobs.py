"""The job runner on real documents and media: ingest, re-ingest, CLI verbs, parallel engines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from absent import require_module
from snapshot import assert_same_base, catalog_snapshot, index_sizes
from typer.testing import CliRunner

from core.settings import Settings, get_settings
from pipelines.ingest.jobs import ingest
from pipelines.store.catalog import open_catalog
from pipelines.store.indexes import open_indexes

pytestmark = pytest.mark.integration


def by_name(report) -> dict:
    return {f.name: f for f in report.files}


def test_documents_are_ingested_and_reingest_is_a_no_op(argus_home: Path, docs_dir: Path) -> None:
    report = ingest([docs_dir], progress=False)
    files = by_name(report)
    assert report.ok and {f.status for f in report.files} == {"done"} and len(files) == 5
    assert files["notes.pdf"].pages == 3 and files["notes.pdf"].chunks >= 3

    catalog = open_catalog()
    sources = {s.name: s for s in catalog.list_sources()}
    assert sources["咖啡.txt"].language == "zh" and sources["espresso.md"].language == "en"
    assert sources["garden.docx"].mime.endswith("wordprocessingml.document")
    total_chunks = sum(catalog.counts(s.id)["chunk"] for s in sources.values())
    sizes = index_sizes(argus_home)
    assert sizes == {"dense": total_chunks, "image": 0, "keyword": total_chunks, "sources": 5, "clip": 0}

    # The indexes answer with catalog rows.
    from models.text_embedding import embed_query

    ix = open_indexes()
    top = ix.dense.search(embed_query("How do I oil a bicycle chain?"), 1)[0]
    chunk = catalog.get_rows("chunk", [top.row_id])[top.row_id]
    assert top.kind == "chunk" and chunk.source_id == sources["bikes.html"].id and "degreaser" in chunk.text
    hit = ix.keyword.search("柠檬酸 除垢", 3)[0]
    assert catalog.get_rows("chunk", [hit.row_id])[hit.row_id].source_id == sources["咖啡.txt"].id
    version = ix.version
    ix.close()

    before = catalog_snapshot(argus_home)
    again = ingest([docs_dir], progress=False)
    assert {f.status for f in again.files} == {"skipped"}
    assert all(f.reason.startswith("already ingested") for f in again.files)
    assert catalog_snapshot(argus_home) == before
    assert again.index_version == version  # nothing to publish
    jobs = catalog.list_jobs()
    assert len(jobs) == 10 and {j.status for j in jobs} == {"done", "skipped"}
    catalog.close()


def test_cli_verbs(argus_home: Path, docs_dir: Path, tmp_path: Path) -> None:
    from app.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(docs_dir / "espresso.md"), str(docs_dir / "bikes.html")])
    assert result.exit_code == 0, result.output
    assert "2 ingested, 0 skipped, 0 failed" in result.output

    listed = json.loads(runner.invoke(app, ["sources", "--json"]).output)
    assert sorted(s["name"] for s in listed) == ["bikes.html", "espresso.md"]
    assert all(s["counts"]["chunk"] > 0 for s in listed)
    assert "2 sources" in runner.invoke(app, ["sources"]).output

    dense_before = index_sizes(argus_home)["dense"]
    removed = runner.invoke(app, ["remove", "espresso.md"])
    assert removed.exit_code == 0 and "removed" in removed.output
    sizes = index_sizes(argus_home)
    assert sizes["sources"] == 1 and sizes["dense"] < dense_before
    assert runner.invoke(app, ["remove", "espresso.md"]).exit_code == 1  # nothing matches any more

    reindexed = runner.invoke(app, ["reindex"])
    assert reindexed.exit_code == 0, reindexed.output
    assert index_sizes(argus_home) == sizes

    (tmp_path / "notes.xyz").write_text("not supported")
    failed = runner.invoke(app, ["ingest", str(tmp_path / "notes.xyz"), "--json"])
    assert failed.exit_code == 1
    assert json.loads(failed.output)["files"][0]["reason"] == "unsupported file type '.xyz'"


def test_video_keyframes_transcript_and_removal(argus_home: Path, talk_mp4: Path) -> None:
    from pipelines.ingest.maintenance import remove_source

    report = ingest([talk_mp4], progress=False)
    video = report.files[0]
    assert video.status == "done", video.reason
    assert video.type == "video" and video.duration_s == pytest.approx(11.0, abs=0.2)
    assert video.segments >= 1 and video.keyframes >= 2

    catalog = open_catalog()
    source = catalog.list_sources()[0]
    assert source.language == "en"
    assert "ask not what your country" in " ".join(s.text for s in catalog.segments(source.id)).lower()
    keyframes = catalog.keyframes(source.id)
    assert all(Path(k.path).is_file() and Path(k.path).read_bytes()[:2] == b"\xff\xd8" for k in keyframes)
    sizes = index_sizes(argus_home)
    assert sizes["image"] == len(keyframes) and sizes["dense"] >= 1
    ix = open_indexes()
    assert any(h.kind == "segment" for h in ix.keyword.search("fellow Americans", 5))
    ix.close()

    remove_source(source.content_hash[:12])
    assert catalog.list_sources() == [] and index_sizes(argus_home)["image"] == 0
    assert not (get_settings().media_dir / source.content_hash).exists()
    catalog.close()


def test_worker_processes_give_the_same_base(argus_home: Path, docs_dir: Path, tmp_path: Path) -> None:
    files = [docs_dir / "espresso.md", docs_dir / "咖啡.txt", docs_dir / "garden.docx"]
    parallel = ingest(files, workers=2, progress=False)
    assert {f.status for f in parallel.files} == {"done"}

    sequential_home = tmp_path / "sequential"
    ingest(files, workers=1, progress=False, settings=Settings(home=sequential_home))
    assert_same_base(argus_home, sequential_home)


def test_ray_engine_runs_the_same_stages(argus_home: Path, docs_dir: Path, short_talk_mp4: Path,
                                        tmp_path: Path) -> None:
    require_module("ray", "Ray is not installed (pip install -c constraints.txt ray)")
    docs = [docs_dir / "espresso.md", docs_dir / "bikes.html"]
    report = ingest([*docs, short_talk_mp4], engine="ray", workers=2, progress=False)
    files = by_name(report)
    assert {f.status for f in report.files} == {"done"}, [(f.name, f.reason) for f in report.files]
    assert files["short_talk.mp4"].segments >= 1 and files["short_talk.mp4"].keyframes >= 1

    # Documents come out exactly as from the local engine.
    local_home = tmp_path / "local"
    ingest(docs, progress=False, settings=Settings(home=local_home))
    ray_docs = {t: [r for r in rows if r[0] in {s[0] for s in catalog_snapshot(local_home)["sources"]}]
                for t, rows in catalog_snapshot(argus_home).items()}
    assert ray_docs == catalog_snapshot(local_home)
    shutil.rmtree(local_home)


def test_clip_channel_exists_only_with_configured_weights(argus_home: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from media_files import write_media
    from tiny_models import build_tiny_clip

    video = write_media(tmp_path / "slides.mp4", seconds=4)  # no sound: keyframes only
    # Plumbing only: a tiny random-weight CLIP built for the test (no CLIP weights ship here).
    monkeypatch.setenv("ARGUS_CLIP_MODEL", str(build_tiny_clip(tmp_path / "clip")))
    get_settings.cache_clear()
    report = ingest([video], progress=False)
    assert report.ok, report.files
    ix = open_indexes()
    assert ix.clip is not None and len(ix.clip) == report.files[0].keyframes == len(ix.image)
    hit = ix.clip.search(np.ones(ix.clip.dim, np.float32), 1)[0]
    source = open_catalog().list_sources()[0]
    assert hit.kind == "keyframe" and hit.row_id in {k.id for k in open_catalog().keyframes(source.id)}
