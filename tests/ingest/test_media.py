"""Probing and decoding real media files of every supported container, and the clear
errors for files that cannot be ingested."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from synth import AUDIO_FORMATS, FORMATS, photo, write_audio, write_video

from pipelines.ingest.media import BadMediaError, decode_audio, iter_frames, probe

pytestmark = pytest.mark.integration

TONE_S = 3.0


def tone(seconds: float = TONE_S) -> np.ndarray:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_probe_and_decode_video_containers(folder: Path, suffix: str) -> None:
    shots = [(photo("chelsea", 160, 120), 1.0), (photo("coffee", 160, 120), 2.0)]
    path = write_video(folder / f"clip{suffix}", shots, fps=5, audio=tone())

    info = probe(path)
    assert info.has_video and info.width == 160 and info.height == 120
    assert info.duration_s == pytest.approx(3.0, abs=0.25)
    assert info.fps == pytest.approx(5.0, abs=0.01)
    if suffix == ".gif":  # GIF is video without audio
        assert not info.has_audio
        with pytest.raises(BadMediaError, match="no audio stream"):
            decode_audio(path)
    else:
        assert info.has_audio
        audio = decode_audio(path)
        assert audio.dtype == np.float32 and audio.ndim == 1
        assert len(audio) / 16_000 == pytest.approx(3.0, abs=0.25)
        assert 0.1 < float(np.sqrt(np.mean(audio[8000:40000] ** 2))) < 0.4  # the 0.3-amplitude tone

    times = [t for t, _ in iter_frames(path, fps=2)]
    assert times[0] == pytest.approx(0.0, abs=0.01)
    assert len(times) == pytest.approx(6, abs=1)  # 3 s at 2 fps
    assert all(0.39 <= b - a <= 0.61 for a, b in zip(times, times[1:], strict=False))


@pytest.mark.parametrize("suffix", sorted(AUDIO_FORMATS))
def test_probe_and_decode_audio_files(folder: Path, suffix: str) -> None:
    path = write_audio(folder / f"sound{suffix}", tone())
    info = probe(path)
    assert info.has_audio and not info.has_video and info.width is None
    assert info.duration_s == pytest.approx(TONE_S, abs=0.15)
    audio = decode_audio(path)
    assert len(audio) / 16_000 == pytest.approx(TONE_S, abs=0.15)
    assert 0.15 < float(np.sqrt(np.mean(audio[8000:40000] ** 2))) < 0.3
    with pytest.raises(BadMediaError, match="no video stream"):
        next(iter_frames(path, fps=1))


def test_decoded_audio_is_16k_mono_of_a_44k_stereo_recording(shared_data: Path) -> None:
    source = shared_data / "audio" / "jfk.flac"
    stereo, rate = soundfile.read(source, dtype="float32")
    assert rate == 44_100 and stereo.ndim == 2
    audio = decode_audio(source)
    assert len(audio) == pytest.approx(11.0 * 16_000, abs=160)
    # The loudest second is the same second in both.
    loud_src = np.argmax([np.abs(stereo[i * rate : (i + 1) * rate]).mean() for i in range(11)])
    loud_dec = np.argmax([np.abs(audio[i * 16_000 : (i + 1) * 16_000]).mean() for i in range(11)])
    assert loud_src == loud_dec


def test_video_without_audio(folder: Path) -> None:
    path = write_video(folder / "mute.mp4", [(photo("rocket", 160, 120), 2.0)])
    info = probe(path)
    assert info.has_video and not info.has_audio and info.codec in ("h264", "mpeg4")
    with pytest.raises(BadMediaError, match="no audio stream"):
        decode_audio(path)


def test_truncated_mp4_is_refused(folder: Path) -> None:
    whole = write_video(folder / "whole.mp4", [(photo("astronaut", 160, 120), 3.0)], audio=tone())
    cut = folder / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(BadMediaError, match="corrupt or truncated"):
        probe(cut)


def test_truncated_mkv_is_refused(folder: Path) -> None:
    # Matroska plays from its start, so a cut file opens; its declared duration gives it away.
    whole = write_video(folder / "whole.mkv", [(np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8),
                                                 6.0)], audio=tone(6.0))
    cut = folder / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    with pytest.raises(BadMediaError, match="truncated"):
        probe(cut)


def test_not_media_empty_and_missing_files(folder: Path) -> None:
    garbage = folder / "notes.mp4"
    garbage.write_bytes(b"these are not the frames you are looking for " * 50)
    with pytest.raises(BadMediaError, match="not a readable media file"):
        probe(garbage)
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(BadMediaError, match=r"empty file \(0 bytes\)"):
        probe(empty)
    with pytest.raises(BadMediaError, match="no such file"):
        probe(folder / "missing.mp4")


def test_zero_length_media_is_refused(folder: Path) -> None:
    path = folder / "nothing.wav"
    soundfile.write(path, np.zeros(0, np.float32), 16_000)
    with pytest.raises(BadMediaError, match="zero-length"):
        probe(path)


def test_file_with_no_audio_or_video_stream_is_refused(folder: Path) -> None:
    from fractions import Fraction

    path = folder / "subtitles.mkv"
    with av.open(str(path), mode="w", format="matroska") as container:
        stream = container.add_stream("ass")
        packet = av.Packet(b"Dialogue: 0,0:00:00.00,0:00:01.00,Default,,0,0,0,,hello")
        packet.stream, packet.pts, packet.dts, packet.duration = stream, 0, 0, 1000
        packet.time_base = Fraction(1, 1000)
        container.mux(packet)
    with pytest.raises(BadMediaError, match="no audio or video stream"):
        probe(path)
