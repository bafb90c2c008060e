"""Bounded work: caps on agent runs and ingest batches (429 + Retry-After), a slot given back
however the work ends, uploads that become no source deleted, and a hung file that cannot hold
the base's writer lock for ever."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from api_base import client_for, write_documents

from app.api import create_app
from app.api.limits import WorkSlots
from app.api.problems import ApiError
from core.types import AgentEvent

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeBlockingStream:
    """A stand-in for agents.run.stream_events that stays running until `finish` is set."""

    def __init__(self) -> None:
        self.finish = threading.Event()

    def __call__(self, question=None, *, thread_id=None, review=None, resume=None, settings=None):
        yield AgentEvent(kind="run_start", thread_id=thread_id, data={"question": question})
        self.finish.wait(60)
        yield AgentEvent(kind="report", thread_id=thread_id, data={"result": None})


@pytest.mark.unit
def test_work_slots_per_key_and_total() -> None:
    slots = WorkSlots("agent runs", per_key=2, total=3, retry_after_s=30)
    a1, a2 = slots.acquire("a"), slots.acquire("a")
    with pytest.raises(ApiError) as per_key:
        slots.acquire("a")
    assert per_key.value.status == 429 and per_key.value.headers["Retry-After"] == "30"
    b1 = slots.acquire("b")
    with pytest.raises(ApiError, match="3 agent runs are in progress"):
        slots.acquire("c")
    a1()
    a1()  # a second release of the same slot gives nothing back twice
    assert slots.in_use() == 2
    slots.acquire("c")
    a2(), b1()


@pytest.mark.unit
async def test_agent_runs_past_the_cap_get_429_until_one_ends(empty_settings) -> None:
    settings = empty_settings.model_copy(update={"api_max_agent_runs_per_key": 2, "api_max_agent_runs": 3})
    app = create_app(settings)
    fake = FakeBlockingStream()
    app.state.argus.agent_stream = fake
    async with client_for(app) as c:
        for _ in range(2):
            assert (await c.post("/v1/agent/runs", json={"question": "q"})).status_code == 202
        r = await c.post("/v1/agent/runs", json={"question": "q"})
        assert r.status_code == 429 and r.headers["retry-after"] == "30" and "this key" in r.json()["detail"]
        assert len(app.state.argus.runs) == 2  # the refused run left no record
    async with client_for(app, host="127.0.0.2") as other:  # another caller: only the global cap is left
        assert (await other.post("/v1/agent/runs", json={"question": "q"})).status_code == 202
        r = await other.post("/v1/agent/runs", json={"question": "q"})
        assert r.status_code == 429 and "3 agent runs are in progress" in r.json()["detail"]
    fake.finish.set()
    deadline = time.monotonic() + 10
    while app.state.argus.agent_slots.in_use() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.state.argus.agent_slots.in_use() == 0
    async with client_for(app) as c:
        assert (await c.post("/v1/agent/runs", json={"question": "q"})).status_code == 202


@pytest.mark.unit
async def test_ingest_batches_past_the_cap_get_429(empty_settings) -> None:
    settings = empty_settings.model_copy(update={"api_max_ingest_batches_per_key": 1})
    app = create_app(settings)
    finish = threading.Event()
    app.state.argus.run_ingest = lambda paths: finish.wait(60)  # a fake batch that runs until told
    root = settings.ingest_roots[0]
    async with client_for(app) as c:
        assert (await c.post("/v1/ingest", json={"paths": [str(root)]})).status_code == 202
        r = await c.post("/v1/ingest", files={"files": ("a.md", b"# a\n", "text/markdown")})
        assert r.status_code == 429 and r.headers["retry-after"] == "10"
        assert not any(p.is_file() for p in settings.uploads_dir.rglob("*"))  # refused before storing
        finish.set()
        deadline = time.monotonic() + 10
        while app.state.argus.ingest_slots.in_use() and time.monotonic() < deadline:
            time.sleep(0.05)
        r = await c.post("/v1/ingest", json={"paths": ["/nowhere"]})
        assert r.status_code == 403  # a refused request gives its slot back at once
        assert app.state.argus.ingest_slots.in_use() == 0


async def _settled(c, ids: list[int], timeout: float = 300) -> dict[int, dict]:
    import anyio

    deadline = time.monotonic() + timeout
    while True:
        jobs = {i: (await c.get(f"/v1/jobs/{i}")).json() for i in ids}
        if all(j["status"] in ("done", "failed", "skipped") for j in jobs.values()):
            return jobs
        assert time.monotonic() < deadline, jobs
        await anyio.sleep(0.5)


@pytest.mark.integration
async def test_uploads_of_duplicates_failures_and_deleted_sources_are_removed(empty_settings, tmp_path: Path) -> None:
    app = create_app(empty_settings)
    docs = write_documents(tmp_path / "docs")
    uploads = empty_settings.uploads_dir

    def upload(*paths: Path) -> dict:
        return {"files": [("files", (p.name, p.read_bytes(), "text/plain")) for p in paths]}

    async with client_for(app) as c:
        r = await c.post("/v1/ingest", files=upload(docs[0])["files"])
        first = (await _settled(c, [r.json()["jobs"][0]["id"]]))
        job = next(iter(first.values()))
        assert job["status"] == "done", job
        stored = Path(job["path"])
        assert stored.is_file() and stored.is_relative_to(uploads)

        (tmp_path / "empty.md").write_bytes(b"")
        r = await c.post("/v1/ingest", files=upload(docs[0], tmp_path / "empty.md")["files"])
        jobs = await _settled(c, [j["id"] for j in r.json()["jobs"]])
        by_name = {Path(j["path"]).name: j for j in jobs.values()}
        assert by_name["lighthouse.md"]["status"] == "skipped" and by_name["empty.md"]["status"] == "failed"
        for j in jobs.values():
            assert not Path(j["path"]).exists(), j  # the duplicate and the failed upload are gone
        assert stored.is_file()

        r = await c.delete(f"/v1/sources/{job['source_id']}")
        assert r.status_code == 204
        assert not stored.exists()
        assert [p for p in uploads.rglob("*") if p.is_file()] == []


@pytest.mark.integration
async def test_failed_uploads_are_kept_when_asked(empty_settings, tmp_path: Path) -> None:
    app = create_app(empty_settings.model_copy(update={"keep_failed_uploads": True}))
    async with client_for(app) as c:
        r = await c.post("/v1/ingest", files={"files": ("empty.md", b"", "text/markdown")})
        jobs = await _settled(c, [r.json()["jobs"][0]["id"]])
        job = next(iter(jobs.values()))
        assert job["status"] == "failed" and Path(job["path"]).is_file()


@pytest.mark.integration
def test_a_file_past_the_timeout_is_failed_its_worker_killed_and_the_lock_freed(argus_home: Path,
                                                                                  tmp_path: Path) -> None:
    import psutil

    from core.settings import get_settings
    from pipelines.ingest.jobs import ingest
    from pipelines.store.catalog import open_catalog, writer_lock

    docs = write_documents(tmp_path / "docs")
    # A fresh worker spends a second or more starting and loading its models: 0.05 s is always overrun.
    settings = get_settings().model_copy(update={"ingest_file_timeout_s": 0.05})
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    started = time.monotonic()
    report = ingest([str(docs[0])], progress=False, settings=settings, isolate=True)
    assert time.monotonic() - started < 60
    (result,) = report.files
    assert result.status == "failed" and result.stage == "timeout"
    assert result.reason.startswith("processing took longer than ingest_file_timeout_s (0.05 s)")
    assert not _workers_left(before, within_s=15), "the timed-out worker outlived its batch"
    with writer_lock(settings, wait=False):  # nobody holds it any more
        pass
    catalog = open_catalog(settings)
    assert catalog.list_sources() == []
    catalog.close()
    # With the normal limit the same file goes in.
    again = ingest([str(docs[0])], progress=False, settings=get_settings(), isolate=True)
    assert again.files[0].status == "done"


def _workers_left(before: set[int], within_s: float) -> list[int]:
    """Child processes started since `before` that are still alive after up to `within_s` seconds
    (a killed worker takes a moment to go on a loaded machine)."""
    import psutil

    deadline = time.monotonic() + within_s
    while True:
        alive = []
        for child in psutil.Process().children(recursive=True):
            try:
                if (child.pid not in before and child.status() != psutil.STATUS_ZOMBIE
                        and "resource_tracker" not in " ".join(child.cmdline())):  # the tracker lives with this process
                    alive.append(child.pid)
            except psutil.NoSuchProcess:
                continue
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@pytest.mark.unit
async def test_a_node_error_in_an_event_does_not_fail_the_stream(empty_settings) -> None:
    def fake_stream_with_a_node_error(question=None, *, thread_id=None, review=None, resume=None, settings=None):
        yield AgentEvent(kind="run_start", thread_id=thread_id, data={"question": question})
        yield AgentEvent(kind="node_end", thread_id=thread_id, node="researcher", data={"error": ValueError("bad args")})
        yield AgentEvent(kind="report", thread_id=thread_id, data={"result": None})

    app = create_app(empty_settings)
    app.state.argus.agent_stream = fake_stream_with_a_node_error
    async with client_for(app) as c:
        run_id = (await c.post("/v1/agent/runs", json={"question": "q"})).json()["run_id"]
        deadline = time.monotonic() + 10
        while (status := (await c.get(f"/v1/agent/runs/{run_id}")).json()["status"]) == "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert status == "finished"
        events = app.state.argus.runs[run_id].events
        assert events[1]["data"]["error"] == "ValueError: bad args"


@pytest.mark.integration
def test_ingest_workers_die_with_a_killed_driver(tmp_path: Path) -> None:
    """kill -9 of the process running a batch (the API) must not leave its worker processes behind."""
    import os
    import signal
    import subprocess
    import sys

    import psutil

    for i in range(4):
        (tmp_path / f"d{i}.md").write_text(f"# Doc {i}\n\n" + "The harbour crane lifts containers. " * 300)
    code = ("from core.settings import Settings\nfrom pipelines.ingest.jobs import ingest\n"
            f"ingest([{str(tmp_path)!r}], progress=False, workers=2, isolate=True,\n"
            f"       settings=Settings(home={str(tmp_path / 'home')!r}, ingest_file_timeout_s=600))\n")
    driver = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 120
    workers: list[psutil.Process] = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = [c for c in psutil.Process(driver.pid).children(recursive=True)
                   if "spawn_main" in " ".join(c.cmdline())]
        time.sleep(0.2)
    assert len(workers) == 2
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers):
        time.sleep(0.1)
    assert not [w.pid for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
