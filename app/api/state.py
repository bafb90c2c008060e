"""What the app shares between requests: settings, keys, limiter, metrics, the retriever,
the ingest job runner and the agent runs."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app.api.limits import WorkSlots
from app.api.security import KeyStore, RateLimiter
from core.settings import Settings

log = logging.getLogger("argus.api")


def available(*modules: str) -> bool:
    """Whether these modules are installed, without importing them (optional parts load on first use)."""
    import importlib.util

    try:
        return all(importlib.util.find_spec(m) is not None for m in modules)
    except (ImportError, ValueError):
        return False


AGENT_MODULES = ("agents.run", "langgraph")
LEGAL_MODULES = ("models.legal.pipeline", "torch")


class Metrics:
    """Prometheus metrics in a registry of their own (one per app, so tests can build many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("argus_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("argus_http_request_seconds", "HTTP request latency", ["route"],
                                 registry=self.registry)
        self.rate_limited = Counter("argus_rate_limited", "Requests refused by the rate limit", registry=self.registry)
        self.ingest_batches = Gauge("argus_ingest_batches_in_flight", "Ingest batches queued or running",
                                    registry=self.registry)
        self.agent_runs = Gauge("argus_agent_runs_in_flight", "Agent runs in progress", registry=self.registry)


class LiveProgress:
    """A progress sink for the job runner: the latest stage and fraction per job, in memory.

    The runner writes the job row at most once a second; this gives GET /v1/jobs/{id}
    the live value in between."""

    def __init__(self) -> None:
        self.jobs: dict[int, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def begin(self, total: int) -> None:
        pass

    def stage(self, job_id: int, name: str, stage: str, fraction: float) -> None:
        with self._lock:
            self.jobs[job_id] = (stage, fraction)

    def finished(self, job_id: int, name: str, status: str) -> None:
        with self._lock:
            self.jobs.pop(job_id, None)

    def end(self) -> None:
        pass

    def get(self, job_id: int) -> tuple[str, float] | None:
        with self._lock:
            return self.jobs.get(job_id)


def _single_threaded_faiss() -> None:
    """One query is a tiny FAISS search: OpenMP's thread start-up and spinning cost more than the
    search itself (3 ms against 0.1 ms per query on 2 busy cores), so the API searches single-threaded.
    OpenMP keeps the setting per calling thread, so it is made before every search."""
    try:
        import faiss
    except ImportError:
        return
    faiss.omp_set_num_threads(1)


@dataclass
class AppState:
    settings: Settings
    keys: KeyStore
    limiter: RateLimiter
    metrics: Metrics = field(default_factory=Metrics)
    progress: LiveProgress = field(default_factory=LiveProgress)
    # One batch at a time: ingestion holds the base's writer lock anyway.
    ingest_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="ingest"))
    runs: dict[str, Any] = field(default_factory=dict)  # agent runs by id (app.api.agents.RunRecord)
    _retriever: Any = None
    _retriever_lock: threading.Lock = field(default_factory=threading.Lock)
    _chat: Any = None
    agent_stream: Any = None  # agents.run.stream_events, or a stand-in with its signature
    agent_slots: WorkSlots = None  # type: ignore[assignment]  # set in __post_init__ from the settings
    ingest_slots: WorkSlots = None  # type: ignore[assignment]
    _chat_lock: threading.Lock = field(default_factory=threading.Lock)
    media_secret: bytes = field(default_factory=lambda: __import__("secrets").token_bytes(32))  # signs media links

    def __post_init__(self) -> None:
        s = self.settings
        self.agent_slots = WorkSlots("agent runs", per_key=s.api_max_agent_runs_per_key, total=s.api_max_agent_runs,
                                     retry_after_s=30)
        self.ingest_slots = WorkSlots("ingest batches", per_key=s.api_max_ingest_batches_per_key,
                                      total=s.api_max_ingest_batches, retry_after_s=10)

    def search(self, query: str, k: int, filters, granularity: str, rerank: bool):
        """Search with the shared retriever (it caches indexes; serialised, it is not thread-safe).

        The query vectors, most of a search's CPU, are computed first, outside the lock: the
        embedding engines release the GIL, so concurrent requests embed on every core and
        the search under the lock finds their vectors in the cache."""
        from pipelines.retrieve.search import Retriever, clean_query

        with self._retriever_lock:
            if self._retriever is None:
                self._retriever = Retriever(self.settings)
            retriever = self._retriever
        retriever.embed(clean_query(query))
        retriever.embed_class(clean_query(query))  # torch releases the GIL too
        with self._retriever_lock:
            if rerank and retriever.reranker is None:
                from app.commands.retrieve import make_reranker

                retriever.reranker = make_reranker(self.settings, "auto")
            _single_threaded_faiss()
            return retriever.search(query, k, filters, granularity=granularity, rerank=rerank)

    def chat(self):
        """The chat model (the LLM engine is started on first use); one for the app, so that agent
        runs share its HTTP connection pool instead of each opening clients of its own."""
        with self._chat_lock:
            if self._chat is None:
                from models.llm.client import get_chat_model

                self._chat = get_chat_model(self.settings)
            return self._chat

    def run_ingest(self, paths: list[Path]) -> None:
        """One batch; with `ingest_file_timeout_s` set, files run in worker processes so that the
        timeout can kill a hung one (a file in this process could not be stopped)."""
        from pipelines.ingest.jobs import ingest

        try:
            ingest([str(p) for p in paths], recursive=False, progress=self.progress, settings=self.settings,
                   isolate=self.settings.ingest_file_timeout_s > 0)
        except Exception:  # noqa: BLE001 — the job rows carry per-file failures; this is the runner itself failing
            log.exception("ingest batch failed")
            from pipelines.store.catalog import open_catalog

            catalog = open_catalog(self.settings)
            try:
                for job in catalog.list_jobs():
                    if job.path in {str(p) for p in paths} and job.status in ("queued", "running"):
                        catalog.update_job(job.id, status="failed", error="the ingest runner failed; see the log")
            finally:
                catalog.close()
        finally:
            self.metrics.ingest_batches.dec()

    def close(self) -> None:
        self.ingest_pool.shutdown(wait=True, cancel_futures=False)
        if self._retriever is not None:
            self._retriever.close()
