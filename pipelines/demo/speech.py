"""Narration audio: espeak-ng synthesis and real recordings, as mono float32 at 16 kHz."""

from __future__ import annotations

import subprocess
import tempfile
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from pipelines.demo.assets import espeak_binary

SAMPLE_RATE = 16_000  # Whisper's native rate; plenty for speech
_SILENCE = 0.01  # |amplitude| below this counts as silence when trimming


def synthesize(text: str, voice: str, rate: int, pitch: int = 50) -> np.ndarray:
    """Speak `text` with espeak-ng; leading and trailing silence removed, so that the
    sentence's recorded span is where speech really is."""
    with tempfile.TemporaryDirectory(prefix="argus-espeak-") as tmp:
        wav = Path(tmp) / "out.wav"
        # `--` ends the options, so a sentence can never be read as a flag.
        subprocess.run(
            [espeak_binary(), "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(wav), "--", text],
            check=True,
            capture_output=True,
        )
        samples, sr = sf.read(wav, dtype="float32", always_2d=True)
    return trim_silence(to_mono_16k(samples, sr))


def load_recording(path: Path) -> np.ndarray:
    """A real recording (FLAC, WAV, ...), downmixed and resampled; kept whole, pauses included."""
    samples, sr = sf.read(path, dtype="float32", always_2d=True)
    return to_mono_16k(samples, sr)


def to_mono_16k(samples: np.ndarray, sr: int) -> np.ndarray:
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    if sr != SAMPLE_RATE:
        g = gcd(SAMPLE_RATE, sr)
        mono = resample_poly(mono, SAMPLE_RATE // g, sr // g)
    return np.clip(mono, -1.0, 1.0).astype(np.float32)


def trim_silence(samples: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > _SILENCE)
    if loud.size == 0:
        raise ValueError("synthesised speech is silent")
    return samples[loud[0] : loud[-1] + 1]
