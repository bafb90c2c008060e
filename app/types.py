"""The data types that cross folders, defined once.

Ingestion produces `Source`, `Segment`, `Keyframe`, `Caption` and `Chunk` rows; retrieval
returns `Evidence`, each with the `Citation` that points at the exact video moment or
document page. They are pydantic models so that the catalog, the CLI, the REST API and
the agents all read and write the same shapes.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class SourceType(StrEnum):
    video = "video"
    audio = "audio"  # audio-only media: a transcript, no keyframes
    document = "document"


class Source(BaseModel):
    id: int | None = None
    content_hash: str  # sha256 of the file's bytes: the identity of a source
    path: str  # where it was ingested from
    name: str  # file name, shown in citations
    type: SourceType
    mime: str = ""
    language: str | None = None  # ISO 639-1, detected per source
    duration_s: float | None = None  # media only
    pages: int | None = None  # documents with pages
    size_bytes: int = 0


class Segment(BaseModel):
    """A timestamped stretch of transcript."""

    id: int | None = None
    source_id: int | None = None  # None until the catalog stores it
    t0: float
    t1: float
    text: str
    language: str | None = None


class DetectedObject(BaseModel):
    label: str  # COCO class name
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1, relative to the frame (0..1)


class Tag(BaseModel):
    label: str  # ImageNet class name
    score: float


class Keyframe(BaseModel):
    id: int | None = None
    source_id: int | None = None
    t: float  # seconds into the video
    path: str  # JPEG thumbnail under ARGUS_HOME/media
    objects: list[DetectedObject] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)
    ocr: str = ""

    def searchable_text(self) -> str:
        """`objects: person, cup ×2; tags: espresso; text: "..."` — what the text channels index."""
        counts: dict[str, int] = {}
        for obj in self.objects:
            counts[obj.label] = counts.get(obj.label, 0) + 1
        parts = []
        if counts:
            parts.append("objects: " + ", ".join(f"{k} ×{n}" if n > 1 else k for k, n in counts.items()))
        if self.tags:
            parts.append("tags: " + ", ".join(t.label for t in self.tags))
        if self.ocr.strip():
            parts.append(f'text: "{self.ocr.strip()}"')
        return "; ".join(parts)


class Caption(BaseModel):
    id: int | None = None
    source_id: int | None = None
    text: str
    model: str  # which model wrote it
    composed: bool = False  # True: composed by the chat LLM from transcript/tags/OCR, not seen by a VLM


class Chunk(BaseModel):
    """A piece of a document, sized in tokens, with its anchor."""

    id: int | None = None
    source_id: int | None = None
    ordinal: int  # position in the document
    text: str
    page: int | None = None  # 1-based, for paged documents
    heading: str | None = None  # heading path, e.g. "Guide > Chains > Cleaning"


class Citation(BaseModel):
    """Where a piece of evidence lives: a video moment (t0–t1, with its keyframe) or a document page."""

    source_id: int
    source: str  # file name
    type: SourceType
    t0: float | None = None
    t1: float | None = None
    keyframe_id: int | None = None
    page: int | None = None
    heading: str | None = None

    def label(self) -> str:
        if self.t0 is not None:
            return f"{self.source} @ {format_timestamp(self.t0)}"
        if self.page is not None:
            return f"{self.source} p. {self.page}"
        return self.source


class Evidence(BaseModel):
    citation: Citation
    text: str  # the snippet shown to people and to the LLM
    score: float
    channels: dict[str, float] = Field(default_factory=dict)  # per-channel normalised scores


def format_timestamp(seconds: float) -> str:
    """mm:ss (or h:mm:ss past an hour)."""
    total = max(0, int(seconds))
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
