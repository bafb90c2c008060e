"""Voice activity detection: Silero VAD on its shipped ONNX model.

Audio comes in as a 16 kHz mono float32 array (decoded with PyAV by
`pipelines.ingest.media`); Silero's own `read_audio` would need torchaudio.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from models.registry import get_registry

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class SpeechSpan:
    start: float  # seconds
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


class SileroVad:
    def __init__(self, onnx_path: Path):
        from silero_vad.utils_vad import OnnxWrapper

        # What `silero_vad.load_silero_vad(onnx=True)` builds, on the file the registry resolved.
        self._model = OnnxWrapper(str(onnx_path), force_onnx_cpu=True)
        self._lock = threading.Lock()  # the wrapper keeps recurrent state between chunks

    def speech_spans(
        self,
        audio: np.ndarray,
        *,
        threshold: float = 0.5,
        max_span_s: float = float("inf"),
        min_silence_ms: int = 100,
        speech_pad_ms: int = 30,
    ) -> list[SpeechSpan]:
        """Speech spans in seconds. Spans longer than `max_span_s` are split at their
        longest internal pause, so that a window boundary rarely falls inside a word."""
        from silero_vad import get_speech_timestamps

        if audio.size < SAMPLE_RATE // 10:
            return []
        with self._lock:
            stamps = get_speech_timestamps(
                torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)),
                self._model,
                threshold=threshold,
                sampling_rate=SAMPLE_RATE,
                max_speech_duration_s=max_span_s,
                min_silence_duration_ms=min_silence_ms,
                speech_pad_ms=speech_pad_ms,
            )
        return [SpeechSpan(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def load_vad() -> SileroVad:
    """The VAD model, loaded once per process."""
    return _load(Path(get_registry().resolve("vad")))


@lru_cache(maxsize=1)
def _load(path: Path) -> SileroVad:
    return SileroVad(path)
