"""Transcription of real speech with the shipped Whisper base and Silero VAD."""

from __future__ import annotations

import re
from pathlib import Path

import jiwer
import numpy as np
import pytest
from synth import photo, write_video

from core.settings import Settings
from models.vad import load_vad
from pipelines.ingest.media import decode_audio
from pipelines.ingest.transcribe import plan_windows, transcribe

pytestmark = pytest.mark.integration

JFK = "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalise(reference), normalise(hypothesis))


@pytest.fixture(scope="module")
def jfk_audio(shared_data: Path) -> np.ndarray:
    return decode_audio(shared_data / "audio" / "jfk.flac")


@pytest.fixture(scope="module")
def jfk_video(tmp_path_factory: pytest.TempPathFactory, jfk_audio: np.ndarray) -> Path:
    """jfk.flac's speech re-encoded to AAC under three photographs, as an MP4."""
    shots = [(photo("astronaut"), 4.0), (photo("rocket"), 4.0), (photo("hubble"), 3.0)]
    return write_video(tmp_path_factory.mktemp("jfk") / "jfk.mp4", shots, fps=5, audio=jfk_audio)


def test_jfk_video_transcript(jfk_video: Path, jfk_audio: np.ndarray) -> None:
    fractions: list[float] = []
    transcript = transcribe(decode_audio(jfk_video), progress=fractions.append)

    assert transcript.language == "en"
    assert wer(JFK, transcript.text) <= 0.10, transcript.text
    assert fractions and fractions[-1] == pytest.approx(1.0)
    # Timestamps against the speech VAD finds in the original recording (0.3 s to 10.6 s).
    spans = load_vad().speech_spans(jfk_audio)
    first, last = transcript.segments[0], transcript.segments[-1]
    assert abs(first.t0 - spans[0].start) <= 1.0
    assert abs(last.t1 - spans[-1].end) <= 1.0
    assert all(s.t0 < s.t1 for s in transcript.segments)
    assert all(a.t1 <= b.t0 + 0.05 for a, b in zip(transcript.segments, transcript.segments[1:], strict=False))
    assert all(s.language == "en" for s in transcript.segments)


def test_continuous_speech_longer_than_a_window_is_merged_without_repeats(jfk_audio: np.ndarray) -> None:
    # Two readings 0.3 s apart: 21 s of continuous speech in 12 s windows, so the windows
    # overlap and their transcripts are merged at the overlap.
    speech = jfk_audio[: int(10.8 * 16_000)]
    audio = np.concatenate([speech, np.zeros(int(0.3 * 16_000), np.float32), speech])
    settings = Settings(asr_window_s=12.0)
    spans = load_vad().speech_spans(audio, max_span_s=settings.asr_window_s)
    windows = plan_windows(spans, duration=len(audio) / 16_000, window_s=settings.asr_window_s,
                           overlap_s=settings.asr_overlap_s, merge_gap_s=settings.asr_merge_gap_s)
    assert len(windows) >= 2 and all(b.start < a.end for a, b in zip(windows, windows[1:], strict=False))
    transcript = transcribe(audio, settings=settings)

    assert wer(f"{JFK} {JFK}", transcript.text) <= 0.10, transcript.text
    assert normalise(transcript.text).count("fellow americans") == 2
    starts = [s.t0 for s in transcript.segments]
    assert starts == sorted(starts)
    with_start = [s for s in transcript.segments if "fellow americans" in normalise(s.text)]
    assert len(with_start) == 2
    assert with_start[1].t0 - 1.0 <= 11.1 <= with_start[1].t1  # the second reading starts after the gap


def test_chinese_speech_gives_simplified_chinese(shared_data: Path) -> None:
    transcript = transcribe(decode_audio(shared_data / "audio" / "chinese.flac"))
    assert transcript.language == "zh"
    assert re.search(r"[\u4e00-\u9fff]", transcript.text), transcript.text
    assert "自己" in transcript.text  # "砸自己的脚": Whisper base hears 自己的脚
    assert "腳" not in transcript.text  # the traditional form of 脚


def test_silence_gives_an_empty_transcript() -> None:
    rng = np.random.default_rng(0)
    hiss = (0.002 * rng.standard_normal(16_000 * 8)).astype(np.float32)
    transcript = transcribe(hiss)
    assert transcript.language is None and transcript.segments == []
    assert transcribe(np.zeros(0, np.float32)).segments == []
