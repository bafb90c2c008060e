"""Audio -> timestamped transcript: Silero VAD speech spans, Whisper on ~15 s windows.

The seed's recipe against Whisper's failure modes (early end on noise or music, loops):
VAD first, so Whisper only hears speech; windows of about 15 s built from the speech
spans, overlapping where a window boundary falls inside continuous speech; the previous
window's text as the prompt; temperature 0 with beam search; `no_repeat_ngram_size`
against repetition loops (and a segment that still loops is dropped).

Merging overlapping windows uses word timestamps: the overlap is cut at its midpoint
(moved to where the later window's words begin, or the earlier window's end, when either
left part of the overlap unsaid), the earlier window keeps the words centred before the
cut and the later one the words after it. Word times from Whisper's cross-attention jitter by a word or so, so where the
last words before the cut and the first words after it are the same words at the same
time, the repeat is dropped.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.settings import Settings, get_settings
from core.types import Segment
from models.asr import DecodeOptions, SpeechRecognizer, Word, load_recognizer
from models.vad import SpeechSpan, load_vad

SAMPLE_RATE = 16_000
SENTENCE_END = re.compile(r"[.!?。！？]['\"”’)]*$")
MAX_SEGMENT_S = 15.0  # a sentence longer than this is cut at its longest pause
WINDOW_PAD_S = 0.25  # audio kept around the speech so that Whisper hears word onsets
PROMPT_CHARS = 200  # the tail of the previous window's text used as the prompt
LANGUAGE_WINDOWS = 3
LANGUAGE_SURE = 0.8  # a detection this probable is not cross-checked on more windows
# A window's segment whose text compresses this well is a repetition loop, not speech
# (faster-whisper's own threshold for a failed decode); it is dropped.
LOOP_COMPRESSION_RATIO = 2.4
# Whisper base often writes Mandarin in traditional characters; a simplified-Chinese
# prompt steers it to simplified ("The following are sentences in Mandarin.").
ZH_PROMPT = "以下是普通话的句子。"
TAIL_GAP_S = 2.0  # speech left undecoded at a window's end for longer than this is decoded again


@dataclass
class Transcript:
    language: str | None  # ISO 639-1; None when there is no speech
    segments: list[Segment]

    @property
    def text(self) -> str:
        joiner = "" if self.language in ("zh", "ja") else " "
        return joiner.join(s.text for s in self.segments)


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    speech_s: float  # VAD speech inside the window


def transcribe(
    audio: np.ndarray,
    *,
    progress: Callable[[float], None] | None = None,
    settings: Settings | None = None,
) -> Transcript:
    """Transcribe 16 kHz mono float32 `audio`. Silence-only audio gives an empty
    transcript (language None). `progress` receives the fraction of speech done."""
    settings = settings or get_settings()
    duration = len(audio) / SAMPLE_RATE
    spans = load_vad().speech_spans(audio, threshold=settings.vad_threshold, max_span_s=settings.asr_window_s)
    windows = plan_windows(
        spans,
        duration=duration,
        window_s=settings.asr_window_s,
        overlap_s=settings.asr_overlap_s,
        merge_gap_s=settings.asr_merge_gap_s,
    )
    if not windows:
        return Transcript(language=None, segments=[])

    recognizer = load_recognizer(settings)
    language = detect_language(recognizer, audio, windows)

    words_per_window: list[list[list[Word]]] = []  # window -> segment -> words, in source time
    previous_text = ""
    total_speech = sum(w.speech_s for w in windows)
    done = 0.0
    for window in windows:
        options = DecodeOptions(
            language=language,
            beam_size=settings.asr_beam_size,
            initial_prompt=_prompt(language, previous_text),
            no_repeat_ngram_size=settings.asr_no_repeat_ngram_size,
            repetition_penalty=settings.asr_repetition_penalty,
        )
        words, text = decode_window(recognizer, audio, window, options)
        words_per_window.append(words)
        if text:
            previous_text = text
        done += window.speech_s
        if progress:
            progress(done / total_speech)

    merged = merge_windows(windows, words_per_window)
    segments = [_segment(sentence, language) for words in merged for sentence in split_sentences(words)]
    segments = [s for s in segments if s.text]
    return Transcript(language=language if segments else None, segments=segments)


def decode_window(recognizer: SpeechRecognizer, audio: np.ndarray, window: Window,
                  options: DecodeOptions) -> tuple[list[list[Word]], str]:
    """A window's segments as word lists in source time, and its text.

    Whisper may end a window early: prompted with the previous window's text it can take the
    first sentence for the end (jfk: the last sentence of a 15 s window went missing). When
    the words stop more than TAIL_GAP_S before the window's speech does, the rest is decoded
    once more without the prompt, and its words after the last one heard are added."""
    segments = _decode(recognizer, _clip(audio, window), options)
    words = [_shift(seg.words, window.start) for seg in segments]
    texts = [seg.text for seg in segments]
    heard_until = max((w.end for seg in words for w in seg), default=window.start)
    if window.end - WINDOW_PAD_S - heard_until > TAIL_GAP_S:
        tail = Window(start=max(window.start, heard_until - WINDOW_PAD_S), end=window.end, speech_s=0.0)
        retry = dataclasses.replace(options, initial_prompt=_prompt(options.language, ""))
        for seg in _decode(recognizer, _clip(audio, tail), retry):
            later = [w for w in _shift(seg.words, tail.start) if _centre(w) > heard_until]
            if later:
                words.append(later)
                texts.append("".join(w.text for w in later))
    return words, "".join(texts).strip()


def _prompt(language: str, previous_text: str) -> str | None:
    """The tail of the previous window's text, after the simplified-Chinese cue for Mandarin."""
    prompt = (ZH_PROMPT if language == "zh" else "") + previous_text[-PROMPT_CHARS:]
    return prompt or None


