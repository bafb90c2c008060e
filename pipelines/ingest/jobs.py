"""The ingestion job runner: paths in, a knowledge base that covers them out.

    report = ingest(["talks/", "manual.pdf"], recursive=True, workers=2)

For each run, under the base's writer lock:

1. Bring the indexes in line with the catalog (`IndexWriter.sync`) and delete keyframe
   folders that belong to no source: this is where an interrupted run is cleaned up.
2. Discover files; give each input a job row (an unfinished job for the same path,
   left by a killed run or queued ahead of time, is taken over rather than duplicated;
   other jobs a killed run left unfinished are marked failed).
3. Check each file (type by extension and content, size) and hash it; a hash already
   in the catalog is "skipped (already ingested)", so re-ingesting is a no-op.
4. Process the rest on the chosen engine (`pipelines.ingest.engines`); workers return
   `SourceRecord`s and never write the base.
5. For each record, in the driver: write its keyframe JPEGs, then commit the source and
   all its rows in one catalog transaction, then add it to the in-memory indexes.
   A new index version is published at most every `index_publish_interval_s`, and at
   the end.

Resume: whatever point a run is killed at, the catalog holds only whole sources, so the
next run re-processes exactly the files that were not committed, and step 1 indexes
whatever was committed but not yet published. The result equals an uninterrupted run.

Every bad input becomes one failed (or skipped) job with a one-line reason, and the
batch goes on.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from core.settings import Settings, get_settings
from core.types import SourceType
from pipelines.ingest.engines import Engine, Outcome, StageEvent, run_tasks
from pipelines.ingest.inputs import InputError, discover, hash_file, inspect_file
from pipelines.ingest.progress import ProgressSink, RichProgress, SilentProgress
from pipelines.ingest.stages import FileTask
from pipelines.store.catalog import Catalog, SourceRecord, open_catalog, writer_lock
from pipelines.store.index_writer import IndexWriter

log = logging.getLogger(__name__)

Status = Literal["done", "failed", "skipped"]
INTERRUPTED = "interrupted: the run processing it stopped; ingest the file again to resume"


@dataclass
class FileReport:
    """One line of the summary."""

    path: str
    status: Status
    type: str | None = None
    reason: str = ""
    stage: str = ""
    job_id: int | None = None
    source_id: int | None = None
    duration_s: float | None = None
    pages: int | None = None
    segments: int = 0
    keyframes: int = 0
    captions: int = 0
    chunks: int = 0
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    seconds: float = 0.0
    index_version: str | None = None
    workers: int = 1  # worker processes the batch ran on
    not_descended: list[str] = field(default_factory=list)  # subfolders left out (no `recursive`)

    def by_status(self, status: Status) -> list[FileReport]:
        return [f for f in self.files if f.status == status]

    @property
    def ok(self) -> bool:
        return not self.by_status("failed")

    def to_dict(self) -> dict:
        return {"seconds": self.seconds, "index_version": self.index_version, "not_descended": self.not_descended,
                "files": [{**asdict(f), "name": f.name} for f in self.files]}


def auto_workers(tasks: list[FileTask], settings: Settings) -> int:
    """Several audio or video files: one single-threaded worker per thread. Whisper's decoder
    keeps two threads of one process half idle (demo corpus on 2 cores: 3.7x real time with
    one worker, 4.6x with two); a batch of documents is not worth the workers' start-up."""
    media = sum(1 for t in tasks if t.type in (SourceType.video, SourceType.audio))
    return max(1, min(settings.threads, media))


def ingest(
    paths: list[str | Path],
    *,
    recursive: bool = False,
    workers: int | None = None,
    engine: Engine | None = None,
    progress: bool | ProgressSink = True,
    settings: Settings | None = None,
    isolate: bool = False,
) -> IngestReport:
    """Ingest files and folders into the base of `settings.home`; see the module docstring.
    `isolate`: process files in worker processes even with one worker, so that
    `ingest_file_timeout_s` can kill a hung one (the API does this)."""
    settings = settings or get_settings()
    sink: ProgressSink = progress if not isinstance(progress, bool) else (RichProgress() if progress else SilentProgress())
    started = time.perf_counter()
    with writer_lock(settings), _run_log(settings):
        catalog = open_catalog(settings)
        try:
            run = _Run(settings, catalog, sink)
            run.recover()
            tasks = run.prepare(paths, recursive=recursive)
            run.report.workers = workers or settings.ingest_workers or auto_workers(tasks, settings)
            run.process(tasks, engine=engine or settings.ingest_engine, workers=run.report.workers, isolate=isolate)
            run.report.index_version = run.writer.publish()
        finally:
            sink.end()
            catalog.close()
    run.report.seconds = time.perf_counter() - started
    return run.report


