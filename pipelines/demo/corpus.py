"""Building the demo corpus: videos, documents, labelled queries and the manifest.

Idempotent: an item whose inputs are unchanged (same script, generator version and tool
versions) and whose file still has the recorded hash is kept as it is; anything else is
rebuilt into a temporary file and renamed into place, so an interrupted run never leaves
a half-written file under its final name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import av
import fpdf
import numpy as np
from tqdm import tqdm

from pipelines.demo.assets import espeak_version, shared_data_dir, shared_recording
from pipelines.demo.doc_texts import DOCUMENTS, DocumentText
from pipelines.demo.documents import write_document
from pipelines.demo.manifest import (
    DOCUMENTS_DIR,
    MANIFEST_NAME,
    QUERIES_NAME,
    VIDEOS_DIR,
    DemoManifest,
    DocumentEntry,
    NarrationSpan,
    SceneEntry,
    VideoEntry,
)
from pipelines.demo.queries import resolve_queries
from pipelines.demo.scripts import VIDEOS, VideoScript
from pipelines.demo.slides import (
    HEIGHT,
    THEMES,
    WIDTH,
    bullet_slide,
    frame_difference,
    photo_frame,
    title_slide,
)
from pipelines.demo.speech import SAMPLE_RATE, load_recording, synthesize
from pipelines.demo.timeline import mix_track, plan_scenes
from pipelines.demo.video import video_codec, write_mp4

log = logging.getLogger(__name__)

GENERATOR_VERSION = "1"
FPS = 10
# Every cut must change the picture at least this much (mean absolute grayscale
# difference, 0-255), so that a frame-difference detector cannot miss it.
MIN_CUT_DIFFERENCE = 25.0


class DemoCorpusWarning(UserWarning):
    """An optional part of the demo corpus was left out (its input is missing)."""


def build_demo_corpus(out_dir: Path, *, progress: bool = True) -> DemoManifest:
    """Build (or bring up to date) the demo corpus in `out_dir` and return its manifest,
    which is also written to `out_dir/manifest.json`."""
    out_dir = Path(out_dir)
    (out_dir / VIDEOS_DIR).mkdir(parents=True, exist_ok=True)
    (out_dir / DOCUMENTS_DIR).mkdir(parents=True, exist_ok=True)
    previous = _previous_entries(out_dir)

    videos: list[VideoEntry] = []
    documents: list[DocumentEntry] = []
    skipped: list[str] = []
    items: list[VideoScript | DocumentText] = [*VIDEOS, *DOCUMENTS]
    with tqdm(items, desc="demo corpus", unit="item", disable=not progress) as bar:
        for item in bar:
            bar.set_postfix_str(item.file_name)
            if isinstance(item, VideoScript):
                built = _video(item, out_dir, previous)
                if isinstance(built, str):
                    skipped.append(built)
                else:
                    videos.append(built)
            else:
                documents.append(_document(item, out_dir, previous))

    rows = resolve_queries({v.video_id: v for v in videos}, {d.doc_id: d for d in documents})
    _write_atomic(out_dir / QUERIES_NAME, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    counts = Counter(f"kind:{r['kind']}" for r in rows) + Counter(f"lang:{r['lang']}" for r in rows)
    manifest = DemoManifest(
        generator_version=GENERATOR_VERSION,
        videos=videos,
        documents=documents,
        queries_file=QUERIES_NAME,
        query_counts={"total": len(rows), **dict(sorted(counts.items()))},
        skipped=skipped,
    )
    # Files an earlier run made that this run did not (a source now skipped) would
    # contradict the manifest: remove them.
    current = {v.file for v in videos} | {d.file for d in documents}
    for stale in sorted(set(previous) - current):
        (out_dir / stale).unlink(missing_ok=True)
    _write_atomic(out_dir / MANIFEST_NAME, manifest.to_json())
    return manifest


# --- videos -------------------------------------------------------------------------


def _video(script: VideoScript, out_dir: Path, previous: dict) -> VideoEntry | str:
    """The video's manifest entry, or a reason string when it has to be skipped."""
    recordings: dict[str, Path] = {}
    for name in script.recordings:
        path = shared_recording(name)
        if path is None:
            reason = (
                f"{script.file_name}: skipped, the real speech recording {name} is not in "
                f"{shared_data_dir() / 'audio'} (set ARGUS_SHARED_DATA to the shared data folder)"
            )
            warnings.warn(reason, DemoCorpusWarning, stacklevel=3)
            log.warning(reason)
            return reason
        recordings[name] = path

    rel = f"{VIDEOS_DIR}/{script.file_name}"
    target = out_dir / rel
    fingerprint = _fingerprint(
        asdict(script),
        fps=FPS,
        size=[WIDTH, HEIGHT],
        espeak=espeak_version(),
        ffmpeg=av.library_versions["libavcodec"],
        codec=video_codec(),
        recordings={name: _sha256(path) for name, path in recordings.items()},
    )
    old = previous.get(rel)
    if isinstance(old, VideoEntry) and old.fingerprint == fingerprint and _unchanged(target, old.sha256):
        return old

    clips = [
        [
            load_recording(recordings[line.recording])
            if line.recording
            else synthesize(line.text, script.voice, script.rate, script.pitch)
            for line in scene.narration
        ]
        for scene in script.scenes
    ]
    plans = plan_scenes(clips, [s.min_duration for s in script.scenes], FPS)
    track = mix_track(plans, clips, FPS)
    stills = _render_scenes(script)

    partial = target.with_name(f".{target.name}.partial")
    try:
        vcodec, acodec = write_mp4(
            partial, [(f, p.frames) for f, p in zip(stills, plans, strict=True)], track, FPS
        )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)

    scenes = []
    for index, (scene, plan) in enumerate(zip(script.scenes, plans, strict=True)):
        voice = f"espeak-ng:{script.voice}"
        spans = [
            NarrationSpan(
                text=line.text,
                t0=round(start / SAMPLE_RATE, 3),
                t1=round((start + length) / SAMPLE_RATE, 3),
                lang=script.lang,
                voice=f"recording:{line.recording}" if line.recording else voice,
            )
            for line, start, length in zip(
                scene.narration, plan.sentence_starts, plan.sentence_lengths, strict=True
            )
        ]
        scenes.append(
            SceneEntry(
                index=index,
                key=scene.key,
                t0=round(plan.t0(FPS), 3),
                t1=round(plan.t1(FPS), 3),
                kind=scene.kind,
                on_screen_text=[scene.heading, *scene.body],
                photo=scene.photo,
                objects=list(scene.objects),
                narration=spans,
            )
        )
    return VideoEntry(
        file=rel,
        video_id=script.video_id,
        title=script.title,
        topic=script.topic,
        lang=script.lang,
        duration=round(plans[-1].t1(FPS), 3),
        fps=FPS,
        width=WIDTH,
        height=HEIGHT,
        video_codec=vcodec,
        audio_codec=acodec,
        sample_rate=SAMPLE_RATE,
        cuts=[s.t0 for s in scenes[1:]],
        scenes=scenes,
        fingerprint=fingerprint,
        sha256=_sha256(target),
    )