def _decode(recognizer: SpeechRecognizer, audio: np.ndarray, options: DecodeOptions) -> list:
    return [s for s in recognizer.transcribe(audio, options) if s.compression_ratio <= LOOP_COMPRESSION_RATIO]


def detect_language(recognizer: SpeechRecognizer, audio: np.ndarray, windows: list[Window]) -> str:
    """Whisper's language detection on the speechiest window; when it is unsure, the
    probabilities of the next speechiest windows are added in (up to LANGUAGE_WINDOWS):
    one window of unclear speech can be heard as the wrong language."""
    ranked = sorted(windows, key=lambda w: -w.speech_s)[:LANGUAGE_WINDOWS]
    totals: dict[str, float] = {}
    for window in ranked:
        for language, p in recognizer.detect_language(_clip(audio, window)).items():
            totals[language] = totals.get(language, 0.0) + p
        if max(totals.values()) >= LANGUAGE_SURE * sum(totals.values()):
            break
    return max(totals, key=totals.get)


def plan_windows(
    spans: list[SpeechSpan], *, duration: float, window_s: float, overlap_s: float, merge_gap_s: float
) -> list[Window]:
    """Pack VAD speech spans into windows of at most `window_s` (plus padding and overlap).

    Spans closer than `merge_gap_s` share a window while it fits. When a window has to
    end inside continuous speech (the next span follows within `merge_gap_s`), the next
    window starts `overlap_s` earlier, so a word cut at the boundary is heard whole once.
    """
    if window_s + overlap_s + 2 * WINDOW_PAD_S > 30:
        raise ValueError("asr_window_s + asr_overlap_s must leave room in Whisper's 30 s input")
    groups: list[list[SpeechSpan]] = []
    for span in spans:
        group = groups[-1] if groups else None
        if group and span.start - group[-1].end <= merge_gap_s and span.end - group[0].start <= window_s:
            group.append(span)
        else:
            groups.append([span])

    windows: list[Window] = []
    for i, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        continues = i > 0 and start - groups[i - 1][-1].end <= merge_gap_s
        if continues:
            start = max(groups[i - 1][0].start, start - overlap_s)
        windows.append(
            Window(
                start=round(max(0.0, start - WINDOW_PAD_S), 3),
                end=round(min(duration, end + WINDOW_PAD_S), 3),
                speech_s=sum(s.duration for s in group),
            )
        )
    return windows


