"""What the demo corpus contains, written as `OUT/manifest.json`.

The manifest is the ground truth the tests and the retrieval evaluation check against:
scene cut times, narration sentence spans, photo contents and document pages.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
QUERIES_NAME = "queries.jsonl"
VIDEOS_DIR = "videos"
DOCUMENTS_DIR = "documents"


@dataclass(frozen=True)
class NarrationSpan:
    """One spoken sentence and where it sits in the video's audio track (seconds)."""

    text: str
    t0: float
    t1: float
    lang: str
    voice: str  # "espeak-ng:<voice>" for synthetic speech, "recording:<file>" for real speech


@dataclass(frozen=True)
class SceneEntry:
    """One shot: a single still image held from t0 to t1; a hard cut follows it."""

    index: int
    key: str  # the scene's name in the script, which queries point at
    t0: float
    t1: float
    kind: str  # "title", "slide" or "photo"
    on_screen_text: list[str]
    photo: str | None = None  # sample photo shown: "coffee.png" (scikit-image) or "matplotlib:<file>"
    objects: list[str] = field(default_factory=list)  # what a detector should find in the photo
    narration: list[NarrationSpan] = field(default_factory=list)


@dataclass(frozen=True)
class VideoEntry:
    file: str  # relative to the corpus root
    video_id: str
    title: str
    topic: str
    lang: str
    duration: float
    fps: int
    width: int
    height: int
    video_codec: str
    audio_codec: str
    sample_rate: int
    cuts: list[float]  # times of the hard cuts, i.e. every scene start except 0
    scenes: list[SceneEntry]
    fingerprint: str
    sha256: str

    @property
    def narration(self) -> list[NarrationSpan]:
        return [span for scene in self.scenes for span in scene.narration]


@dataclass(frozen=True)
class DocumentEntry:
    file: str  # relative to the corpus root
    doc_id: str
    title: str
    topic: str
    format: str  # "pdf", "markdown", "html", "text"
    langs: list[str]
    pages: int | None  # PDF only
    fingerprint: str
    sha256: str


@dataclass
class DemoManifest:
    generator_version: str
    videos: list[VideoEntry]
    documents: list[DocumentEntry]
    queries_file: str
    query_counts: dict[str, int]  # by kind and by language, e.g. {"kind:speech": 17, "lang:zh": 14}
    skipped: list[str] = field(default_factory=list)  # items left out, with the reason

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoManifest:
        videos = [
            VideoEntry(
                **{
                    **v,
                    "scenes": [
                        SceneEntry(**{**s, "narration": [NarrationSpan(**n) for n in s["narration"]]})
                        for s in v["scenes"]
                    ],
                }
            )
            for v in data["videos"]
        ]
        documents = [DocumentEntry(**d) for d in data["documents"]]
        return cls(
            generator_version=data["generator_version"],
            videos=videos,
            documents=documents,
            queries_file=data["queries_file"],
            query_counts=dict(data["query_counts"]),
            skipped=list(data.get("skipped", [])),
        )

    @classmethod
    def load(cls, path: Path) -> DemoManifest:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
