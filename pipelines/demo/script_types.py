"""What a demo video script is made of: narration `Line`s, `Scene`s (a title, a slide or a photograph,
with what is said over it) and the `VideoScript` of one video with its espeak-ng voice.

The scripts themselves are in `scripts_practical.py` and `scripts_history.py`; `scripts.py` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """One narration sentence. With `recording`, the sentence is real speech read from
    the shared audio folder and `text` is its known transcript."""

    text: str
    recording: str | None = None


@dataclass(frozen=True)
class Scene:
    key: str  # stable name that queries point at
    kind: str  # "title", "slide" or "photo"
    heading: str  # title, slide heading, or photo caption
    body: tuple[str, ...] = ()  # subtitle or bullet lines shown on screen
    narration: tuple[Line, ...] = ()
    photo: str | None = None  # a bundled sample photo: "coffee.png" (scikit-image) or "matplotlib:<file>"
    objects: tuple[str, ...] = ()  # objects visible in the photo
    min_duration: float = 0.0  # hold the shot at least this long (seconds)


@dataclass(frozen=True)
class VideoScript:
    video_id: str
    title: str
    topic: str
    lang: str  # "en" or "zh"
    voice: str  # espeak-ng voice
    rate: int  # espeak-ng words per minute
    scenes: tuple[Scene, ...]
    pitch: int = 50  # espeak-ng pitch, 0-99

    @property
    def file_name(self) -> str:
        return f"{self.video_id}.mp4"

    @property
    def recordings(self) -> tuple[str, ...]:
        return tuple(line.recording for s in self.scenes for line in s.narration if line.recording)

    def scene(self, key: str) -> Scene:
        for s in self.scenes:
            if s.key == key:
                return s
        raise KeyError(f"{self.video_id} has no scene {key!r}")


def _lines(*texts: str) -> tuple[Line, ...]:
    return tuple(Line(t) for t in texts)

