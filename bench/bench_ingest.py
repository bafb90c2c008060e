"""Ingestion throughput: video-seconds processed per wall-second, per stage and overall.

    python bench/bench_ingest.py                    # the demo corpus (built into ./demo_corpus if missing)
    python bench/bench_ingest.py --corpus DIR       # any folder of videos and documents
    python bench/bench_ingest.py --workers 2 --engine ray

Each run ingests into a fresh, temporary base (the model cache of ARGUS_HOME is used,
as by `make`: ARGUS_HOME=.argus), so every file is processed. Stage times come from the job runner's stage events; peak
memory is the largest resident set of this process and its worker processes together,
sampled every 0.2 s. Results are printed and written to bench/results/ingest.json.

The last line compares faster-whisper with openai-whisper's `transcribe` on the same
audio, when openai-whisper weights are configured (`ARGUS_OPENAI_WHISPER_MODEL`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from core.settings import Settings, get_settings  # noqa: E402
from pipelines.ingest.jobs import ingest  # noqa: E402

RESULTS = REPO / "bench" / "results" / "ingest.json"
TARGET_SPEED = 5.0  # x real time, without a VLM
console = Console()


def _now() -> tuple[float, float]:
    """(wall clock, CPU seconds of this process's threads)."""
    return time.perf_counter(), time.process_time()


class StageClock:
    """A progress sink that timestamps each file's stages (a stage ends when the next begins).

    It also reads this process's CPU time at each mark; with one worker the stages run in
    this process, so that is each stage's CPU cost, which a busy machine does not inflate."""

    def __init__(self) -> None:
        self.starts: dict[int, list[tuple[str, tuple[float, float]]]] = defaultdict(list)
        self.ends: dict[int, tuple[float, float]] = {}

    def begin(self, total: int) -> None:
        pass

    def stage(self, job_id: int, name: str, stage: str, fraction: float) -> None:
        marks = self.starts[job_id]
        if stage != "hash" and (not marks or marks[-1][0] != stage):  # hashing runs before the queue
            marks.append((stage, _now()))

    def finished(self, job_id: int, name: str, status: str) -> None:
        self.ends[job_id] = _now()

    def end(self) -> None:
        pass

    def durations(self, job_id: int) -> dict[str, tuple[float, float]]:
        """stage -> (wall seconds, CPU seconds)."""
        marks = self.starts.get(job_id, [])
        if not marks:
            return {}
        bounds = [t for _, t in marks[1:]] + [self.ends.get(job_id, marks[-1][1])]
        out: dict[str, tuple[float, float]] = {}
        for (stage, (wall0, cpu0)), (wall1, cpu1) in zip(marks, bounds, strict=True):
            wall, cpu = out.get(stage, (0.0, 0.0))
            out[stage] = (wall + wall1 - wall0, cpu + cpu1 - cpu0)
        return out


class PeakMemory:
    """Largest RSS of this process plus all its descendants, sampled in a thread."""

    def __init__(self, interval_s: float = 0.2):
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue  # a worker that just exited
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval_s)


def demo_corpus(folder: Path) -> Path:
    from pipelines.demo import build_demo_corpus

    if not (folder / "manifest.json").is_file():
        console.print(f"building the demo corpus in {folder} …")
    build_demo_corpus(folder, progress=False)
    return folder


def run(corpus: Path, *, workers: int | None, engine: str) -> dict:
    home = Path(tempfile.mkdtemp(prefix="argus-bench-"))
    # A fresh base, but the usual model cache (model loaders read the process settings).
    os.environ.setdefault("ARGUS_MODELS_DIR", str(get_settings().model_cache))
    get_settings.cache_clear()
    settings = Settings(home=home)
    clock = StageClock()
    started = time.perf_counter()
    with PeakMemory() as memory:
        report = ingest([corpus], recursive=True, workers=workers, engine=engine, progress=clock, settings=settings)
    wall = time.perf_counter() - started

    media = [f for f in report.files if f.status == "done" and f.duration_s]
    documents = [f for f in report.files if f.status == "done" and f.type == "document"]
    media_seconds = sum(f.duration_s for f in media)
    per_stage: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    media_busy = media_cpu = 0.0
    for f in media:
        for stage, (wall_s, cpu_s) in clock.durations(f.job_id).items():
            per_stage[stage][0] += wall_s
            per_stage[stage][1] += cpu_s
            media_busy += wall_s
            media_cpu += cpu_s
    doc_seconds = sum(w for f in documents for w, _ in clock.durations(f.job_id).values())
    workers = report.workers  # as `ingest` chose when not told
    in_process = workers == 1 and engine == "local"  # only then is this process's CPU time the stages' CPU time
    threads = get_settings().threads
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {
        "corpus": str(corpus),
        "workers": workers,
        "engine": engine,
        "threads": threads,
        "captioner": get_settings().captioner_model or None,
        "files": {s: len(report.by_status(s)) for s in ("done", "skipped", "failed")},
        "failures": [{"file": f.name, "reason": f.reason} for f in report.by_status("failed")],
        "media_files": len(media),
        "media_seconds": round(media_seconds, 2),
        "stages": {stage: {"seconds": round(w, 2), "x_realtime": round(media_seconds / w, 2) if w else None,
                           "cpu_seconds": round(c, 2) if in_process else None,
                           "x_realtime_per_cpu_thread": _per_cpu(media_seconds, c, threads) if in_process else None}
                   for stage, (w, c) in per_stage.items()},
        "media_processing_seconds": round(media_busy, 2),
        "media_x_realtime": round(media_seconds / media_busy, 2) if media_busy else None,
        "media_cpu_seconds": round(media_cpu, 2) if in_process else None,
        # What the same work would run at with `threads` cores to itself (perfect thread use):
        # an upper bound, for a machine shared with other jobs.
        "media_x_realtime_uncontended_bound": _per_cpu(media_seconds, media_cpu, threads) if in_process else None,
        "documents": len(documents),
        "document_chunks": sum(f.chunks for f in documents),
        "document_seconds": round(doc_seconds, 2),
        "wall_seconds": round(wall, 2),
        "overall_x_realtime": round(media_seconds / wall, 2) if wall else None,
        "peak_rss_mb": round(memory.peak / 2**20, 1),
        "peak_rss_self_mb": round(self_peak / 2**20, 1),
        "peak_rss_children_mb": round(children_peak / 2**20, 1),
        "machine": {"cpus": os.cpu_count(), "load_avg_1m_after": os.getloadavg()[0], "python": platform.python_version()},
        "home": str(home),
    }


