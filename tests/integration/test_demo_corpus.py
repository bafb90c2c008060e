"""The demo corpus, built for real: its files decode, the narration is really in the audio
(Whisper recovers the script), and the scene cuts are where the manifest says."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import av
import cv2
import jiwer
import numpy as np
import pytest
from faster_whisper import WhisperModel, decode_audio
from pypdf import PdfReader

from pipelines.demo import DemoManifest, build_demo_corpus
from pipelines.demo.doc_texts import DOCUMENTS, GIANT_PANDA, GREAT_WALL
from pipelines.demo.manifest import MANIFEST_NAME, QUERIES_NAME, VideoEntry

pytestmark = pytest.mark.integration

SAMPLE_RATE = 16_000
CJK = re.compile(r"[\u4e00-\u9fff]")
CUT_TOLERANCE = 0.2  # seconds
CUT_THRESHOLD = 10.0  # mean absolute grayscale difference that counts as a cut
# espeak-ng's English is robotic but clear: Whisper base gets about 4 % WER on the coffee
# video (5-23 % on the others). Any wrong or missing narration scores near 100 %.
MAX_ENGLISH_WER = 0.35
# espeak-ng's Mandarin is much harder: about 60 % CER on the tea video, against 97-99 %
# for an unrelated Chinese text of the same length.
MAX_CHINESE_CER = 0.8


@pytest.fixture(scope="module")
def whisper() -> WhisperModel:
    from models.registry import resolve

    return WhisperModel(str(resolve("asr")), device="cpu", compute_type="int8", cpu_threads=2)


def _video(manifest: DemoManifest, video_id: str) -> VideoEntry:
    for v in manifest.videos:
        if v.video_id == video_id:
            return v
    pytest.skip(f"{video_id} was not built: {manifest.skipped}")


def _script(video: VideoEntry) -> str:
    return " ".join(span.text for span in video.narration)


def _cjk(text: str) -> str:
    return "".join(CJK.findall(text))


def _gray_frames(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    times, frames = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            times.append(frame.time)
            frames.append(cv2.cvtColor(frame.to_ndarray(format="rgb24"), cv2.COLOR_RGB2GRAY))
    return np.array(times), frames


# --- what was built ---------------------------------------------------------------------


def test_corpus_has_the_promised_contents(corpus):
    out, manifest, seconds = corpus
    assert seconds < 240, f"building the corpus took {seconds:.0f} s"
    assert DemoManifest.load(out / MANIFEST_NAME) == manifest
    # Seven videos; six when the shared speech recordings are absent.
    assert len(manifest.videos) + len(manifest.skipped) == 7
    assert len(manifest.videos) >= 6
    assert len({v.topic for v in manifest.videos}) == len(manifest.videos)
    assert {v.lang for v in manifest.videos} == {"en", "zh"}
    for video in manifest.videos:
        kinds = {s.kind for s in video.scenes}
        assert {"title", "slide", "photo"} <= kinds, video.video_id
        assert any(s.objects for s in video.scenes if s.kind == "photo")
        assert video.narration and all(s.on_screen_text for s in video.scenes)
    assert any(s.t1 - s.t0 >= 20 for v in manifest.videos for s in v.scenes), "no long static shot"
    assert {d.format for d in manifest.documents} >= {"pdf", "markdown", "html", "text"}
    assert any("zh" in d.langs for d in manifest.documents)


def test_videos_decode_with_audio_and_video_of_the_right_length(corpus):
    out, manifest, _ = corpus
    for video in manifest.videos:
        with av.open(str(out / video.file)) as container:
            assert container.streams.video and container.streams.audio
            duration = container.duration / av.time_base
            assert 20 <= duration <= 90, video.video_id
            assert abs(duration - video.duration) < 0.2
            stream = container.streams.video[0]
            assert (stream.codec_context.width, stream.codec_context.height) == (video.width, video.height)
            assert container.streams.audio[0].codec_context.sample_rate >= 16_000
            frames = sum(1 for _ in container.decode(video=0))
        assert frames == round(video.duration * video.fps)
        audio = decode_audio(str(out / video.file), sampling_rate=SAMPLE_RATE)
        assert abs(len(audio) / SAMPLE_RATE - video.duration) < 0.2


def test_scene_cuts_are_where_the_manifest_says(corpus):
    out, manifest, _ = corpus
    for video in manifest.videos:
        times, frames = _gray_frames(out / video.file)
        diffs = np.array([cv2.absdiff(a, b).mean() for a, b in zip(frames, frames[1:], strict=False)])
        peaks = times[1:][diffs > CUT_THRESHOLD]
        assert len(peaks) == len(video.cuts), f"{video.video_id}: cuts at {peaks}, manifest says {video.cuts}"
        for peak, cut in zip(peaks, video.cuts, strict=True):
            assert abs(peak - cut) <= CUT_TOLERANCE, (
                f"{video.video_id}: cut at {peak:.2f} s, manifest says {cut}"
            )
        # Between cuts every shot is still: that is what makes the long shot "static".
        assert diffs[diffs <= CUT_THRESHOLD].max() < 2.0


def test_narration_sits_in_its_labelled_spans(corpus):
    """Speech where the manifest puts a sentence, silence in the pauses between them."""
    out, manifest, _ = corpus
    for video in manifest.videos:
        audio = decode_audio(str(out / video.file), sampling_rate=SAMPLE_RATE)
        quiet = np.ones(len(audio), bool)
        for scene in video.scenes:
            for span in scene.narration:
                assert scene.t0 <= span.t0 < span.t1 <= scene.t1
                a, b = round(span.t0 * SAMPLE_RATE), round(span.t1 * SAMPLE_RATE)
                rms = float(np.sqrt(np.mean(audio[a:b] ** 2)))
                assert rms > 0.02, f"{video.video_id}: no speech at {span.t0}-{span.t1} ({span.text!r})"
                # AAC smears a little energy around each sentence: leave a margin.
                quiet[max(a - 3200, 0) : b + 3200] = False
        gap_rms = float(np.sqrt(np.mean(audio[quiet] ** 2)))
        assert gap_rms < 0.005, f"{video.video_id}: sound between the labelled sentences"


def test_documents_parse_and_pdf_pages_hold_their_sections(corpus):
    out, manifest, _ = corpus
    texts = {d.file_name: d for d in DOCUMENTS}
    for entry in manifest.documents:
        path = out / entry.file
        doc = texts[path.name]
        if entry.format == "pdf":
            reader = PdfReader(path)
            assert len(reader.pages) == entry.pages == len(doc.sections)
            for page, section in zip(reader.pages, doc.sections, strict=True):
                text = " ".join(page.extract_text().split())
                assert section.heading in text
                # The text layer holds the body, not just the heading.
                first_words = section.paragraphs[0][:12]
                assert first_words in text, f"{first_words!r} not on page"
        elif entry.format == "html":
            parser = _Headings()
            parser.feed(path.read_text(encoding="utf-8"))
            assert parser.headings == [doc.title, *(s.heading for s in doc.sections)]
        elif entry.format == "markdown":
            lines = path.read_text(encoding="utf-8").splitlines()
            assert lines[0] == f"# {doc.title}"
            assert [line[3:] for line in lines if line.startswith("## ")] == [s.heading for s in doc.sections]
        else:
            text = path.read_text(encoding="utf-8")
            assert all(p in text for s in doc.sections for p in s.paragraphs)
        if entry.langs == ["zh"]:
            assert CJK.search(path.read_text(encoding="utf-8"))


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        self._inside = tag in ("h1", "h2")

    def handle_endtag(self, tag):
        self._inside = False

    def handle_data(self, data):
        if self._inside:
            self.headings.append(data)


# Words that must be on the page a document query points at.
PAGE_WORDS = {
    "honeybee_field_guide.pdf": {1: "60,000", 2: "von Frisch", 3: "two million", 4: "bee space", 5: "工蜂"},
}


def test_queries_file_is_valid_and_points_at_real_content(corpus):
    out, manifest, _ = corpus
    rows = [json.loads(line) for line in (out / QUERIES_NAME).read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 40 and manifest.query_counts["total"] == len(rows)
    assert {r["lang"] for r in rows} == {"en", "zh"}
    assert {r["kind"] for r in rows} == {"speech", "on_screen_text", "visual_object", "document"}
    videos = {Path(v.file).name: v for v in manifest.videos}
    documents = {Path(d.file).name: d for d in manifest.documents}
    for row in rows:
        assert isinstance(row["query"], str) and row["query"]
        assert row["source"] in videos or row["source"] in documents, row
        if row["source"] in videos:
            video = videos[row["source"]]
            assert 0 <= row["t0"] < row["t1"] <= video.duration
            if row["kind"] == "speech":
                assert any((s.t0, s.t1) == (row["t0"], row["t1"]) for s in video.narration), row
            else:
                scene = next(s for s in video.scenes if (s.t0, s.t1) == (row["t0"], row["t1"]))
                assert (scene.kind == "photo") == (row["kind"] == "visual_object"), row
        else:
            assert "t0" not in row and row["kind"] == "document"
            if "page" in row:
                reader = PdfReader(out / documents[row["source"]].file)
                text = reader.pages[row["page"] - 1].extract_text()
                assert PAGE_WORDS[row["source"]][row["page"]] in text, row


# --- the narration is really there --------------------------------------------------------


def test_english_narration_is_recognised(corpus, whisper):
    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    normalise = EnglishTextNormalizer({})  # Whisper's own: "ninety two" and "92" compare equal
    out, manifest, _ = corpus
    video = _video(manifest, "coffee_brewing")
    segments, info = whisper.transcribe(str(out / video.file), beam_size=1)
    heard = " ".join(s.text for s in segments)
    assert info.language == "en"
    wer = jiwer.wer(normalise(_script(video)), normalise(heard))
    assert wer <= MAX_ENGLISH_WER, f"WER {wer:.2f}: heard {heard!r}"
    other = _video(manifest, "cats_as_pets")
    assert jiwer.wer(normalise(_script(other)), normalise(heard)) > 0.8, (
        "the WER check cannot tell scripts apart"
    )


def test_real_speech_recording_is_in_its_span(corpus, whisper):
    out, manifest, _ = corpus
    video = _video(manifest, "jfk_inaugural")
    span = next(s for s in video.narration if s.voice.startswith("recording:"))
    audio = decode_audio(str(out / video.file), sampling_rate=SAMPLE_RATE)
    clip = audio[round(span.t0 * SAMPLE_RATE) : round(span.t1 * SAMPLE_RATE)]
    segments, _ = whisper.transcribe(clip, beam_size=1, language="en")
    heard = " ".join(s.text for s in segments).lower()
    assert "ask not what your country can do for you" in heard, heard


def test_chinese_narration_is_recognised_as_chinese(corpus, whisper):
    out, manifest, _ = corpus
    video = _video(manifest, "tea_history_zh")
    audio = decode_audio(str(out / video.file), sampling_rate=SAMPLE_RATE)
    _, _, probabilities = whisper.detect_language(audio[: 30 * SAMPLE_RATE])
    probability = dict(probabilities)
    assert probability["zh"] > probability["en"], probabilities[:3]
    # Sentence by sentence, as an ingester that cuts speech at pauses would. The prompt
    # asks for simplified characters, which the script uses.
    heard = []
    for span in video.narration:
        clip = audio[round((span.t0 - 0.3) * SAMPLE_RATE) : round((span.t1 + 0.3) * SAMPLE_RATE)]
        segments, _ = whisper.transcribe(
            clip,
            beam_size=1,
            language="zh",
            temperature=0.0,
            condition_on_previous_text=False,
            initial_prompt="以下是普通话的句子。",
            without_timestamps=True,
            max_new_tokens=60,
        )
        heard.append("".join(s.text for s in segments))
    text = _cjk("".join(heard))
    assert text, f"no Chinese characters in {heard!r}"
    script = _cjk(_script(video))
    cer = jiwer.cer(script, text)
    assert cer <= MAX_CHINESE_CER, f"CER {cer:.2f}: heard {heard!r}"
    for other in (GREAT_WALL, GIANT_PANDA):
        unrelated = _cjk("".join(p for s in other.sections for p in s.paragraphs))[: len(script)]
        assert jiwer.cer(unrelated, text) > cer + 0.15, "the CER check cannot tell scripts apart"


# --- rebuilding ----------------------------------------------------------------------------


def test_rebuilding_keeps_what_is_current_and_repairs_what_is_not(corpus):
    out, manifest, _ = corpus
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = build_demo_corpus(out, progress=False)
    assert again == manifest
    assert all(p.stat().st_mtime_ns == stamps[p] for p in stamps if p.parent.name in ("videos", "documents"))

    damaged = out / manifest.videos[0].file
    damaged.write_bytes(b"not a video")
    (out / manifest.documents[0].file).unlink()
    repaired = build_demo_corpus(out, progress=False)
    assert repaired == manifest
    assert (out / manifest.documents[0].file).is_file()
    with av.open(str(damaged)) as container:
        assert container.streams.video
