"""Where `process_file` runs: in the driver, in a pool of worker processes, or on Ray.

All three run the same stage functions and hand each file's `SourceRecord` (or its
`StageError`) back to the driver, which alone writes the catalog and the indexes.
Stage progress flows back as `StageEvent`s.

* `workers=1`, engine "local": in the driver process, one file after another.
* `workers=N`, engine "local": N spawned processes. Model runtimes are multi-threaded,
  so each worker gets `settings.threads // N` threads (at least one). A worker that dies
  (a native crash, the OOM killer) fails only the file it held: the pool is rebuilt and
  the other in-flight files run again; a file that takes down two pools is failed.
  A file still running after `ingest_file_timeout_s` (a hung decoder) is failed and the
  pool's processes are killed; the other in-flight files run again in a new pool.
  `isolate=True` (the API) uses a one-process pool even for one worker, so that the
  timeout can kill what it must: a file in the driver cannot be stopped.
* engine "ray": each file is a Ray task (`num_cpus=1`). `ray.init(address=...)` joins
  the cluster named by `ARGUS_RAY_ADDRESS`, else a local Ray with N CPUs is started
  (and stopped afterwards). On a cluster, input paths must be visible to every node.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Literal

from core.settings import Settings, get_settings
from pipelines.ingest.stages import FileTask, StageError, process_file
from pipelines.store.catalog import SourceRecord

Engine = Literal["local", "ray"]
_POLL_S = 0.2


@dataclass(frozen=True)
class StageEvent:
    job_id: int
    stage: str
    fraction: float


@dataclass
class Outcome:
    task: FileTask
    record: SourceRecord | None
    error: StageError | None
    seconds: float


EventSink = Callable[[StageEvent], None]


def run_tasks(tasks: list[FileTask], *, engine: Engine = "local", workers: int = 1,
              settings: Settings | None = None, on_event: EventSink | None = None,
              isolate: bool = False) -> Iterator[Outcome]:
    """Process `tasks`, yielding each outcome as soon as it is ready (not in input order)."""
    settings = settings or get_settings()
    on_event = on_event or (lambda event: None)
    workers = max(1, workers)
    if engine == "ray":
        yield from _run_ray(tasks, workers, settings, on_event)
    elif workers == 1 and not isolate:
        for task in tasks:
            report = _Throttled(on_event, task.job_id)
            yield _run_one(task, report, settings)
    else:
        yield from _run_pool(tasks, workers, settings, on_event)


def _run_one(task: FileTask, report: Callable[[str, float], None], settings: Settings | None = None) -> Outcome:
    start = time.perf_counter()
    try:
        record = process_file(task, report, settings)
        return Outcome(task, record, None, time.perf_counter() - start)
    except StageError as exc:
        exc.__cause__ = exc.__context__ = None  # tracebacks do not travel between processes
        return Outcome(task, None, exc, time.perf_counter() - start)


def threads_per_worker(settings: Settings, workers: int) -> int:
    return max(1, settings.threads // max(1, workers))


def settings_env(settings: Settings) -> dict[str, str]:
    """The driver's settings as ARGUS_* variables, so that workers on this host read the same."""
    env = {}
    for name, value in settings.model_dump(mode="json").items():  # JSON types: paths in lists become strings
        if value is not None:
            # pydantic-settings reads lists and dicts from the environment as JSON
            env[f"ARGUS_{name.upper()}"] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return env


def _configure_worker(threads: int, env: dict[str, str]) -> None:
    """Runs first in every worker: the driver's settings and its share of the CPU threads."""
    os.environ.update(env)
    os.environ["ARGUS_THREADS"] = str(threads)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    get_settings.cache_clear()


class _Throttled:
    """Sends a stage event when the stage changes or every 5% / half second of progress."""

    def __init__(self, send: Callable[[StageEvent], None], job_id: int):
        self._send, self._job = send, job_id
        self._last: tuple[str, float, float] = ("", -1.0, 0.0)

    def __call__(self, stage: str, fraction: float) -> None:
        last_stage, last_fraction, last_time = self._last
        now = time.monotonic()
        if stage != last_stage or fraction >= 1.0 or fraction - last_fraction >= 0.05 or now - last_time >= 0.5:
            self._last = (stage, fraction, now)
            self._send(StageEvent(self._job, stage, fraction))


# -- local worker processes ---------------------------------------------------------------

_events = None  # the worker's end of the event queue


def _pool_init(queue, threads: int, env: dict[str, str]) -> None:
    global _events
    _events = queue
    _die_with_driver()
    _configure_worker(threads, env)


