"""Task files: validation with line numbers, and the shipped demo task set against the demo corpus."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from agents.evaluation.metrics import fact_found, overlaps
from agents.evaluation.tasks import CATEGORIES, SPLITS, load_tasks, parse_tasks
from pipelines.demo.doc_texts import DOCUMENTS
from pipelines.demo.scripts import VIDEOS

pytestmark = pytest.mark.unit

GOOD = {"id": "a", "question": "q?", "lang": "en", "category": "lookup", "expected_facts": ["x", "re:\\d+"],
        "expected_sources": ["a.md", {"source": "v.mp4", "t0": 1, "t1": 2}, {"source": "d.pdf", "page": 2}]}


def test_malformed_lines_are_reported_with_line_numbers_and_skipped() -> None:
    lines = [
        json.dumps(GOOD),
        "",
        "# a comment",
        "{not json",
        json.dumps({**GOOD, "id": "b", "category": "poetry"}),
        json.dumps({**GOOD, "id": "c", "expected_facts": ["re:(unclosed"]}),
        json.dumps({**GOOD, "id": "d", "expected_sources": [{"source": "v.mp4", "t0": 5}]}),
        json.dumps({**GOOD, "id": "a"}),
        json.dumps({**GOOD, "id": "e", "surprise": 1}),
        json.dumps({**GOOD, "id": "f", "budget": {"seconds": 30, "steps": 2}}),
    ]
    task_set = parse_tasks(lines)
    assert [t.id for t in task_set.tasks] == ["a", "f"]
    assert [p.split(":")[0] for p in task_set.problems] == ["line 4", "line 5", "line 6", "line 7", "line 8", "line 9"]
    assert "duplicate" in task_set.problems[4] and "category" in task_set.problems[1]
    assert task_set.tasks[0].expected_sources[0].source == "a.md" and task_set.tasks[1].budget.seconds == 30


@pytest.mark.parametrize("split", sorted(SPLITS))
def test_each_split_covers_every_category_in_two_languages(split: str) -> None:
    task_set = load_tasks(SPLITS[split])
    assert not task_set.problems and len(task_set.tasks) >= 30
    assert set(Counter(t.category for t in task_set.tasks)) == set(CATEGORIES)
    assert {t.lang for t in task_set.tasks} == {"en", "zh"}


def test_the_splits_share_no_task() -> None:
    dev, test = (load_tasks(SPLITS[s]).tasks for s in ("dev", "test"))
    assert not {t.id for t in dev} & {t.id for t in test}
    assert not {t.question for t in dev} & {t.question for t in test}


def test_the_test_split_measures_the_team_not_the_rules() -> None:
    """Its refusals are requests no safety rule matches; its calculations do not ask for Python."""
    from agents.nodes.coordinator import is_harmful

    tasks = load_tasks(SPLITS["test"]).tasks
    refusals = [t for t in tasks if t.category == "refusal"]
    assert len(refusals) >= 3 and not any(is_harmful(t.question) for t in refusals)
    calculations = [t for t in tasks if t.category == "calculation"]
    assert len(calculations) >= 4 and not any("python" in t.question.lower() for t in calculations)
    assert sum(t.category == "unanswerable" for t in tasks) >= 3


def _corpus_texts() -> dict[str, str]:
    texts = {}
    for video in VIDEOS:
        texts[video.file_name] = " ".join(
            " ".join([s.heading, *s.body, *(line.text for line in s.narration)]) for s in video.scenes)
    for doc in DOCUMENTS:
        texts[doc.file_name] = " ".join(" ".join([s.heading, *s.paragraphs]) for s in doc.sections)
    return texts


def test_expected_facts_are_in_the_expected_sources() -> None:
    texts = _corpus_texts()
    for task in [t for s in SPLITS.values() for t in load_tasks(s).tasks]:
        if task.category not in ("lookup", "multi-hop"):
            continue
        assert task.expected_facts and task.expected_sources, task.id
        text = " ".join(texts[s.source] for s in task.expected_sources)
        for fact in task.expected_facts:
            assert fact_found(fact, text), (task.id, fact)


@pytest.fixture(scope="module")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ARGUS_DEMO_CORPUS (a corpus from `argus demo-corpus`), else one generated here (~20 s)."""
    if given := os.environ.get("ARGUS_DEMO_CORPUS"):
        return Path(given)
    from pipelines.demo import build_demo_corpus

    out = tmp_path_factory.mktemp("demo_corpus")
    build_demo_corpus(out, progress=False)
    return out


def test_expected_moments_match_the_manifest(demo_corpus: Path) -> None:
    """Each expected moment is a scene of the generated corpus whose text holds the task's facts."""
    manifest = json.loads((demo_corpus / "manifest.json").read_text(encoding="utf-8"))
    videos = {Path(v["file"]).name: v for v in manifest["videos"]}
    documents = {Path(d["file"]).name: d for d in manifest["documents"]}
    for task in [t for s in SPLITS.values() for t in load_tasks(s).tasks]:
        texts = []
        for source in task.expected_sources:
            assert source.source in videos or source.source in documents, (task.id, source.source)
            if source.t0 is None:
                continue
            scenes = [s for s in videos[source.source]["scenes"] if overlaps(s["t0"], s["t1"], source.t0, source.t1, 0)]
            assert scenes and any(abs(s["t0"] - source.t0) < 0.05 and abs(s["t1"] - source.t1) < 0.05 for s in scenes)
            texts += [" ".join(s["on_screen_text"] + [n["text"] for n in s["narration"]]) for s in scenes]
        if texts and task.category == "lookup":
            assert all(fact_found(f, " ".join(texts)) for f in task.expected_facts), task.id