def merge_windows(windows: list[Window], words_per_window: list[list[list[Word]]]) -> list[list[Word]]:
    """Segments (lists of words in source time) with each overlap between consecutive
    windows transcribed once. See the module docstring for the rule."""
    kept: list[list[list[Word]]] = [[list(seg) for seg in segs] for segs in words_per_window]
    for k in range(1, len(windows)):
        before, after = windows[k - 1], windows[k]
        if after.start >= before.end:
            continue
        cut = (after.start + before.end) / 2
        # Prompted with the earlier text, the later window may start only after the words
        # it was told about; an earlier window may stop early. Neither loses words then.
        after_words = [w for seg in kept[k] for w in seg]
        before_words = [w for seg in kept[k - 1] for w in seg]
        if after_words:
            cut = max(cut, after_words[0].start)
        if before_words:
            cut = min(cut, before_words[-1].end)
        kept[k - 1] = [[w for w in seg if _centre(w) < cut] for seg in kept[k - 1]]
        kept[k] = [[w for w in seg if _centre(w) >= cut] for seg in kept[k]]
        _drop_repeat_at_cut(kept[k - 1], kept[k])
    return [seg for segs in kept for seg in segs if seg]


def _drop_repeat_at_cut(before: list[list[Word]], after: list[list[Word]], max_words: int = 4) -> None:
    tail = [w for seg in before for w in seg][-max_words:]
    head = [w for seg in after for w in seg][:max_words]
    for n in range(min(len(tail), len(head)), 0, -1):
        same_words = [_norm(w.text) for w in tail[-n:]] == [_norm(w.text) for w in head[:n]]
        same_time = head[n - 1].start < tail[-1].end + 0.5
        if same_words and same_time:
            for seg in after:  # remove the first n words
                take = min(n, len(seg))
                del seg[:take]
                n -= take
                if n == 0:
                    break
            return


def split_sentences(words: list[Word]) -> list[list[Word]]:
    """One Whisper segment as sentences (a long window's segment can hold four of them).

    A segment is what retrieval cites and what a moment's evidence is built from, so it should
    say one thing: cut after sentence-final punctuation, and cut a sentence still longer than
    `MAX_SEGMENT_S` at its longest pause between words."""
    sentences: list[list[Word]] = [[]]
    for i, word in enumerate(words):
        sentences[-1].append(word)
        if SENTENCE_END.search(word.text.strip()) and i + 1 < len(words):
            sentences.append([])
    return [piece for sentence in sentences if sentence for piece in _split_long(sentence)]


def _split_long(words: list[Word]) -> list[list[Word]]:
    if len(words) < 2 or words[-1].end - words[0].start <= MAX_SEGMENT_S:
        return [words]
    cut = max(range(1, len(words)), key=lambda i: words[i].start - words[i - 1].end)
    return _split_long(words[:cut]) + _split_long(words[cut:])


def _segment(words: list[Word], language: str) -> Segment:
    text = "".join(w.text for w in words).replace("\ufffd", "")  # half a UTF-8 character
    return Segment(t0=round(words[0].start, 2), t1=round(words[-1].end, 2), text=text.strip(), language=language)


def _clip(audio: np.ndarray, window: Window) -> np.ndarray:
    return audio[int(window.start * SAMPLE_RATE) : int(window.end * SAMPLE_RATE)]


def _shift(words: tuple[Word, ...], offset: float) -> list[Word]:
    return [Word(w.start + offset, w.end + offset, w.text, w.probability) for w in words]


def _centre(word: Word) -> float:
    return (word.start + word.end) / 2


def _norm(text: str) -> str:
    return re.sub(r"[^\w]", "", text.lower())

