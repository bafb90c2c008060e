"""The cost of describing keyframes, with and without the extra crops and detector tiles.

    python bench/bench_visual_cost.py --home HOME [--repeat 2]

Reads every keyframe JPEG of an ingested base (HOME/media), runs
`describe_keyframe_with_evidence` on each: the whole frame only (detector, tagger, OCR), with
`visual_crops` (the tagger also on the 2x2 grid, the centre and up to three boxes), and with
`visual_detect_tiles` too (the detector also on the four quarters), and
prints CPU and wall seconds per keyframe, the extra tagger passes, and what that means
per second of video (keyframes per video-second of the base). The visual stage runs in a
thread beside transcription, so on a video with speech it adds wall time only where it is
slower than transcription. Writes bench/results/visual_cost.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "visual_cost.json")
    args = parser.parse_args()
    os.environ["ARGUS_HOME"] = str(args.home)

    from core.settings import get_settings
    from pipelines.ingest.visual import describe_keyframe_with_evidence, load_rgb
    from pipelines.store.catalog import open_catalog

    catalog = open_catalog(get_settings())
    sources = [s for s in catalog.list_sources() if s.duration_s and s.type.value == "video"]
    frames = [load_rgb(k.path) for s in sources for k in catalog.keyframes(s.id)]
    video_s = sum(s.duration_s for s in sources)
    describe_keyframe_with_evidence(frames[0])  # load the models outside the timing
    result = {"keyframes": len(frames), "video_seconds": round(video_s, 1),
              "keyframes_per_video_second": round(len(frames) / video_s, 4), "load_average": os.getloadavg()[0]}
    configs = {"whole_frame": (False, False), "crops": (True, False), "crops_and_tiles": (True, True)}
    for name, (crops, tiles) in configs.items():
        os.environ["ARGUS_VISUAL_CROPS"] = "true" if crops else "false"
        os.environ["ARGUS_VISUAL_DETECT_TILES"] = "true" if tiles else "false"
        get_settings.cache_clear()
        views = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(args.repeat):
            for frame in frames:
                views += len(describe_keyframe_with_evidence(frame)[3]["views"])
        n = args.repeat * len(frames)
        cpu, wall = (time.process_time() - cpu0) / n, (time.perf_counter() - wall0) / n
        result[name] = {
            "cpu_s_per_keyframe": round(cpu, 3), "wall_s_per_keyframe": round(wall, 3),
            "tagger_passes_per_keyframe": round(views / n, 2),
            "cpu_s_per_video_second": round(cpu * len(frames) / video_s, 4),
            "x_real_time_one_core": round(video_s / (cpu * len(frames)), 1)}
        print(f"{name:16s}", result[name])
    print({k: v for k, v in result.items() if k not in configs})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
