"""Encoding a slideshow (still frames held for whole scenes) plus an audio track into MP4
with PyAV: H.264 (libx264) when PyAV's bundled FFmpeg has it, else MPEG-4 Part 2; AAC mono."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from pipelines.demo.speech import SAMPLE_RATE

_AUDIO_CHUNK = 1024  # samples per AAC frame


def video_codec() -> str:
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def write_mp4(
    path: Path, stills: list[tuple[np.ndarray, int]], audio: np.ndarray, fps: int
) -> tuple[str, str]:
    """Write `stills` (an RGB frame and how many frames to hold it) and the mono float32
    `audio` at 16 kHz. Returns the video and audio codec names used."""
    height, width = stills[0][0].shape[:2]
    codec = video_codec()
    with av.open(str(path), mode="w", format="mp4") as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        # A fixed thread count keeps the bitstream identical from machine to machine.
        video.codec_context.thread_count = 2
        if codec == "libx264":
            video.options = {"preset": "veryfast", "crf": "23", "tune": "stillimage"}
        else:
            video.bit_rate = 600_000
        sound = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        sound.bit_rate = 48_000

        audio_pos = 0
        index = 0
        for rgb, count in stills:
            for _ in range(count):
                # Interleave: send the audio up to this frame's end before the frame itself.
                audio_until = round((index + 1) / fps * SAMPLE_RATE)
                audio_pos = _encode_audio(container, sound, audio, audio_pos, audio_until)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = index
                frame.time_base = Fraction(1, fps)
                container.mux(video.encode(frame))
                index += 1
        _encode_audio(container, sound, audio, audio_pos, len(audio))
        container.mux(video.encode(None))
        container.mux(sound.encode(None))
    return codec, "aac"


def _encode_audio(container, stream, audio: np.ndarray, pos: int, until: int) -> int:
    until = min(until, len(audio))
    while pos + _AUDIO_CHUNK <= until or (until == len(audio) and pos < until):
        chunk = audio[pos : pos + _AUDIO_CHUNK]
        frame = av.AudioFrame.from_ndarray(chunk[np.newaxis, :], format="fltp", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = pos
        frame.time_base = Fraction(1, SAMPLE_RATE)
        container.mux(stream.encode(frame))
        pos += len(chunk)
    return pos
