"""One file -> one `SourceRecord`: the processing stages, in the order they run.

    video     probe -> decode audio -> transcribe -> keyframes -> visual (-> clip) -> caption -> embed
    audio     probe -> decode audio -> transcribe -> embed
    document  extract (+ OCR of image-only PDF pages) -> chunk -> embed

`process_file` is what a worker runs (in the driver, a worker process or a Ray task).
It reads the file and the models and returns everything derived from it, keyframe
JPEGs included as bytes; it never writes the catalog or the indexes, so the driver
stays the single writer and a task can run on any machine that sees the file.

Rules for awkward media, each a deliberate choice:
* a video without an audio stream is ingested from its keyframes alone;
* a file with an audio stream and no video is ingested as audio;
* neither stream, zero length, or truncated/corrupt data: the file fails (at probe);
* silence: a video keeps its keyframes with an empty transcript; an audio-only file
  with no speech fails ("no speech found"), because nothing in it could be found again.

Every failure is a `StageError(stage, reason)` with a one-line reason.

In a video, keyframes and visual analysis run in a thread alongside transcription: the
models there (OCR, detector, tagger) and Whisper each keep about one core busy, so on two
cores the file takes about as long as its transcription alone. Their stage events are
reported once transcription is done (the wait for the thread's result).
"""

from __future__ import annotations

import tempfile
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.settings import Settings, get_settings
from core.types import Caption, Keyframe, Segment, Source, SourceType
from models.registry import ModelUnavailable
from pipelines.ingest.documents import DocumentError, read_document
from pipelines.ingest.media import BadMediaError, decode_audio, probe
from pipelines.store.catalog import SourceRecord, chunk_index_text

Report = Callable[[str, float], None]  # (stage, fraction of that stage done)

EMBED_BATCH = 32


@dataclass(frozen=True)
class FileTask:
    """What a worker needs to process one file (picklable; no open handles)."""

    job_id: int
    path: str
    content_hash: str
    type: SourceType
    mime: str
    size_bytes: int


class StageError(Exception):
    """`reason` is the one line people see; `detail` the traceback of an unexpected error, for the log."""

    def __init__(self, stage: str, reason: str, detail: str = ""):
        super().__init__(stage, reason, detail)  # all in args, so the error pickles between processes
        self.stage = stage
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.stage}: {self.reason}"


class _Stages:
    """Tracks the running stage so that any failure is reported against it."""

    def __init__(self, report: Report):
        self._report = report
        self.current = "start"

    def enter(self, stage: str) -> None:
        self.current = stage
        self._report(stage, 0.0)

    def progress(self, fraction: float) -> None:
        self._report(self.current, min(max(fraction, 0.0), 1.0))


def process_file(task: FileTask, report: Report | None = None, settings: Settings | None = None) -> SourceRecord:
    """Run every stage for one file. Raises `StageError` naming the stage that failed."""
    settings = settings or get_settings()
    stages = _Stages(report or (lambda stage, fraction: None))
    try:
        if task.type is SourceType.document:
            return _document(task, stages, settings)
        return _media(task, stages, settings)
    except StageError:
        raise
    except Exception as exc:
        raise _stage_error(stages.current, exc) from exc


def _stage_error(stage: str, exc: Exception) -> StageError:
    reason = getattr(exc, "reason", None) or " ".join(str(exc).split())
    # Expected input problems carry their own wording; anything else names its type
    # and keeps its traceback for the log.
    if isinstance(exc, BadMediaError | DocumentError | ModelUnavailable):
        return StageError(stage, reason)
    detail = "".join(traceback.format_exception(exc))
    return StageError(stage, f"{type(exc).__name__}: {reason}".rstrip(": "), detail)


def _source(task: FileTask, **fields) -> Source:
    path = Path(task.path)
    return Source(**{"content_hash": task.content_hash, "path": str(path), "name": path.name, "mime": task.mime,
                     "size_bytes": task.size_bytes, **fields})


# -- documents --------------------------------------------------------------------------


def _document(task: FileTask, stages: _Stages, settings: Settings) -> SourceRecord:
    stages.enter("extract")
    doc = read_document(Path(task.path), chunk_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap_tokens,
                        ocr_threads=max(1, settings.threads), progress=stages.progress)
    stages.enter("embed")
    vectors = _embed([chunk_index_text(c.text, c.heading) for c in doc.chunks], stages)
    source = _source(task, type=SourceType.document, mime=doc.mime, language=doc.language, pages=doc.pages)
    return SourceRecord(source=source, chunks=doc.chunks, text_vectors={"chunk": vectors})


# -- video and audio --------------------------------------------------------------------


