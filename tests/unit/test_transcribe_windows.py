"""Windowing VAD spans for Whisper and merging overlapping windows (no models)."""

from __future__ import annotations

import numpy as np
import pytest

from models.asr import AsrSegment, DecodeOptions, Word
from models.vad import SpeechSpan
from pipelines.ingest.transcribe import (
    WINDOW_PAD_S,
    Window,
    decode_window,
    detect_language,
    merge_windows,
    plan_windows,
)

pytestmark = pytest.mark.unit


def plan(spans: list[tuple[float, float]], duration: float = 100.0) -> list[Window]:
    return plan_windows([SpeechSpan(a, b) for a, b in spans], duration=duration, window_s=15.0, overlap_s=2.0,
                        merge_gap_s=1.5)


def words(*items: tuple[str, float, float]) -> list[Word]:
    return [Word(start, end, text, 0.9) for text, start, end in items]


def test_near_spans_share_a_window_and_far_ones_do_not() -> None:
    windows = plan([(1.0, 3.0), (3.5, 6.0), (7.0, 9.0), (30.0, 33.0)])
    assert [(w.start, w.end) for w in windows] == [(1.0 - WINDOW_PAD_S, 9.0 + WINDOW_PAD_S),
                                                   (30.0 - WINDOW_PAD_S, 33.0 + WINDOW_PAD_S)]
    assert windows[0].speech_s == pytest.approx(6.5)


def test_a_window_ending_inside_continuous_speech_overlaps_the_next() -> None:
    windows = plan([(0.0, 8.0), (8.2, 14.0), (14.3, 20.0)])
    assert len(windows) == 2
    assert windows[0].end == pytest.approx(14.0 + WINDOW_PAD_S)
    assert windows[1].start == pytest.approx(14.3 - 2.0 - WINDOW_PAD_S)  # pulled back by the overlap


def test_windows_stay_inside_the_audio_and_whispers_30_s() -> None:
    windows = plan([(0.1, 4.0), (96.0, 99.95)], duration=100.0)
    assert windows[0].start == 0.0 and windows[-1].end == 100.0
    with pytest.raises(ValueError, match="30 s"):
        plan_windows([], duration=1.0, window_s=28.0, overlap_s=2.0, merge_gap_s=1.0)


def test_no_speech_no_windows() -> None:
    assert plan([]) == []


def test_overlap_is_cut_at_its_middle_by_word_time() -> None:
    windows = [Window(0.0, 16.0, 15.0), Window(12.0, 25.0, 12.0)]
    first = [words((" ask", 11.0, 11.4), (" not", 11.5, 11.9), (" what", 13.5, 13.8), (" your", 14.6, 15.0))]
    second = [words((" what", 13.6, 13.9), (" your", 14.5, 14.9), (" country", 15.0, 15.6), (" can", 15.7, 16.0))]
    merged = merge_windows(windows, [first, second])
    text = "".join(w.text for seg in merged for w in seg)
    assert text == " ask not what your country can"


def test_a_word_both_windows_kept_across_the_cut_is_kept_once() -> None:
    # Word times jitter: the first window puts "your" just before the cut (14.0), the
    # second puts the same "your" just after it.
    windows = [Window(0.0, 16.0, 15.0), Window(12.0, 25.0, 12.0)]
    first = [words((" what", 13.2, 13.5), (" your", 13.6, 13.9))]
    second = [words((" your", 13.9, 14.3), (" country", 14.4, 15.0))]
    merged = merge_windows(windows, [first, second])
    assert "".join(w.text for seg in merged for w in seg) == " what your country"


def test_a_real_repeat_far_apart_in_time_is_kept() -> None:
    windows = [Window(0.0, 16.0, 15.0), Window(12.0, 25.0, 12.0)]
    first = [words((" no", 12.0, 12.3))]
    second = [words((" no", 15.0, 15.3), (" way", 15.4, 15.8))]
    merged = merge_windows(windows, [first, second])
    assert "".join(w.text for seg in merged for w in seg) == " no no way"


def test_no_word_is_lost_when_the_later_window_skips_the_overlap() -> None:
    # The later window, prompted with the earlier text, starts after the words it was told
    # about; the earlier window's words up to its end are kept.
    windows = [Window(0.0, 16.0, 15.0), Window(12.0, 25.0, 12.0)]
    first = [words((" ask", 12.5, 12.9), (" not", 13.0, 13.3), (" what", 14.2, 14.5), (" your", 14.6, 15.0))]
    second = [words((" country", 15.1, 15.6), (" can", 15.7, 16.0))]
    merged = merge_windows(windows, [first, second])
    assert "".join(w.text for seg in merged for w in seg) == " ask not what your country can"


def test_windows_without_overlap_are_left_alone() -> None:
    windows = [Window(0.0, 5.0, 4.0), Window(20.0, 25.0, 4.0)]
    first, second = [words((" hello", 1.0, 1.5))], [words((" hello", 21.0, 21.5))]
    assert len(merge_windows(windows, [first, second])) == 2


