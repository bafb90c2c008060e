"""`argus eval retrieval`: Recall@1/5/10, MRR and nDCG@10 per channel, per fusion, with and
without rerank, at source and moment level, plus latency; JSON and Markdown with plots.

Query files are JSONL: `query`, `source` (expected file name), optional `t0`/`t1` (seconds)
or `page`, optional `lang`. A moment counts when it overlaps the labelled span (or is on
the labelled page); a query labelled with neither is scored at source level only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from core.types import Evidence
from pipelines.retrieve.metrics import ndcg_at, percentile, recall_at, reciprocal_rank, spans_overlap

DEPTH = 10  # every metric looks at most this deep


class LabelledQuery(BaseModel):
    query: str
    source: str
    t0: float | None = None
    t1: float | None = None
    page: int | None = None
    lang: str | None = None
    kind: str | None = None


def load_queries(path: Path) -> tuple[list[LabelledQuery], list[str]]:
    """The valid queries, and one message per malformed line (with its line number)."""
    queries, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            queries.append(LabelledQuery.model_validate_json(line))
        except ValidationError as exc:
            problems.append(f"{path.name}:{number}: {exc.errors()[0]['msg']}")
    return queries, problems


@dataclass(frozen=True)
class Config:
    """One row of the ablation: a channel alone or a fusion rule, with or without rerank."""

    channel: str  # a channel name, or "fused" (sum) / "fused-rrf"
    rerank: bool = False


@dataclass
class Row:
    channel: str
    level: str
    rerank: bool
    n: int
    metrics: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"channel": self.channel, "level": self.level, "rerank": self.rerank, "n": self.n, **self.metrics}


# search(query, config, granularity) -> ranked evidence, at least DEPTH deep when it can.
SearchFn = Callable[[str, Config, str], list[Evidence]]


def _source_relevance(results: list[Evidence], q: LabelledQuery) -> list[bool]:
    seen, relevant = set(), []
    for ev in results:  # one entry per source: source-level ranking
        if ev.citation.source in seen:
            continue
        seen.add(ev.citation.source)
        relevant.append(ev.citation.source == q.source)
    return relevant


def _moment_relevance(results: list[Evidence], q: LabelledQuery) -> list[bool]:
    relevant = []
    for ev in results:
        c = ev.citation
        if c.source != q.source:
            relevant.append(False)
        elif q.page is not None:
            relevant.append(c.page == q.page)
        else:
            relevant.append(c.t0 is not None and spans_overlap(c.t0, c.t1 if c.t1 is not None else c.t0, q.t0, q.t1))
    return relevant


def _scores(relevance: list[list[bool]]) -> dict[str, float]:
    n = max(1, len(relevance))
    return {
        "recall@1": sum(recall_at(r, 1) for r in relevance) / n,
        "recall@5": sum(recall_at(r, 5) for r in relevance) / n,
        "recall@10": sum(recall_at(r, 10) for r in relevance) / n,
        "mrr": sum(reciprocal_rank(r[:DEPTH]) for r in relevance) / n,
        "ndcg@10": sum(ndcg_at(r, 10) for r in relevance) / n,
    }


def evaluate(queries: list[LabelledQuery], configs: Iterable[Config], search: SearchFn,
             progress: Callable[[str], None] | None = None) -> list[Row]:
    rows: list[Row] = []
    for config in configs:
        for level in ("source", "moment"):
            labelled = queries if level == "source" else [q for q in queries if q.page is not None or q.t0 is not None]
            relevance, latencies = [], []
            for q in labelled:
                start = time.perf_counter()
                results = search(q.query, config, level)
                latencies.append((time.perf_counter() - start) * 1000)
                relevance.append(_source_relevance(results, q) if level == "source" else _moment_relevance(results, q))
            metrics = _scores(relevance)
            metrics["p50_ms"] = percentile(latencies, 50)
            metrics["p95_ms"] = percentile(latencies, 95)
            rows.append(Row(config.channel, level, config.rerank, len(labelled), metrics))
            if progress:
                progress(f"{config.channel}{' +rerank' if config.rerank else ''} [{level}] "
                         f"R@1 {metrics['recall@1']:.2f} MRR {metrics['mrr']:.2f}")
    return rows


def write_report(rows: list[Row], out: Path, *, title: str = "Retrieval evaluation", notes: list[str] = ()) -> None:
    """`out/report.json` (the interface other tools read) and `out/report.md` with PNG plots."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({"results": [r.as_json() for r in rows], "notes": list(notes)},
                                                indent=2, ensure_ascii=False))
    plots = _plot(rows, out)
    lines = [f"# {title}", ""]
    lines += [f"- {n}" for n in notes]
    for level in ("source", "moment"):
        level_rows = [r for r in rows if r.level == level]
        if not level_rows:
            continue
        lines += ["", f"## {level.capitalize()} level (n = {level_rows[0].n})", "",
                  "| channel | rerank | R@1 | R@5 | R@10 | MRR | nDCG@10 | p50 ms | p95 ms |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in level_rows:
            m = r.metrics
            lines.append(f"| {r.channel} | {'yes' if r.rerank else 'no'} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | "
                         f"{m['recall@10']:.3f} | {m['mrr']:.3f} | {m['ndcg@10']:.3f} | {m['p50_ms']:.0f} | "
                         f"{m['p95_ms']:.0f} |")
    lines += ["", *[f"![{p.stem}]({p.name})" for p in plots], ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


def _plot(rows: list[Row], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for level in ("source", "moment"):
        level_rows = [r for r in rows if r.level == level]
        if not level_rows:
            continue
        labels = [f"{r.channel}{'+rr' if r.rerank else ''}" for r in level_rows]
        fig, ax = plt.subplots(figsize=(max(6, len(labels) * 0.9), 3.6))
        width = 0.27
        for i, metric in enumerate(("recall@1", "recall@5", "mrr")):
            xs = [x + (i - 1) * width for x in range(len(labels))]
            ax.bar(xs, [r.metrics[metric] for r in level_rows], width, label=metric)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{level}-level retrieval quality")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        path = out / f"{level}_quality.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    source_rows = [r for r in rows if r.level == "source"]
    ax.barh([f"{r.channel}{'+rr' if r.rerank else ''}" for r in source_rows], [r.metrics["p95_ms"] for r in source_rows])
    ax.set_xlabel("p95 latency (ms)")
    ax.set_title("query latency")
    fig.tight_layout()
    path = out / "latency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [*paths, path]