def remove_upload(settings: Settings, path: Path) -> bool:
    """Delete `path` if it lies in the uploads folder (and its batch folder once empty)."""
    uploads = settings.uploads_dir.resolve()
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13) is no upload
        return False
    if not resolved.is_relative_to(uploads) or resolved == uploads:
        return False
    resolved.unlink(missing_ok=True)
    batch = resolved.parent
    if batch != uploads and batch.is_relative_to(uploads):
        try:
            batch.rmdir()  # only when empty: other files of the batch may still be sources
        except OSError:
            pass
    return True


@contextmanager
def _run_log(settings: Settings) -> Iterator[None]:
    """Failures, with the traceback of unexpected ones, go to ARGUS_HOME/logs/ingest.log."""
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(settings.log_dir / "ingest.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    previous = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # the summary already tells the console
    try:
        yield
    finally:
        log.removeHandler(handler)
        handler.close()
        log.setLevel(previous[0])
        log.propagate = previous[1]


class _Run:
    """The state of one `ingest` call."""

    def __init__(self, settings: Settings, catalog: Catalog, sink: ProgressSink):
        self.settings = settings
        self.catalog = catalog
        self.sink = sink
        self.writer = IndexWriter(settings, catalog)
        self.report = IngestReport()
        self.run_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._names: dict[int, str] = {}
        self._stages: dict[int, str] = {}
        self._last_job_write: dict[int, float] = {}
        self._last_publish = time.monotonic()
        # Jobs with their outcome written: a worker's stage events can arrive after the outcome
        # (they travel on their own queue) and must not set such a job back to "running".
        self._finished: set[int] = set()

    def recover(self) -> None:
        """Undo what an interrupted run left: unindexed sources and orphan keyframe folders."""
        if self.writer.sync():
            self.writer.publish()
        media = self.settings.media_dir
        if media.is_dir():
            known = self.catalog.content_hashes()
            for folder in media.iterdir():
                if folder.is_dir() and folder.name not in known:
                    shutil.rmtree(folder, ignore_errors=True)

    # -- discovery and checks -------------------------------------------------------------

    def prepare(self, paths: list[str | Path], *, recursive: bool) -> list[FileTask]:
        found = discover(paths, recursive=recursive)
        self.report.not_descended = found.not_descended
        total = len(found.files) + len(found.failures) + len(found.skipped)
        self.sink.begin(total)
        for path, reason in found.failures:
            self._finish_early(self._job(path), path, "failed", reason, stage="discover")
        for path, reason in found.skipped:
            self._finish_early(self._job(path), path, "skipped", reason, stage="discover")
        jobs = {path: self._job(str(path)) for path in found.files}
        # Jobs that a killed run left unfinished and that this run did not take over.
        self.catalog.fail_abandoned_jobs(self.run_id, INTERRUPTED)

        tasks: list[FileTask] = []
        in_batch: dict[str, str] = {}
        for path, job_id in jobs.items():
            self._names[job_id] = path.name
            try:
                info = inspect_file(path, max_file_mb=self.settings.max_file_mb)
            except InputError as exc:
                self._finish_early(job_id, str(path), "failed", str(exc), stage="check")
                continue
            self._event(StageEvent(job_id, "hash", 0.0))
            content_hash = hash_file(path)
            self.catalog.update_job(job_id, content_hash=content_hash)
            existing = self.catalog.source_by_hash(content_hash)
            if existing is not None:
                self._finish_early(job_id, str(path), "skipped", f"already ingested (source #{existing.id}, "
                                   f"{existing.name})", stage="hash", source_id=existing.id, type=existing.type.value)
            elif content_hash in in_batch:
                self._finish_early(job_id, str(path), "skipped", f"same content as {in_batch[content_hash]}",
                                   stage="hash", type=info.type.value)
            else:
                in_batch[content_hash] = str(path)
                tasks.append(FileTask(job_id, str(path), content_hash, info.type, info.mime, info.size_bytes))
        return tasks

    def _job(self, path: str) -> int:
        return self.catalog.create_job(path, run_id=self.run_id)

    def _finish_early(self, job_id: int, path: str, status: Status, reason: str, *, stage: str, **fields) -> None:
        self._finished.add(job_id)
        self.catalog.update_job(job_id, status=status, stage=stage, error=reason,
                                **({"source_id": fields["source_id"]} if "source_id" in fields else {}))
        self._drop_upload(path, status)
        self.report.files.append(FileReport(path, status, reason=reason, stage=stage, job_id=job_id, **fields))
        self.sink.finished(job_id, Path(path).name, status)

    def _drop_upload(self, path: str, status: Status) -> None:
        """An uploaded file that became no source (a duplicate, or failed unless
        `keep_failed_uploads`) is deleted; files outside the uploads folder are the user's."""
        if status == "done" or (status == "failed" and self.settings.keep_failed_uploads):
            return
        remove_upload(self.settings, Path(path))

    # -- processing -----------------------------------------------------------------------

    def process(self, tasks: list[FileTask], *, engine: Engine, workers: int, isolate: bool = False) -> None:
        if not tasks:
            return
        for outcome in run_tasks(tasks, engine=engine, workers=workers, settings=self.settings, on_event=self._event,
                                 isolate=isolate):
            if outcome.error is not None:
                self._failed(outcome)
            else:
                self._commit(outcome)
            if time.monotonic() - self._last_publish >= self.settings.index_publish_interval_s:
                self.writer.publish()
                self._last_publish = time.monotonic()

    def _event(self, event: StageEvent) -> None:
        if event.job_id in self._finished:
            return
        self.sink.stage(event.job_id, self._names.get(event.job_id, ""), event.stage, event.fraction)
        # The job row follows stage changes, and progress at most once a second.
        now = time.monotonic()
        if event.stage != self._stages.get(event.job_id) or now - self._last_job_write.get(event.job_id, 0) >= 1.0:
            self._stages[event.job_id] = event.stage
            self._last_job_write[event.job_id] = now
            status = "queued" if event.stage == "hash" else "running"  # hashed files wait for a worker
            self.catalog.update_job(event.job_id, status=status, stage=event.stage, progress=event.fraction)

    def _failed(self, outcome: Outcome) -> None:
        task, error = outcome.task, outcome.error
        assert error is not None
        log.info("failed: %s (%s: %s)%s", task.path, error.stage, error.reason,
                 f"\n{error.detail}" if error.detail else "")
        self._finished.add(task.job_id)
        self.catalog.update_job(task.job_id, status="failed", stage=error.stage, error=error.reason)
        self._drop_upload(task.path, "failed")
        self.report.files.append(FileReport(task.path, "failed", type=task.type.value, reason=error.reason,
                                            stage=error.stage, job_id=task.job_id, seconds=outcome.seconds))
        self.sink.finished(task.job_id, Path(task.path).name, "failed")

    def _commit(self, outcome: Outcome) -> None:
        record = outcome.record
        assert record is not None
        self._event(StageEvent(outcome.task.job_id, "store", 0.0))
        self._store_thumbnails(record)
        source_id = self.catalog.add_source(record, job_id=outcome.task.job_id)
        self._finished.add(outcome.task.job_id)
        self.writer.add_source(source_id)
        s = record.source
        log.info("done: %s (source #%d, %d segments, %d keyframes, %d chunks, %.1f s)", outcome.task.path, source_id,
                 len(record.segments), len(record.keyframes), len(record.chunks), outcome.seconds)
        self.report.files.append(FileReport(
            outcome.task.path, "done", type=s.type.value, stage="done", job_id=outcome.task.job_id,
            source_id=source_id, duration_s=s.duration_s, pages=s.pages, segments=len(record.segments),
            keyframes=len(record.keyframes), captions=len(record.captions), chunks=len(record.chunks),
            seconds=outcome.seconds,
        ))
        self.sink.finished(outcome.task.job_id, Path(outcome.task.path).name, "done")

    def _store_thumbnails(self, record: SourceRecord) -> None:
        """Write keyframe JPEGs to media/<hash>/ and point the keyframes at them.

        The folder is referenced only once the source commits; if the run dies first,
        `recover` deletes it and the re-run writes the same files again.
        """
        if not record.keyframes:
            return
        folder = self.settings.media_dir / record.source.content_hash
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for i, (keyframe, jpeg) in enumerate(zip(record.keyframes, record.thumbnails, strict=True)):
            target = folder / f"kf_{i:04d}.jpg"
            target.write_bytes(jpeg)
            keyframe.path = str(target.relative_to(self.settings.home))