def _media(task: FileTask, stages: _Stages, settings: Settings) -> SourceRecord:
    from pipelines.ingest.transcribe import Transcript, transcribe

    stages.enter("probe")
    info = probe(task.path)
    if info.duration_s > settings.max_duration_s:
        raise StageError("probe", f"too long: {_hms(info.duration_s)} > max_duration_s {_hms(settings.max_duration_s)}")

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="argus-visual") as pool:
        # Started before transcription so that both run at once (see the module docstring).
        visual = pool.submit(_visual_in_thread, task, settings) if info.has_video else None
        try:
            transcript = Transcript(language=None, segments=[])
            if info.has_audio:
                stages.enter("decode audio")
                audio = decode_audio(task.path)
                stages.enter("transcribe")
                transcript = transcribe(audio, progress=stages.progress, settings=settings)
            if not info.has_video and not transcript.segments:
                raise StageError("transcribe", "no speech found: an audio-only file that is silent has nothing to index")
        except BaseException:
            if visual is not None:
                visual.cancel()
            raise

        keyframes: list[Keyframe] = []
        evidence: list[dict] = []
        image_vectors: list[np.ndarray | None] = []
        clip_vectors: list[np.ndarray | None] = []
        thumbnails: list[bytes] = []
        captions: list[Caption] = []
        if visual is not None:
            keyframes, evidence, image_vectors, clip_vectors, thumbnails = _visual_result(visual, stages)
            stages.enter("caption")
            caption = _caption(task, transcript, keyframes, settings)
            captions = [caption] if caption is not None else []

    stages.enter("embed")
    segments: list[Segment] = transcript.segments
    vectors = _embed([s.text for s in segments] + [c.text for c in captions]
                     + [k.searchable_text() for k in keyframes], stages)
    n_seg, n_cap = len(segments), len(captions)
    # A video container holding only sound (an .mp4 of a talk's audio) is an audio source.
    mime = task.mime if info.has_video else task.mime.replace("video/", "audio/", 1)
    source = _source(task, type=SourceType.video if info.has_video else SourceType.audio, mime=mime,
                     language=transcript.language, duration_s=info.duration_s)
    return SourceRecord(
        source=source,
        segments=segments,
        keyframes=keyframes,
        keyframe_evidence=evidence,
        captions=captions,
        text_vectors={"segment": vectors[:n_seg], "caption": vectors[n_seg : n_seg + n_cap],
                      "keyframe": vectors[n_seg + n_cap :]},
        image_vectors=image_vectors,
        clip_vectors=clip_vectors,
        thumbnails=thumbnails,
    )


def _keyframes(task: FileTask, folder: Path, stages: _Stages, settings: Settings):
    from pipelines.ingest.keyframes import select_keyframes
    from pipelines.ingest.visual import describe_keyframe_with_evidence, load_rgb

    stages.enter("keyframes")
    selected = select_keyframes(task.path, folder, settings=settings)
    stages.enter("visual")
    keyframes, evidence, image_vectors, thumbnails = [], [], [], []
    for i, frame in enumerate(selected):
        objects, tags, ocr, frame_evidence = describe_keyframe_with_evidence(frame.jpeg_path)
        # The path is set by the driver when it stores the thumbnail under ARGUS_HOME.
        keyframes.append(Keyframe(t=frame.t, path="", objects=objects, tags=tags, ocr=ocr))
        evidence.append(frame_evidence)
        image_vectors.append(np.asarray(frame.embedding, dtype=np.float32))
        thumbnails.append(Path(frame.jpeg_path).read_bytes())
        stages.progress((i + 1) / len(selected))
    clip_vectors: list[np.ndarray | None] = [None] * len(selected)
    if settings.clip_model and selected:  # the CLIP channel exists only with configured weights
        from models.clip import load_clip

        stages.enter("clip")
        matrix = load_clip(settings).embed_images([load_rgb(f.jpeg_path) for f in selected])
        clip_vectors = list(matrix)
    return keyframes, evidence, image_vectors, clip_vectors, thumbnails


def _visual_in_thread(task: FileTask, settings: Settings):
    """`_keyframes` in the visual thread; its stage events stay in that thread (the
    driver sees them after transcription, in `_visual_result`), and a failure is
    raised as a `StageError` naming the stage it happened in."""
    stages = _Stages(lambda stage, fraction: None)
    try:
        with tempfile.TemporaryDirectory(prefix="argus-keyframes-") as tmp:
            return _keyframes(task, Path(tmp), stages, settings)
    except StageError:
        raise
    except Exception as exc:
        raise _stage_error(stages.current, exc) from exc


def _visual_result(visual: Future, stages: _Stages):
    stages.enter("keyframes")
    stages.enter("visual")
    try:
        return visual.result()
    except StageError as exc:
        stages.current = exc.stage
        raise


def _caption(task: FileTask, transcript, keyframes: list[Keyframe], settings: Settings) -> Caption | None:
    """A VLM caption when one is configured; else, if asked, one composed by the chat LLM."""
    from pipelines.ingest.caption import caption_video

    chat = None
    if settings.compose_captions and not settings.captioner_model:
        from models.llm.client import get_chat_model

        chat = get_chat_model(settings)
    return caption_video(task.path, transcript, keyframes, chat=chat, settings=settings)


def _embed(texts: list[str], stages: _Stages) -> list[np.ndarray | None]:
    """Passage vectors for the non-empty texts (None for empty ones), in batches."""
    from models.text_embedding import embed_passages

    wanted = [i for i, t in enumerate(texts) if t.strip()]
    out: list[np.ndarray | None] = [None] * len(texts)
    for start in range(0, len(wanted), EMBED_BATCH):
        batch = wanted[start : start + EMBED_BATCH]
        matrix = np.asarray(embed_passages([texts[i] for i in batch]), dtype=np.float32)
        for i, row in zip(batch, matrix, strict=True):
            out[i] = row
        stages.progress(min(1.0, (start + len(batch)) / len(wanted)))
    return out


def _hms(seconds: float) -> str:
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}"
