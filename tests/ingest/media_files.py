"""Small real media files for the ingestion tests, written with PyAV.

Slides of solid colour with large shapes change every `slide_s` seconds (so frame
differencing finds keyframes); the sound is a real recording or silence.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 16_000
_COLOURS = [(200, 40, 40), (40, 160, 60), (30, 60, 200), (230, 200, 40), (120, 40, 160)]


def slide(index: int, width: int = 320, height: int = 240) -> np.ndarray:
    frame = np.full((height, width, 3), _COLOURS[index % len(_COLOURS)], dtype=np.uint8)
    # a white block that moves from slide to slide
    x = 20 + (index * 70) % (width - 100)
    frame[60:180, x : x + 80] = 255
    return frame


def write_media(path: Path, *, seconds: float, audio: np.ndarray | None = None, video: bool = True,
                fps: int = 5, slide_s: float = 2.0) -> Path:
    """An MP4 (H.264 or MPEG-4 video, AAC audio) or, with `video=False`, an audio-only M4A/MP4."""
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), mode="w", format="mp4") as container:
        vstream = None
        if video:
            vstream = container.add_stream(codec, rate=fps)
            vstream.width, vstream.height, vstream.pix_fmt = 320, 240, "yuv420p"
        astream = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono") if audio is not None else None
        if vstream is not None:
            for i in range(int(seconds * fps)):
                frame = av.VideoFrame.from_ndarray(slide(int(i / fps / slide_s)), format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, fps)
                container.mux(vstream.encode(frame))
            container.mux(vstream.encode(None))
        if astream is not None:
            samples = np.asarray(audio, dtype=np.float32)[: int(seconds * SAMPLE_RATE)]
            for start in range(0, len(samples), 1024):
                chunk = samples[start : start + 1024]
                frame = av.AudioFrame.from_ndarray(chunk[np.newaxis, :], format="fltp", layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
                container.mux(astream.encode(frame))
            container.mux(astream.encode(None))
    return path


def speech(shared_data: Path) -> np.ndarray:
    """JFK's "ask not" sentence (11 s), 16 kHz mono."""
    from pipelines.ingest.media import decode_audio

    return decode_audio(shared_data / "audio" / "jfk.flac")
