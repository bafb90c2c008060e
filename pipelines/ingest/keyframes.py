"""Keyframe selection by grayscale frame differencing (the seed's method), in one pass.

Frames are sampled at `keyframe_sample_fps` (4 fps: a cut is localised to within a
quarter second) and compared at 160 px width by mean absolute grayscale difference with
the previous sample. Kept:

- the first frame (the opening shot has no cut before it);
- the `top_k` most-changed frames, at least a second apart (one cut, one frame);
- for every `min_interval_s` stretch of video with none of those, its most-changed
  frame, so that long shots without cuts (slow pans, a 60 s static shot) are represented.

Candidates are then compared, in time order, with the frames already kept; a near
duplicate is dropped, so a static shot gives one keyframe, not six. Near duplicate means
an EfficientNet image-embedding cosine of at least `keyframe_dedup_cosine` (0.9) *and*
a grayscale difference under `keyframe_dedup_max_change` (3 of 255). Measured: one
picture re-encoded scores 0.95-1.0 (as low as 0.95 at 160x120), unrelated pictures
0.17-0.49, but two different slides of one deck also 0.96-0.99 -- their grayscale
difference (5-7) is what tells them apart. JPEG thumbnails are written atomically. With CLIP weights
configured, each keyframe also gets its CLIP image embedding.
"""

from __future__ import annotations

import heapq
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image

from core.settings import Settings, get_settings
from pipelines.ingest.media import iter_frames
from pipelines.ingest.visual import image_embedding

DIFF_WIDTH = 160  # frames are compared at this width: cheap, and blind to noise and grain
MIN_CUT_GAP_S = 1.0  # two "most-changed" frames closer than this are one transition
JPEG_QUALITY = 85


@dataclass(frozen=True)
class KeyframeImage:
    t: float  # seconds into the video
    jpeg_path: Path
    embedding: np.ndarray  # (1280,) float32, L2-normalised EfficientNet-Lite3 embedding
    change: float  # mean absolute grayscale difference to the previous sample, 0..255
    clip_embedding: np.ndarray | None = None  # CLIP image vector, when CLIP weights are configured


@dataclass(order=True)
class _Candidate:
    change: float
    t: float
    image: np.ndarray | bytes = field(compare=False)  # RGB, or JPEG bytes once parked

    def rgb(self) -> np.ndarray:
        if isinstance(self.image, bytes):
            with Image.open(io.BytesIO(self.image)) as img:
                return np.asarray(img.convert("RGB"))
        return self.image

    def park(self) -> None:
        self.image = self.jpeg()

    def jpeg(self) -> bytes:
        if isinstance(self.image, bytes):
            return self.image
        out = io.BytesIO()
        Image.fromarray(self.image).save(out, format="JPEG", quality=JPEG_QUALITY)
        return out.getvalue()