def _per_cpu(media_seconds: float, cpu_seconds: float, threads: int) -> float | None:
    return round(media_seconds / (cpu_seconds / threads), 2) if cpu_seconds > 0 else None


def whisper_comparison(corpus: Path) -> dict:
    """faster-whisper vs openai-whisper `transcribe` on one audio track, when both exist."""
    settings = get_settings()
    if not settings.openai_whisper_model:
        return {"available": False, "note": "openai-whisper weights are not configured here "
                                            "(ARGUS_OPENAI_WHISPER_MODEL); comparison skipped"}
    from pipelines.ingest.media import decode_audio
    from pipelines.ingest.transcribe import transcribe

    video = next((p for p in sorted(corpus.rglob("*.mp4"))), None)
    if video is None:
        return {"available": False, "note": "no video in the corpus to compare on"}
    audio = decode_audio(video)
    out: dict = {"available": True, "file": video.name, "audio_seconds": round(len(audio) / 16_000, 2)}
    for backend, openai_model in (("faster-whisper", None), ("openai-whisper", settings.openai_whisper_model)):
        backend_settings = settings.model_copy(update={"openai_whisper_model": openai_model})
        transcribe(audio[: 16_000 * 5], settings=backend_settings)  # load the model outside the timing
        start = time.perf_counter()
        transcript = transcribe(audio, settings=backend_settings)
        seconds = time.perf_counter() - start
        out[backend] = {"seconds": round(seconds, 2), "x_realtime": round(len(audio) / 16_000 / seconds, 2),
                        "text": transcript.text[:200]}
    return out


def show(result: dict) -> None:
    table = Table(title=f"Ingestion: {result['media_files']} media files, {result['media_seconds']:.0f} s of media "
                        f"({result['engine']}, {result['workers']} worker(s), {result['threads']} threads)")
    for column in ("stage", "wall s", "× real time", "CPU s", f"× real time on {result['threads']} free cores"):
        table.add_column(column, justify="right" if column != "stage" else "left")

    def fmt(value: float | None, suffix: str = "") -> str:
        return "—" if value is None else f"{value:.1f}{suffix}"

    for stage, f in result["stages"].items():
        table.add_row(stage, fmt(f["seconds"]), fmt(f["x_realtime"], "×"), fmt(f["cpu_seconds"]),
                      fmt(f["x_realtime_per_cpu_thread"], "×"))
    table.add_row("[bold]media files, all stages", fmt(result["media_processing_seconds"]),
                  fmt(result["media_x_realtime"], "×"), fmt(result["media_cpu_seconds"]),
                  fmt(result["media_x_realtime_uncontended_bound"], "×"))
    table.add_row("[bold]whole run (wall clock, incl. documents)", fmt(result["wall_seconds"]),
                  fmt(result["overall_x_realtime"], "×"), "", "")
    console.print(table)
    console.print(f"documents: {result['documents']} ({result['document_chunks']} chunks) in "
                  f"{result['document_seconds']:.1f} s; peak RSS {result['peak_rss_mb']:.0f} MB "
                  f"(driver {result['peak_rss_self_mb']:.0f} MB); files {result['files']}")
    verdict = "meets" if (result["overall_x_realtime"] or 0) >= TARGET_SPEED else "misses"
    console.print(f"overall {result['overall_x_realtime']}× real time: {verdict} the {TARGET_SPEED:g}× target "
                  f"(1-minute load average {result['machine']['load_avg_1m_after']:.1f} on "
                  f"{result['machine']['cpus']} CPUs)")
    whisper = result["whisper"]
    if whisper["available"]:
        fw, ow = whisper["faster-whisper"], whisper["openai-whisper"]
        console.print(f"whisper on {whisper['file']} ({whisper['audio_seconds']} s): faster-whisper {fw['seconds']} s "
                      f"({fw['x_realtime']}×), openai-whisper {ow['seconds']} s ({ow['x_realtime']}×)")
    else:
        console.print(f"whisper: {whisper['note']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="folder to ingest (default: the demo corpus)")
    parser.add_argument("--demo-dir", type=Path, default=REPO / "demo_corpus", help="where the demo corpus lives")
    parser.add_argument("--workers", type=int, help="worker processes (default: as `argus ingest`, one per thread "
                                                    "for several media files)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep-home", action="store_true", help="keep the temporary base for inspection")
    args = parser.parse_args()

    corpus = args.corpus or demo_corpus(args.demo_dir)
    result = run(corpus, workers=args.workers, engine=args.engine)
    if not args.keep_home:
        shutil.rmtree(result.pop("home"), ignore_errors=True)
    result["whisper"] = whisper_comparison(corpus)
    show(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    console.print(f"written to {args.out}")


if __name__ == "__main__":
    main()
