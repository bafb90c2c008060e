"""The command line read through a pipe (as `make demo`'s log, or CI, reads it): tables keep each
file name on one line, and a folder whose files sit in subfolders says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LONG_NAMES = ["espresso_machine_descaling_and_backflush_guide.md", "quince_orchard_on_mill_road_harvest_notes.txt"]


def argus(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update(ARGUS_HOME=str(home), PYTHONPATH=str(REPO))
    # stdout is a pipe, not a terminal: no width to take from it.
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_tables_through_a_pipe_keep_file_names_whole(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / LONG_NAMES[0]).write_text("# Descaling\n\nRun citric acid through the steam wand monthly.\n")
    (folder / LONG_NAMES[1]).write_text("The orchard on Mill Road grows forty-two quince trees.\n")
    ingested = argus("ingest", str(folder), home=tmp_path / "home")
    assert ingested.returncode == 0, ingested.stderr
    listed = argus("sources", home=tmp_path / "home")
    assert listed.returncode == 0, listed.stderr
    for output in (ingested.stdout, listed.stdout):
        for name in LONG_NAMES:
            assert name in output, output  # on one line, not folded a few characters a line
        assert all(len(line) <= 200 for line in output.splitlines())


def test_a_folder_of_subfolders_suggests_recursive(tmp_path: Path) -> None:
    top = tmp_path / "library"
    for sub in ("talks", "manuals"):
        (top / sub).mkdir(parents=True)
        (top / sub / f"{sub}.md").write_text(f"# {sub}\n\nSomething worth finding.\n")
    (top / "cover.xyz").write_text("not a document")
    (top / "index.xyz").write_text("not a document")
    result = argus("ingest", str(top), home=tmp_path / "home")
    assert "0 ingested, 2 skipped" in result.stdout
    assert "2 subfolders were not descended (manuals, talks)" in result.stdout and "--recursive" in result.stdout
    assert result.returncode == 1  # nothing was ingested: not a success


def test_eval_retrieval_refuses_a_base_that_cannot_answer(tmp_path: Path) -> None:
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"query": "how many quince trees", "source": "orchard.txt"}\n'
                       '{"query": "when is the lens polished", "source": "lighthouse.md"}\n')
    empty = argus("eval", "retrieval", "--queries", str(queries), "--out", str(tmp_path / "out"), home=tmp_path / "h0")
    assert empty.returncode == 2 and "has no sources" in empty.stdout, empty.stdout
    assert not (tmp_path / "out" / "report.md").exists()

    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "bees.md").write_text("# Bees\n\nThe hive on the hill has nine frames of capped honey.\n")
    assert argus("ingest", str(folder), home=tmp_path / "h1").returncode == 0
    unrelated = argus("eval", "retrieval", "--queries", str(queries), "--out", str(tmp_path / "out"),
                      home=tmp_path / "h1")
    assert unrelated.returncode == 2 and "none of the 2 sources" in unrelated.stdout, unrelated.stdout
    assert not (tmp_path / "out" / "report.md").exists()
