"""The catalog's records and their rows: what ingestion writes (`SourceRecord`), what the jobs
table and the indexes read (`Job`, `IndexedRow`), and the conversions between SQLite rows,
vector blobs and the shared types of `core.types`.

Kept apart from the catalog's queries (`pipelines.store.catalog`), which use these to turn a
statement's rows into objects and back.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

import numpy as np

from core.types import Caption, Chunk, Keyframe, Segment, Source, SourceType
from pipelines.store.catalog_schema import JobStatus, Kind


@dataclass
class SourceRecord:
    """Everything derived from one file, written to the catalog in one transaction.

    Vectors are float32 and L2-normalised. `text_vectors[kind][i]` belongs to the i-th
    row of that kind (None where the row has no text, e.g. a keyframe with no detections).
    `thumbnails[i]` holds the JPEG bytes of `keyframes[i]`; the driver writes them under
    `media_dir` and sets each keyframe's `path` before `add_source`.
    """

    source: Source
    segments: list[Segment] = field(default_factory=list)
    keyframes: list[Keyframe] = field(default_factory=list)
    keyframe_evidence: list[dict] = field(default_factory=list)  # per keyframe, as in pipelines/ingest/visual.py
    captions: list[Caption] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    text_vectors: dict[str, list[np.ndarray | None]] = field(default_factory=dict)
    image_vectors: list[np.ndarray | None] = field(default_factory=list)
    clip_vectors: list[np.ndarray | None] = field(default_factory=list)
    thumbnails: list[bytes] = field(default_factory=list)


@dataclass
class Job:
    id: int
    path: str
    content_hash: str | None
    status: JobStatus
    stage: str
    progress: float
    error: str | None
    source_id: int | None
    run_id: str | None
    created_at: float
    updated_at: float


@dataclass
class IndexedRow:
    """One row as the indexes see it: its text and vectors."""

    kind: Kind
    row_id: int
    source_id: int
    text: str
    embedding: np.ndarray | None
    image_embedding: np.ndarray | None = None
    clip_embedding: np.ndarray | None = None
    evidence: dict | None = None  # keyframes: the class evidence, or one rebuilt from its tags and objects


def _blob(vector: np.ndarray | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def _vector(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32)


def chunk_index_text(chunk_text: str, heading: str | None) -> str:
    """The text the indexes see for a chunk: its heading path gives it context."""
    return f"{heading}\n{chunk_text}" if heading else chunk_text


def _at(items: list | None, i: int):
    return items[i] if items is not None and i < len(items) else None


def _evidence(stored: str, keyframe: Keyframe) -> dict:
    """The stored class evidence; for a keyframe ingested before it was kept, its thresholded
    tags (by label) and objects, which give a coarser class-space vector."""
    evidence = json.loads(stored or "{}")
    if evidence:
        return evidence
    return {"v": 0, "tag_labels": [[t.label, t.score] for t in keyframe.tags],
            "objects": [[o.label, o.score, max(0.0, o.box[2] - o.box[0]) * max(0.0, o.box[3] - o.box[1])]
                        for o in keyframe.objects]}


def _source(r: sqlite3.Row) -> Source:
    return Source(id=r["id"], content_hash=r["content_hash"], path=r["path"], name=r["name"], type=SourceType(r["type"]),
                  mime=r["mime"], language=r["language"], duration_s=r["duration_s"], pages=r["pages"],
                  size_bytes=r["size_bytes"])


def _segment(r: sqlite3.Row) -> Segment:
    return Segment(id=r["id"], source_id=r["source_id"], t0=r["t0"], t1=r["t1"], text=r["text"], language=r["language"])


def _caption(r: sqlite3.Row) -> Caption:
    return Caption(id=r["id"], source_id=r["source_id"], text=r["text"], model=r["model"], composed=bool(r["composed"]))


def _chunk(r: sqlite3.Row) -> Chunk:
    return Chunk(id=r["id"], source_id=r["source_id"], ordinal=r["ordinal"], text=r["text"], page=r["page"],
                 heading=r["heading"])