def _die_with_driver() -> None:
    """Linux: SIGKILL this worker when the driver dies (a SIGKILLed API must not leave workers behind)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the driver died before the call: nobody is left to signal us
        os._exit(1)


def _pool_task(task: FileTask) -> Outcome:
    return _run_one(task, _Throttled(_events.put, task.job_id))


def _run_pool(tasks: list[FileTask], workers: int, settings: Settings, on_event: EventSink) -> Iterator[Outcome]:
    import multiprocessing

    # spawn, not fork: the driver holds threads (FAISS, SQLite) that fork would copy mid-state.
    ctx = multiprocessing.get_context("spawn")
    events = ctx.Queue()
    threads = threads_per_worker(settings, workers)
    todo = deque(tasks)
    crashes: dict[int, int] = {}
    pool: ProcessPoolExecutor | None = None
    running: dict[Future, tuple[FileTask, float]] = {}
    try:
        while todo or running:
            if pool is None:
                pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_pool_init,
                                           initargs=(events, threads, settings_env(settings)))
            while todo and len(running) < workers:  # at most one file per worker in flight
                task = todo.popleft()
                running[pool.submit(_pool_task, task)] = (task, time.perf_counter())
            done, _ = wait(running, timeout=_POLL_S, return_when=FIRST_COMPLETED)
            _drain(events, on_event)
            if not done and (late := _overdue(running, settings.ingest_file_timeout_s)):
                yield from _timed_out(late, running, todo, settings.ingest_file_timeout_s)
                _kill_pool(pool)
                pool = None
                continue
            broken = False
            for future in done:
                task, started = running.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    broken = True
                    crashes[task.job_id] = crashes.get(task.job_id, 0) + 1
                    if crashes[task.job_id] >= 2:
                        error = StageError("worker", "the worker process died while processing this file "
                                                     "(a crash in a native library, or out of memory)")
                        yield Outcome(task, None, error, time.perf_counter() - started)
                    else:
                        todo.appendleft(task)
            if broken:
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
        _drain(events, on_event)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _overdue(running: dict[Future, tuple[FileTask, float]], timeout_s: float) -> list[Future]:
    if timeout_s <= 0:
        return []
    now = time.perf_counter()
    return [f for f, (_, started) in running.items() if now - started > timeout_s and not f.done()]


def _timed_out(late: list[Future], running: dict[Future, tuple[FileTask, float]], todo: deque,
               timeout_s: float) -> Iterator[Outcome]:
    """Fail the overdue files; the pool is killed next, so the other in-flight files go back in the queue."""
    for future in late:
        task, started = running.pop(future)
        error = StageError("timeout", f"processing took longer than ingest_file_timeout_s ({timeout_s:g} s); "
                                      "the worker was killed")
        yield Outcome(task, None, error, time.perf_counter() - started)
    for future, (task, _) in list(running.items()):
        todo.appendleft(task)
        running.pop(future)


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=10)


def _drain(queue, on_event: EventSink) -> None:
    import queue as queue_module

    while True:
        try:
            on_event(queue.get_nowait())
        except queue_module.Empty:
            return


# -- Ray ----------------------------------------------------------------------------------


def _ray_task(task: FileTask, events, threads: int, env: dict[str, str]) -> Outcome:
    _configure_worker(threads, env)
    return _run_one(task, _Throttled(events.put_nowait, task.job_id))


def _run_ray(tasks: list[FileTask], workers: int, settings: Settings, on_event: EventSink) -> Iterator[Outcome]:
    import ray
    from ray.util.queue import Empty, Queue

    started_here = not ray.is_initialized()
    if started_here:
        if settings.ray_address:
            ray.init(address=settings.ray_address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    # A local Ray runs on this machine: its workers get the driver's settings. Cluster
    # nodes keep their own configuration (model paths differ from host to host).
    env = {} if settings.ray_address else settings_env(settings)
    threads = threads_per_worker(settings, workers)
    remote = ray.remote(num_cpus=1, max_retries=1)(_ray_task)
    events = Queue(actor_options={"num_cpus": 0})
    todo = deque(tasks)
    running: dict = {}
    try:
        while todo or running:
            while todo and len(running) < workers:
                task = todo.popleft()
                running[remote.remote(task, events, threads, env)] = (task, time.perf_counter())
            ready, _ = ray.wait(list(running), num_returns=1, timeout=_POLL_S)
            while True:
                try:
                    on_event(events.get_nowait())
                except Empty:
                    break
            for ref in ready:
                task, started = running.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:
                    error = StageError("worker", f"the Ray task failed: {type(exc).__name__}")
                    yield Outcome(task, None, error, time.perf_counter() - started)
    finally:
        ray.kill(events.actor)
        if started_here:
            ray.shutdown()