class ScriptedRecognizer:
    """Language probabilities per window, told apart by the clip's length in samples."""

    name = "scripted"

    def __init__(self, by_length: dict[int, dict[str, float]]):
        self.by_length = by_length
        self.calls = 0

    def detect_language(self, audio: np.ndarray) -> dict[str, float]:
        self.calls += 1
        return self.by_length[len(audio)]


def test_a_sure_language_is_detected_on_the_speechiest_window_alone() -> None:
    windows = [Window(0.0, 2.0, 1.5), Window(10.0, 14.0, 3.5)]
    recognizer = ScriptedRecognizer({64_000: {"en": 0.95, "de": 0.05}, 32_000: {"th": 0.9}})
    assert detect_language(recognizer, np.zeros(16_000 * 20, np.float32), windows) == "en"
    assert recognizer.calls == 1


def test_an_unsure_language_is_voted_over_the_speechiest_windows() -> None:
    # Unclear speech: the speechiest window alone says Thai; three windows together say Chinese.
    windows = [Window(0.0, 5.0, 5.0), Window(10.0, 14.0, 4.0), Window(20.0, 23.0, 3.0), Window(30.0, 32.0, 2.0)]
    recognizer = ScriptedRecognizer({
        80_000: {"th": 0.6, "zh": 0.3}, 64_000: {"zh": 0.7, "th": 0.1}, 48_000: {"zh": 0.5, "la": 0.3},
        32_000: {"th": 1.0},
    })
    assert detect_language(recognizer, np.zeros(16_000 * 40, np.float32), windows) == "zh"
    assert recognizer.calls == 3  # the least speechy window is not consulted


class EarlyEndingRecognizer:
    """Hears two sentences in a 15 s clip, but with a prompt stops after the first (as Whisper
    base did on jfk); a shorter clip is the retry of the tail."""

    name = "early-ending"

    def __init__(self) -> None:
        self.prompts: list[str | None] = []

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> list[AsrSegment]:
        self.prompts.append(options.initial_prompt)
        seconds = len(audio) / 16_000
        if seconds < 10:  # the tail, from 6.75 s: its first word repeats the last one heard
            return [AsrSegment(0.0, 5.0, " country. The speech ended.", tuple(words(
                (" country.", 0.1, 0.4), (" The", 1.5, 1.7), (" speech", 1.8, 2.2), (" ended.", 2.3, 2.8))), 1.2)]
        first = AsrSegment(0.0, 7.0, " Ask what you can do for your country.", tuple(words(
            (" Ask", 0.5, 0.8), (" what", 0.9, 1.1), (" your", 6.0, 6.4), (" country.", 6.5, 7.0))), 1.3)
        second = AsrSegment(8.2, 9.6, " The speech ended.", tuple(words(
            (" The", 8.2, 8.4), (" speech", 8.5, 8.9), (" ended.", 9.0, 9.5))), 1.2)
        return [first] if options.initial_prompt else [first, second]


def test_speech_a_prompted_window_left_unsaid_is_decoded_again_without_the_prompt() -> None:
    recognizer = EarlyEndingRecognizer()
    window = Window(10.0, 25.0, 12.0)  # speech until 24.75 s; the prompted decode stops at 17 s
    options = DecodeOptions(language="en", beam_size=2, initial_prompt="And so, my fellow Americans")
    found, text = decode_window(recognizer, np.zeros(16_000 * 30, np.float32), window, options)
    assert recognizer.prompts == ["And so, my fellow Americans", None]
    assert text == "Ask what you can do for your country. The speech ended."
    assert [w.text for seg in found for w in seg][-3:] == [" The", " speech", " ended."]
    assert found[-1][0].start == pytest.approx(16.75 + 1.5)  # tail clip starts 0.25 s before the last word's end


def test_a_window_heard_to_its_end_is_decoded_once() -> None:
    recognizer = EarlyEndingRecognizer()
    found, _ = decode_window(recognizer, np.zeros(16_000 * 30, np.float32), Window(10.0, 21.0, 10.0),
                             DecodeOptions(language="en", beam_size=2))
    assert recognizer.prompts == [None] and len(found) == 2


def _words(spec: list[tuple[float, float, str]]) -> list[Word]:
    return [Word(t0, t1, text, 0.9) for t0, t1, text in spec]


def test_a_long_segment_is_cut_into_sentences_and_long_sentences_at_their_longest_pause() -> None:
    from pipelines.ingest.transcribe import split_sentences

    words = _words([(21.5, 22.0, " The"), (22.0, 26.5, " water is 92 to 96 degrees."),
                    (27.0, 28.0, " Grind"), (28.0, 30.0, " the beans!"), (30.5, 31.0, " 你好。")])
    texts = ["".join(w.text for w in s).strip() for s in split_sentences(words)]
    assert texts == ["The water is 92 to 96 degrees.", "Grind the beans!", "你好。"]
    rambling = _words([(0, 5, " a"), (5, 10, " b"), (13, 18, " c"), (18, 20, " d")])  # 20 s, no full stop
    assert [[w.text for w in s] for s in split_sentences(rambling)] == [[" a", " b"], [" c", " d"]]
    assert split_sentences([]) == []
