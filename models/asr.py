"""Speech recognition: Whisper behind one small interface, with two backends.

- faster-whisper (CTranslate2, int8 on CPU): the default, on the shipped Whisper base
  weights that the registry assembles (role "asr").
- openai-whisper: used when `openai_whisper_model` names a `.pt` checkpoint and the
  `whisper` package is installed. It has no `no_repeat_ngram_size` or
  `repetition_penalty`, so the repetition controls apply to faster-whisper only.

The recognizer works on one window of 16 kHz mono float32 audio at a time; windowing,
prompting with the previous text and merging windows live in
`pipelines.ingest.transcribe`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from core.settings import Settings, get_settings
from models.registry import ModelUnavailable, get_registry

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Word:
    start: float  # seconds from the start of the window
    end: float
    text: str  # as Whisper spells it, with its leading space (none in Chinese)
    probability: float


@dataclass(frozen=True)
class AsrSegment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    compression_ratio: float  # zlib ratio of the text: far above 2 means a repetition loop


@dataclass(frozen=True)
class DecodeOptions:
    language: str
    beam_size: int
    initial_prompt: str | None = None
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0


class SpeechRecognizer(Protocol):
    name: str

    def detect_language(self, audio: np.ndarray) -> dict[str, float]:
        """Language probabilities (ISO 639-1 code -> p) from the first 30 s of `audio`."""
        ...

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> list[AsrSegment]:
        """Segments with word timestamps, greedy or beam search at temperature 0."""
        ...


class FasterWhisperRecognizer:
    def __init__(self, folder: Path, threads: int):
        from faster_whisper import WhisperModel

        self.name = f"faster-whisper:{folder.name}"
        self._model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=threads)

    def detect_language(self, audio: np.ndarray) -> dict[str, float]:
        _, _, probabilities = self._model.detect_language(audio)
        return {language: float(p) for language, p in probabilities}

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> list[AsrSegment]:
        segments, _ = self._model.transcribe(
            audio,
            language=options.language,
            task="transcribe",
            beam_size=options.beam_size,
            best_of=1,
            temperature=0.0,  # no sampling fallback: the seed's recipe is deterministic decoding
            initial_prompt=options.initial_prompt,
            condition_on_previous_text=False,  # a window is one 30 s chunk; the prompt carries the context
            no_repeat_ngram_size=options.no_repeat_ngram_size,
            repetition_penalty=options.repetition_penalty,
            word_timestamps=True,
            vad_filter=False,  # VAD already chose the window
        )
        return [
            AsrSegment(
                s.start,
                s.end,
                s.text,
                tuple(Word(w.start, w.end, w.word, w.probability) for w in (s.words or [])),
                s.compression_ratio,
            )
            for s in segments  # a generator: decoding happens here
        ]


class OpenAIWhisperRecognizer:
    def __init__(self, checkpoint: Path):
        import whisper

        self.name = f"openai-whisper:{checkpoint.stem}"
        self._whisper = whisper
        self._model = whisper.load_model(str(checkpoint), device="cpu")

    def detect_language(self, audio: np.ndarray) -> dict[str, float]:
        whisper = self._whisper
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(audio), n_mels=self._model.dims.n_mels)
        _, probs = self._model.detect_language(mel)
        return {language: float(p) for language, p in probs.items()}

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> list[AsrSegment]:
        result = self._model.transcribe(
            audio,
            language=options.language,
            task="transcribe",
            beam_size=options.beam_size if options.beam_size > 1 else None,
            temperature=0.0,
            initial_prompt=options.initial_prompt,
            condition_on_previous_text=False,
            word_timestamps=True,
            fp16=False,
        )
        return [
            AsrSegment(
                s["start"],
                s["end"],
                s["text"],
                tuple(Word(w["start"], w["end"], w["word"], w["probability"]) for w in s.get("words", [])),
                s["compression_ratio"],
            )
            for s in result["segments"]
        ]


def load_recognizer(settings: Settings | None = None) -> SpeechRecognizer:
    """The configured recognizer, loaded once per process."""
    settings = settings or get_settings()
    if settings.openai_whisper_model:
        checkpoint = Path(settings.openai_whisper_model).expanduser()
        if importlib.util.find_spec("whisper") is None:
            raise ModelUnavailable(
                "asr", "ARGUS_OPENAI_WHISPER_MODEL is set but the openai-whisper package is not installed "
                "(pip install --no-deps openai-whisper, or unset it to use the shipped faster-whisper model)"
            )
        if not checkpoint.is_file():
            raise ModelUnavailable("asr", f"ARGUS_OPENAI_WHISPER_MODEL={str(checkpoint)!r} is not a file")
        return _openai_whisper(checkpoint)
    folder = Path(get_registry(settings).resolve("asr"))
    return _faster_whisper(folder, settings.threads)


@lru_cache(maxsize=2)
def _faster_whisper(folder: Path, threads: int) -> FasterWhisperRecognizer:
    return FasterWhisperRecognizer(folder, threads)


@lru_cache(maxsize=2)
def _openai_whisper(checkpoint: Path) -> OpenAIWhisperRecognizer:
    return OpenAIWhisperRecognizer(checkpoint)
