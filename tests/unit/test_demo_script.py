"""The demo corpus as data: scripts, queries, timeline arithmetic, slides and documents.

Fast: no speech synthesis, no video encoding.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from pipelines.demo import corpus
from pipelines.demo.assets import load_photo
from pipelines.demo.doc_texts import DOCUMENTS
from pipelines.demo.documents import write_document
from pipelines.demo.manifest import DemoManifest, DocumentEntry, NarrationSpan, SceneEntry, VideoEntry
from pipelines.demo.queries import KINDS, QUERIES, resolve_queries
from pipelines.demo.scripts import JFK, VIDEOS
from pipelines.demo.speech import SAMPLE_RATE
from pipelines.demo.timeline import GAP, LEAD_IN, mix_track, plan_scenes

pytestmark = pytest.mark.unit

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_videos_cover_distinct_topics_with_narration_slides_and_photos():
    assert len(VIDEOS) >= 6
    assert len({v.video_id for v in VIDEOS}) == len(VIDEOS)
    assert len({v.topic for v in VIDEOS}) == len(VIDEOS)
    photos = [s.photo for v in VIDEOS for s in v.scenes if s.photo]
    assert len(photos) == len(set(photos)), "a photo shown in two videos makes visual queries ambiguous"
    for video in VIDEOS:
        kinds = {s.kind for s in video.scenes}
        assert {"title", "slide", "photo"} <= kinds, video.video_id
        assert all(s.narration for s in video.scenes), f"{video.video_id}: a scene without narration"
        assert len({s.key for s in video.scenes}) == len(video.scenes)
        for scene in video.scenes:
            if scene.kind == "photo":
                assert scene.objects, f"{video.video_id}/{scene.key}: say what the photo shows"
    assert any(v.lang == "zh" for v in VIDEOS)
    assert any(s.min_duration >= 20 for v in VIDEOS for s in v.scenes), "no long static shot"


@pytest.mark.parametrize("name", sorted({s.photo for v in VIDEOS for s in v.scenes if s.photo}))
def test_photos_are_bundled_with_scikit_image(name):
    image = load_photo(name)
    assert image.mode == "RGB" and min(image.size) >= 256


def _fake_entries(skip: set[str] = frozenset()) -> tuple[dict, dict]:
    """Manifest entries with made-up times, enough to resolve the queries."""
    videos = {}
    for v in VIDEOS:
        if v.video_id in skip:
            continue
        scenes = [
            SceneEntry(
                index=i,
                key=s.key,
                t0=10.0 * i,
                t1=10.0 * i + 9,
                kind=s.kind,
                on_screen_text=[s.heading],
                narration=[
                    NarrationSpan(line.text, 10.0 * i + 1 + j, 10.0 * i + 1.5 + j, v.lang, "x")
                    for j, line in enumerate(s.narration)
                ],
            )
            for i, s in enumerate(v.scenes)
        ]
        videos[v.video_id] = VideoEntry(
            file=f"videos/{v.file_name}",
            video_id=v.video_id,
            title=v.title,
            topic=v.topic,
            lang=v.lang,
            duration=10.0 * len(scenes),
            fps=10,
            width=640,
            height=360,
            video_codec="libx264",
            audio_codec="aac",
            sample_rate=SAMPLE_RATE,
            cuts=[s.t0 for s in scenes[1:]],
            scenes=scenes,
            fingerprint="f",
            sha256="s",
        )
    documents = {
        d.doc_id: DocumentEntry(
            file=f"documents/{d.file_name}",
            doc_id=d.doc_id,
            title=d.title,
            topic=d.topic,
            format=d.format,
            langs=d.langs,
            pages=len(d.sections) if d.format == "pdf" else None,
            fingerprint="f",
            sha256="s",
        )
        for d in DOCUMENTS
    }
    return videos, documents


def test_every_query_points_at_an_existing_scene_sentence_or_page():
    scripts = {v.video_id: v for v in VIDEOS}
    docs = {d.doc_id: d for d in DOCUMENTS}
    for q in QUERIES:
        assert q.kind in KINDS and q.lang in ("en", "zh")
        if q.kind == "document":
            assert q.source in docs, q
            if q.page is not None:
                assert docs[q.source].format == "pdf" and 1 <= q.page <= len(docs[q.source].sections)
                assert docs[q.source].sections[q.page - 1].lang == q.lang, "page language differs from query"
            continue
        scene = scripts[q.source].scene(q.scene)
        if q.kind == "speech":
            assert q.line is not None and 0 <= q.line < len(scene.narration), q
        if q.kind == "visual_object":
            assert scene.kind == "photo", q
        if q.kind == "on_screen_text":
            assert scene.kind != "photo", q
    assert len({q.query for q in QUERIES}) == len(QUERIES), "duplicate query"


@pytest.mark.parametrize("skip", [set(), {JFK.video_id}])
def test_query_file_has_40_plus_queries_of_every_kind_in_both_languages(skip):
    # Also without the video that needs the shared recordings.
    rows = resolve_queries(*_fake_entries(skip))
    assert len(rows) >= 40
    assert set(Counter(r["kind"] for r in rows)) == set(KINDS)
    langs = Counter(r["lang"] for r in rows)
    assert langs["en"] >= 10 and langs["zh"] >= 10
    for row in rows:
        assert set(row) <= {"query", "lang", "source", "kind", "t0", "t1", "page"}
        assert ("t0" in row) == ("t1" in row)
        if "t0" in row:
            assert row["t0"] < row["t1"]
        if row["lang"] == "zh":
            assert CJK.search(row["query"])
    # The video's queries are there exactly when the video is.
    assert (JFK.file_name in {r["source"] for r in rows}) == (JFK.video_id not in skip)


def test_speech_queries_get_their_sentence_span_and_others_the_scene_span():
    videos, documents = _fake_entries()
    rows = resolve_queries(videos, documents)
    coffee = videos["coffee_brewing"]
    ratio = next(s for s in coffee.scenes if s.key == "ratio")
    speech = next(r for r in rows if r["kind"] == "speech" and r["source"] == "coffee_brewing.mp4")
    assert (speech["t0"], speech["t1"]) == (ratio.narration[0].t0, ratio.narration[0].t1)
    visual = next(r for r in rows if r["query"] == "a cup of coffee on a saucer")
    cup = next(s for s in coffee.scenes if s.key == "cup")
    assert (visual["t0"], visual["t1"]) == (cup.t0, cup.t1)
    page = next(r for r in rows if r.get("page") == 5)
    assert page["source"] == "honeybee_field_guide.pdf"


def test_timeline_puts_cuts_on_frames_and_sentences_inside_their_scene():
    fps = 10
    clips = [
        [np.ones(int(1.23 * SAMPLE_RATE), np.float32)],
        [np.ones(SAMPLE_RATE, np.float32), np.ones(2 * SAMPLE_RATE, np.float32)],
        [np.ones(SAMPLE_RATE // 2, np.float32)],
    ]
    plans = plan_scenes(clips, [0.0, 0.0, 20.0], fps)
    assert [p.start_frame for p in plans] == [0, plans[0].frames, plans[0].frames + plans[1].frames]
    assert plans[2].frames == 200, "minimum duration not honoured"
    for plan in plans:
        assert plan.sentence_starts[0] == round((plan.t0(fps) + LEAD_IN) * SAMPLE_RATE)
        end = plan.sentence_starts[-1] + plan.sentence_lengths[-1]
        assert end < plan.t1(fps) * SAMPLE_RATE
    second = plans[1]
    assert second.sentence_starts[1] - (second.sentence_starts[0] + SAMPLE_RATE) == round(GAP * SAMPLE_RATE)
    track = mix_track(plans, clips, fps)
    assert len(track) == round(plans[-1].t1(fps) * SAMPLE_RATE)
    assert track.sum() == pytest.approx(sum(len(c) for scene in clips for c in scene))


@pytest.mark.parametrize("video", VIDEOS, ids=lambda v: v.video_id)
def test_every_scene_renders_and_every_cut_is_a_big_change(video):
    stills = corpus._render_scenes(video)  # raises when a cut is too small or a slide overflows
    assert len(stills) == len(video.scenes)
    assert all(s.shape == (360, 640, 3) and s.dtype == np.uint8 for s in stills)


def test_missing_shared_recording_skips_only_that_video(tmp_path, monkeypatch):
    monkeypatch.setenv("ARGUS_SHARED_DATA", str(tmp_path / "nowhere"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = corpus._video(JFK, tmp_path, {})
    assert isinstance(result, str) and "jfk.flac" in result and "ARGUS_SHARED_DATA" in result
    assert any(issubclass(w.category, corpus.DemoCorpusWarning) for w in caught)
    assert not any(tmp_path.iterdir())


def test_documents_write_in_every_format_with_a_pdf_page_per_section(tmp_path):
    assert {d.format for d in DOCUMENTS} >= {"pdf", "markdown", "html", "text"}
    assert any("zh" in d.langs for d in DOCUMENTS)
    for doc in DOCUMENTS:
        path = tmp_path / doc.file_name
        pages = write_document(doc, path)
        if doc.format == "pdf":
            reader = PdfReader(path)
            assert pages == len(reader.pages) == len(doc.sections)
            for page, section in zip(reader.pages, doc.sections, strict=True):
                assert section.heading in page.extract_text()
        else:
            text = path.read_text(encoding="utf-8")
            assert doc.title in text and all(s.heading in text for s in doc.sections)


def test_manifest_round_trips_through_json():
    videos, documents = _fake_entries()
    manifest = DemoManifest(
        "1", list(videos.values()), list(documents.values()), "queries.jsonl", {"total": 1}
    )
    assert DemoManifest.from_dict(json.loads(manifest.to_json())) == manifest


def test_shared_data_dir_defaults_next_to_the_repository(monkeypatch):
    from pipelines.demo.assets import REPO_ROOT, shared_data_dir

    monkeypatch.delenv("ARGUS_SHARED_DATA", raising=False)
    assert shared_data_dir() == REPO_ROOT.parent / "shared" / "data"
    monkeypatch.setenv("ARGUS_SHARED_DATA", "/somewhere/else")
    assert shared_data_dir() == Path("/somewhere/else")
