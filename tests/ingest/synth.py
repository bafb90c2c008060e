"""Real media files for the media-analysis tests, written with PyAV into a temporary folder:
videos of scikit-image photographs with hard cuts at known times, optionally with a real
speech track, in any of the supported containers, and audio-only files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from skimage import data

SAMPLE_RATE = 16_000

# Photographs bundled in the scikit-image wheel, with a COCO object each one shows.
PHOTOS = {
    "astronaut": (data.astronaut, "person"),
    "chelsea": (data.chelsea, "cat"),
    "coffee": (data.coffee, "cup"),
    "motorcycle": (lambda: data.stereo_motorcycle()[0], "motorcycle"),
    "rocket": (data.rocket, None),
    "hubble": (data.hubble_deep_field, None),
}

# (container format, video codec, audio codec, pixel format) per extension.
FORMATS = {
    ".mp4": ("mp4", "libx264", "aac", "yuv420p"),
    ".mkv": ("matroska", "libx264", "aac", "yuv420p"),
    ".mov": ("mov", "libx264", "aac", "yuv420p"),
    ".webm": ("webm", "libvpx", "libopus", "yuv420p"),
    ".avi": ("avi", "mpeg4", "libmp3lame", "yuv420p"),
    ".gif": ("gif", "gif", None, "rgb8"),
}
AUDIO_FORMATS = {
    ".flac": ("flac", "flac"),
    ".wav": ("wav", "pcm_s16le"),
    ".mp3": ("mp3", "libmp3lame"),
    ".m4a": ("ipod", "aac"),
    ".ogg": ("ogg", "libopus"),
    ".aiff": ("aiff", "pcm_s16be"),
}


def photo(name: str, width: int = 320, height: int = 240) -> np.ndarray:
    return cv2.resize(PHOTOS[name][0](), (width, height), interpolation=cv2.INTER_AREA)


def write_video(
    path: Path,
    shots: list[tuple[np.ndarray, float]],
    *,
    fps: int = 5,
    audio: np.ndarray | None = None,
) -> Path:
    """Each shot is (RGB frame, seconds held); cuts fall at the cumulative shot ends.
    `audio` (16 kHz mono float32) is muxed alongside where the container takes audio."""
    fmt, vcodec, acodec, pix = FORMATS[path.suffix]
    height, width = shots[0][0].shape[:2]
    with av.open(str(path), mode="w", format=fmt) as container:
        video = container.add_stream(vcodec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, pix
        sound = _audio_stream(container, acodec) if audio is not None and acodec else None
        index = 0
        for rgb, seconds in shots:
            for _ in range(round(seconds * fps)):
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts, frame.time_base = index, Fraction(1, fps)
                container.mux(video.encode(frame))
                index += 1
        container.mux(video.encode(None))
        if sound is not None:
            _encode_audio(container, sound, audio)
    return path


def write_audio(path: Path, audio: np.ndarray) -> Path:
    fmt, codec = AUDIO_FORMATS[path.suffix]
    with av.open(str(path), mode="w", format=fmt) as container:
        _encode_audio(container, _audio_stream(container, codec), audio)
    return path


def _audio_stream(container, codec: str):
    # Opus only runs at 48 kHz; the others keep the speech's 16 kHz.
    return container.add_stream(codec, rate=48_000 if codec == "libopus" else SAMPLE_RATE, layout="mono")


def _encode_audio(container, stream, audio: np.ndarray) -> None:
    rate = stream.rate
    samples = np.asarray(audio, dtype=np.float32)
    if rate != SAMPLE_RATE:
        samples = np.interp(np.arange(0, len(samples), SAMPLE_RATE / rate), np.arange(len(samples)), samples)
        samples = samples.astype(np.float32)
    layout = stream.format.name
    step = stream.frame_size or 1024
    for start in range(0, len(samples), step):
        chunk = samples[start : start + step]
        if layout in ("s16", "s16p"):
            chunk = (np.clip(chunk, -1, 1) * 32767).astype(np.int16)
        elif layout in ("s32", "s32p"):
            chunk = (np.clip(chunk, -1, 1) * 2147483647).astype(np.int32)
        frame = av.AudioFrame.from_ndarray(chunk[np.newaxis, :], format=layout, layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
