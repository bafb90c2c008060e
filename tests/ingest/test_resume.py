"""`kill -9` at several points of `argus ingest`, then resume: the base equals an uninterrupted run's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from doc_files import subprocess_env, write_html, write_markdown
from snapshot import assert_same_base, index_sizes, latest_jobs

from core.settings import Settings
from pipelines.ingest.jobs import ingest

pytestmark = pytest.mark.integration


def _query(home: Path, sql: str) -> list[tuple]:
    path = home / "catalog.sqlite"
    if not path.exists():
        return []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    except sqlite3.OperationalError:  # not created yet, or mid-migration
        return []


def committed(home: Path) -> int:
    rows = _query(home, "SELECT COUNT(*) FROM sources")
    return rows[0][0] if rows else 0


def running_stage(home: Path) -> set[str]:
    return {r[0] for r in _query(home, "SELECT stage FROM jobs WHERE status = 'running'")}


def indexed(home: Path) -> int:
    current = home / "indexes" / "CURRENT"
    if not current.exists():
        return 0
    manifest = home / "indexes" / current.read_text().strip() / "manifest.json"
    return len(json.loads(manifest.read_text())["source_ids"])


def run_and_kill(corpus: Path, home: Path, tmp_path: Path, until: Callable[[], bool], what: str) -> None:
    """Start `argus ingest`, SIGKILL it as soon as `until()` holds."""
    env = subprocess_env(home, ARGUS_INDEX_PUBLISH_INTERVAL_S="3600")  # indexes lag: resume must repair them
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "ingest", str(corpus), "--json"], cwd=tmp_path,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while not until():
            assert process.poll() is None, f"ingest ended before the kill point ({what}): {process.stderr.read()}"
            assert time.monotonic() < deadline, f"kill point never reached: {what}"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL


def test_kill_at_any_point_then_resume_equals_an_uninterrupted_run(tmp_path: Path, short_talk_mp4: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_markdown(corpus / "a_espresso.md")
    write_html(corpus / "b_bikes.html")
    shutil.copy(short_talk_mp4, corpus / "c_talk.mp4")
    (corpus / "d_bad.txt").write_bytes("Café crème".encode("latin-1"))  # fails in every run

    reference = tmp_path / "reference"
    ingest([corpus], progress=False, settings=Settings(home=reference))

    home = tmp_path / "resumed"
    started = time.monotonic()
    run_and_kill(corpus, home, tmp_path, lambda: time.monotonic() - started > 1.5, "during start-up")
    run_and_kill(corpus, home, tmp_path, lambda: committed(home) >= 1, "right after the first commit")
    assert indexed(home) < committed(home)  # the catalog is ahead of the indexes
    run_and_kill(corpus, home, tmp_path, lambda: "transcribe" in running_stage(home), "while transcribing")
    assert committed(home) < 3

    final = subprocess.run([sys.executable, "-m", "app.cli", "ingest", str(corpus), "--json"], cwd=tmp_path,
                           env=subprocess_env(home), capture_output=True, text=True, timeout=600)
    assert final.returncode == 1, final.stderr  # d_bad.txt fails, as in the reference run
    statuses = {Path(f["path"]).name: f["status"] for f in json.loads(final.stdout)["files"]}
    assert statuses["d_bad.txt"] == "failed" and statuses["c_talk.mp4"] == "done"

    assert_same_base(reference, home)
    assert index_sizes(home)["sources"] == 3
    jobs = latest_jobs(home)
    assert {status for status, _ in jobs.values()} <= {"done", "skipped", "failed"}  # nothing left running
    assert _query(home, "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")[0][0] == 0
    assert not list((home / "indexes").glob(".tmp-*"))
    media = sorted(p.name for p in (home / "media").iterdir())
    assert media == sorted(p.name for p in (reference / "media").iterdir())
