"""Transcription CPU and accuracy on the demo corpus: `transcribe()` per video, against its narration script.

    python bench/bench_asr.py --corpus DIR                        # a folder made by `argus demo-corpus`
    python bench/bench_asr.py --corpus DIR --set asr_beam_size=1 --set asr_merge_gap_s=1.5

Each `--set` overrides one setting (the value is JSON). Prints per video the CPU seconds of this process
and the word error rate (English, Whisper's English normaliser) or character error rate (Chinese), then
the total CPU and the mean English WER; writes bench/results/asr.json. Models load before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jiwer  # noqa: E402

from core.settings import get_settings  # noqa: E402
from pipelines.demo.manifest import DemoManifest  # noqa: E402
from pipelines.ingest.media import decode_audio  # noqa: E402
from pipelines.ingest.transcribe import SAMPLE_RATE, transcribe  # noqa: E402

RESULTS = REPO / "bench" / "results" / "asr.json"


def overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        out[name] = json.loads(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a demo corpus folder (with manifest.json)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=JSON", help="override a setting")
    parser.add_argument("--videos", nargs="*", help="only these video ids")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    normalise = EnglishTextNormalizer({})
    settings = get_settings().model_copy(update=overrides(args.set))
    manifest = DemoManifest.from_dict(json.loads((args.corpus / "manifest.json").read_text(encoding="utf-8")))
    videos = [v for v in manifest.videos if not args.videos or v.video_id in args.videos]
    audio = {v.video_id: decode_audio(args.corpus / v.file) for v in videos}
    transcribe(audio[videos[0].video_id][: 5 * SAMPLE_RATE], settings=settings)  # load the models

    rows = []
    for video in videos:
        started = time.process_time()
        heard = transcribe(audio[video.video_id], settings=settings).text
        cpu = time.process_time() - started
        script = " ".join(span.text for span in video.narration)
        if video.lang == "en":
            error = {"wer": jiwer.wer(normalise(script), normalise(heard))}
        else:
            error = {"cer": jiwer.cer(script, re.sub(r"\s", "", heard))}
        rows.append({"video": video.video_id, "lang": video.lang, "cpu_s": round(cpu, 1),
                     **{k: round(v, 4) for k, v in error.items()}})
        print(f"{video.video_id:24s} cpu {cpu:6.1f} s  " + "  ".join(f"{k} {v:.1%}" for k, v in error.items()))
    wers = [r["wer"] for r in rows if "wer" in r]
    result = {"settings": overrides(args.set), "videos": rows, "cpu_s": round(sum(r["cpu_s"] for r in rows), 1),
              "mean_english_wer": round(sum(wers) / len(wers), 4) if wers else None}
    print(f"total cpu {result['cpu_s']} s; mean English WER "
          + (f"{result['mean_english_wer']:.1%}" if wers else "–"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