def select_keyframes(
    path: str | Path,
    out_dir: str | Path,
    *,
    top_k: int | None = None,
    min_interval_s: float | None = None,
    settings: Settings | None = None,
) -> list[KeyframeImage]:
    """Select keyframes of the video at `path` and write them as JPEGs into `out_dir`
    (named by time, `kf_<milliseconds>.jpg`). Raises `BadMediaError` without a video stream."""
    settings = settings or get_settings()
    top_k = settings.keyframe_top_k if top_k is None else top_k
    interval = settings.keyframe_interval_s if min_interval_s is None else min_interval_s

    first, most_changed, per_stretch = _scan(path, settings.keyframe_sample_fps, settings.keyframe_max_width,
                                             top_k, interval)
    if first is None:
        return []
    chosen = [first, *_spread(most_changed, top_k)]
    covered = {int(c.t // interval) for c in chosen}
    chosen += [c for stretch, c in per_stretch.items() if stretch not in covered]
    chosen.sort(key=lambda c: c.t)

    kept: list[tuple[_Candidate, np.ndarray, np.ndarray]] = []
    for candidate in chosen:
        # Judge the JPEG that will be stored (and later described), not the raw frame: at
        # small sizes JPEG artefacts alone move the embedding cosine to about 0.95.
        candidate.park()
        rgb = candidate.rgb()
        vector, gray = image_embedding(rgb), _small_gray(rgb)
        duplicate = any(
            float(vector @ other) >= settings.keyframe_dedup_cosine
            and float(np.mean(np.abs(gray - other_gray))) < settings.keyframe_dedup_max_change
            for _, other, other_gray in kept
        )
        if not duplicate:
            kept.append((candidate, vector, gray))

    clip_vectors: list[np.ndarray | None] = [None] * len(kept)
    if settings.clip_model:
        from models.clip import load_clip

        clip_vectors = list(load_clip(settings).embed_images([c.rgb() for c, _, _ in kept]))

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        KeyframeImage(t=round(c.t, 3), jpeg_path=_write_atomic(out_dir / f"kf_{round(c.t * 1000):09d}.jpg", c.jpeg()),
                      embedding=vector, change=round(c.change, 2), clip_embedding=clip_vector)
        for (c, vector, _), clip_vector in zip(kept, clip_vectors, strict=True)
    ]


def _scan(
    path: str | Path, fps: float, max_width: int, top_k: int, interval: float
) -> tuple[_Candidate | None, list[_Candidate], dict[int, _Candidate]]:
    """One decoding pass: the first frame, the most-changed frames (a bounded heap, with
    room for the ones `_spread` drops) and the most-changed frame of every stretch."""
    first: _Candidate | None = None
    heap: list[_Candidate] = []
    capacity = 3 * max(top_k, 1)
    per_stretch: dict[int, _Candidate] = {}
    previous: np.ndarray | None = None
    last_stretch = 0
    for t, frame in iter_frames(path, fps=fps):
        gray = _gray(frame)
        if previous is None:
            first = _Candidate(0.0, t, _thumbnail(frame, max_width))
            previous = gray
            continue
        change = float(np.mean(np.abs(gray - previous)))
        previous = gray

        stretch = int(t // interval)
        if stretch != last_stretch and last_stretch in per_stretch:
            # A finished stretch's frame waits as JPEG bytes: an hour of video holds 360.
            per_stretch[last_stretch].park()
        last_stretch = stretch
        best = per_stretch.get(stretch)
        for_stretch = best is None or change > best.change
        for_heap = top_k > 0 and (len(heap) < capacity or change > heap[0].change)
        if not (for_stretch or for_heap):
            continue
        candidate = _Candidate(change, t, _thumbnail(frame, max_width))
        if for_stretch:
            per_stretch[stretch] = candidate
        if for_heap:
            if len(heap) < capacity:
                heapq.heappush(heap, candidate)
            else:
                heapq.heapreplace(heap, candidate)
    return first, sorted(heap, reverse=True), per_stretch


def _spread(ranked: list[_Candidate], top_k: int) -> list[_Candidate]:
    """The `top_k` most-changed frames, skipping any within MIN_CUT_GAP_S of a better one."""
    picked: list[_Candidate] = []
    for candidate in ranked:
        if len(picked) == top_k:
            break
        if all(abs(candidate.t - p.t) >= MIN_CUT_GAP_S for p in picked):
            picked.append(candidate)
    return picked


def _gray(frame: av.VideoFrame) -> np.ndarray:
    height = max(2, round(frame.height * DIFF_WIDTH / frame.width))
    return frame.reformat(width=DIFF_WIDTH, height=height, format="gray").to_ndarray().astype(np.int16)


def _small_gray(rgb: np.ndarray) -> np.ndarray:
    height = max(2, round(rgb.shape[0] * DIFF_WIDTH / rgb.shape[1]))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.resize(gray, (DIFF_WIDTH, height), interpolation=cv2.INTER_AREA).astype(np.int16)


def _thumbnail(frame: av.VideoFrame, max_width: int) -> np.ndarray:
    width = min(max_width, frame.width)
    height = max(2, round(frame.height * width / frame.width))
    return frame.reformat(width=width, height=height, format="rgb24").to_ndarray()


def _write_atomic(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path
