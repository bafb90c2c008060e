"""Probing and decoding media files with PyAV (FFmpeg's libraries; no ffmpeg binary).

Videos (mp4, mkv, mov, webm, avi), GIFs (video without audio) and audio-only files
(flac, wav, mp3, m4a, ogg, aiff). Every time here is seconds from the start of the
container, so transcript times and keyframe times share one clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 16_000  # what Whisper and Silero VAD take


class BadMediaError(ValueError):
    """A file that cannot be ingested as media; `reason` is one line for people."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MediaInfo:
    duration_s: float  # the extent of the audio/video data actually in the file
    has_audio: bool
    has_video: bool
    width: int | None
    height: int | None
    fps: float | None
    container: str  # FFmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "gif"
    codec: str  # video codec, or the audio codec for audio-only media


def probe(path: str | Path) -> MediaInfo:
    """What the file holds. Reads every packet (without decoding) so that the duration is
    the real one and a truncated file is caught here, not halfway through ingestion."""
    path = Path(path)
    with _open(path) as container:
        video = _video_stream(container)
        audio = _audio_stream(container)
        if video is None and audio is None:
            raise BadMediaError("no audio or video stream")
        streams = [s for s in (video, audio) if s is not None]
        end = _demuxed_end(container, streams)
        declared = container.duration / av.time_base if container.duration else None
        if (end is None or end <= 0) and declared:
            raise BadMediaError(f"truncated file: no readable media data of the {declared:.1f} s declared")
        if end is None or end <= 0:
            raise BadMediaError("zero-length media: no audio or video data")
        if declared and end < declared - max(1.0, 0.05 * declared):
            raise BadMediaError(f"truncated file: media data ends at {end:.1f} s of {declared:.1f} s declared")
        primary = video or audio
        rate = (video.average_rate or video.guessed_rate) if video is not None else None
        return MediaInfo(
            duration_s=round(end, 3),
            has_audio=audio is not None,
            has_video=video is not None,
            width=video.codec_context.width if video is not None else None,
            height=video.codec_context.height if video is not None else None,
            fps=float(rate) if rate else None,
            container=container.format.name,
            codec=primary.codec_context.name,
        )


def decode_audio(path: str | Path) -> np.ndarray:
    """The first audio track as float32 mono at 16 kHz, aligned so that sample 0 is t = 0
    of the container (leading silence is padded when the track starts late)."""
    path = Path(path)
    with _open(path) as container:
        stream = _audio_stream(container)
        if stream is None:
            raise BadMediaError("no audio stream")
        origin = _origin(container)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        first_time: float | None = None
        try:
            for frame in container.decode(stream):
                if first_time is None and frame.time is not None:
                    first_time = frame.time - origin
                chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
        except av.FFmpegError as exc:
            raise BadMediaError(f"corrupt audio data ({_why(exc)})") from None
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    offset = round((first_time or 0.0) * SAMPLE_RATE)
    if offset > 0:
        audio = np.concatenate([np.zeros(offset, np.float32), audio])
    elif offset < 0:  # encoder priming before t = 0
        audio = audio[-offset:]
    return np.ascontiguousarray(audio, dtype=np.float32)


def iter_frames(path: str | Path, *, fps: float) -> Iterator[tuple[float, av.VideoFrame]]:
    """Video frames sampled at about `fps` (the first frame at or after each 1/fps tick),
    each with its time in seconds. The caller converts only the frames it keeps."""
    path = Path(path)
    with _open(path) as container:
        stream = _video_stream(container)
        if stream is None:
            raise BadMediaError("no video stream")
        stream.thread_type = "AUTO"  # frame- and slice-threaded decoding
        origin = _origin(container)
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        step = 1.0 / fps
        next_t = 0.0
        try:
            for index, frame in enumerate(container.decode(stream)):
                t = frame.time - origin if frame.time is not None else index / rate
                if t + 1e-6 < next_t:
                    continue
                yield max(t, 0.0), frame
                next_t = (int(t / step) + 1) * step
        except av.FFmpegError as exc:
            raise BadMediaError(f"corrupt video data ({_why(exc)})") from None


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise BadMediaError(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise BadMediaError("empty file (0 bytes)")
    try:
        return av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        raise BadMediaError(f"not a readable media file, corrupt or truncated ({_why(exc)})") from None


def _video_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    for stream in container.streams.video:
        # Cover art in audio files is a one-picture "video" stream; it is not video.
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _audio_stream(container: av.container.InputContainer) -> av.AudioStream | None:
    return container.streams.audio[0] if container.streams.audio else None


def _origin(container: av.container.InputContainer) -> float:
    return container.start_time / av.time_base if container.start_time is not None else 0.0


def _demuxed_end(container: av.container.InputContainer, streams: list[av.stream.Stream]) -> float | None:
    """The latest packet end time over `streams`, relative to the container start."""
    origin = _origin(container)
    end: float | None = None
    try:
        for packet in container.demux(streams):
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None or packet.time_base is None:
                continue
            t = float((stamp + (packet.duration or 0)) * packet.time_base) - origin
            end = t if end is None else max(end, t)
    except av.FFmpegError as exc:
        raise BadMediaError(f"corrupt or truncated file ({_why(exc)})") from None
    return end


def _why(exc: av.FFmpegError) -> str:
    return getattr(exc, "strerror", None) or str(exc)