def _render_scenes(script: VideoScript) -> list[np.ndarray]:
    """One still per scene. A slide takes whichever theme differs most from the shot
    before it, so every cut is a large, detectable change."""
    stills: list[np.ndarray] = []
    for scene in script.scenes:
        if scene.kind == "photo":
            assert scene.photo is not None
            still = photo_frame(scene.photo, scene.heading, script.lang)
        else:
            render = title_slide if scene.kind == "title" else bullet_slide
            options = [render(scene.heading, scene.body, script.lang, theme) for theme in THEMES]
            still = options[0] if not stills else max(options, key=lambda o: frame_difference(stills[-1], o))
        stills.append(still)
    for i in range(1, len(stills)):
        change = frame_difference(stills[i - 1], stills[i])
        if change < MIN_CUT_DIFFERENCE:
            raise ValueError(
                f"{script.video_id}: the cut into scene {script.scenes[i].key!r} changes the picture by only "
                f"{change:.1f} grey levels; make the two shots more different"
            )
    return stills


# --- documents ----------------------------------------------------------------------


def _document(doc: DocumentText, out_dir: Path, previous: dict) -> DocumentEntry:
    rel = f"{DOCUMENTS_DIR}/{doc.file_name}"
    target = out_dir / rel
    fingerprint = _fingerprint(asdict(doc), fpdf=fpdf.__version__)
    old = previous.get(rel)
    if isinstance(old, DocumentEntry) and old.fingerprint == fingerprint and _unchanged(target, old.sha256):
        return old
    partial = target.with_name(f".{target.name}.partial")
    try:
        pages = write_document(doc, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return DocumentEntry(
        file=rel,
        doc_id=doc.doc_id,
        title=doc.title,
        topic=doc.topic,
        format=doc.format,
        langs=doc.langs,
        pages=pages,
        fingerprint=fingerprint,
        sha256=_sha256(target),
    )


# --- helpers --------------------------------------------------------------------------


def _previous_entries(out_dir: Path) -> dict[str, VideoEntry | DocumentEntry]:
    """The entries of an earlier build in `out_dir`, by file; empty if there is none or
    it cannot be read (everything is then rebuilt)."""
    path = out_dir / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        manifest = DemoManifest.load(path)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable %s (%s); rebuilding everything", path, exc)
        return {}
    return {e.file: e for e in [*manifest.videos, *manifest.documents]}


def _fingerprint(spec: dict, **inputs: object) -> str:
    payload = json.dumps(
        {"generator": GENERATOR_VERSION, "spec": spec, **inputs}, sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unchanged(path: Path, sha256: str) -> bool:
    return path.is_file() and _sha256(path) == sha256


def _write_atomic(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
