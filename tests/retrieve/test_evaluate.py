"""The evaluation harness on a scripted ranking (a fake search function, named as such)."""

import json
from pathlib import Path

import pytest

from core.types import Citation, Evidence, SourceType
from pipelines.retrieve.evaluate import Config, evaluate, load_queries, write_report

pytestmark = pytest.mark.unit


def _ev(source: str, t0=None, t1=None, page=None) -> Evidence:
    kind = SourceType.document if page else SourceType.video
    return Evidence(citation=Citation(source_id=1, source=source, type=kind, t0=t0, t1=t1, page=page), text="", score=1)


def fake_search(query: str, config: Config, level: str) -> list[Evidence]:
    """Scripted results: 'cat' finds its video first, 'tea' second, 'page' the right page second."""
    return {
        "cat": [_ev("cats.mp4", 10, 15), _ev("tea.mp4", 0, 5)],
        "tea": [_ev("cats.mp4", 1, 2), _ev("cats.mp4", 3, 4), _ev("tea.mp4", 30, 40)],
        "page": [_ev("report.pdf", page=1), _ev("report.pdf", page=2)],
    }[query]


def test_metrics_at_both_levels(tmp_path: Path) -> None:
    lines = [
        {"query": "cat", "source": "cats.mp4", "t0": 12, "t1": 20},
        {"query": "tea", "source": "tea.mp4", "t0": 0, "t1": 10, "lang": "zh"},
        {"query": "page", "source": "report.pdf", "page": 2},
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n{not json}\n" + json.dumps({"query": "x"}) + "\n")
    queries, problems = load_queries(path)
    assert len(queries) == 3
    assert [p.split(":")[1] for p in problems] == ["5", "6"]

    rows = {r.level: r for r in evaluate(queries, [Config("fused")], fake_search)}
    source, moment = rows["source"].metrics, rows["moment"].metrics
    # source level: cat rank 1, tea rank 2 (cats.mp4 appears once), report rank 1
    assert source["recall@1"] == pytest.approx(2 / 3) and source["mrr"] == pytest.approx((1 + 0.5 + 1) / 3)
    # moment level: cat overlaps at rank 1; tea's 30-40 misses 0-10; page 2 at rank 2
    assert moment["recall@1"] == pytest.approx(1 / 3) and moment["recall@5"] == pytest.approx(2 / 3)
    assert moment["mrr"] == pytest.approx((1 + 0 + 0.5) / 3)

    write_report(list(rows.values()), tmp_path / "out", notes=["scripted"])
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {r["level"] for r in report["results"]} == {"source", "moment"}
    assert set(report["results"][0]) >= {"channel", "level", "rerank", "recall@1", "recall@5", "recall@10", "mrr",
                                         "ndcg@10", "p50_ms", "p95_ms"}
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| fused | no |" in md and "source_quality.png" in md
    assert (tmp_path / "out" / "source_quality.png").stat().st_size > 1000
