"""The evaluation report: `report.json` (one object per system, read by other tools), `report.md` and a
confusion-matrix plot of the primary charge for the baseline, the classifier and their blend."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from models.legal.evaluate import Evaluation, SystemScores

REPORT_JSON = "report.json"
REPORT_MD = "report.md"
CONFUSION_PNG = "confusion.png"
CONFUSION_LABELS = 20  # the most frequent gold charges; the rest are pooled as "其他" (other)
FONT = "WenQuanYi Micro Hei"  # a CJK font for the charge names; matplotlib falls back (with boxes) without it


def write_report(result: Evaluation, out_dir: Path, context: dict | None = None) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {name: s.public() for name, s in result.systems.items()}
    paths = {"json": out_dir / REPORT_JSON, "markdown": out_dir / REPORT_MD}
    paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if {"baseline", "classifier"} & set(result.predictions):
        paths["confusion"] = out_dir / CONFUSION_PNG
        plot_confusion(result, paths["confusion"])
    paths["markdown"].write_text(markdown(result, context or {}, paths), encoding="utf-8")
    return paths


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _table(rows: dict[str, SystemScores]) -> list[str]:
    lines = ["| system | n | accuracy | micro-F1 | macro-F1 | term score | fine accuracy |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, s in rows.items():
        lines.append(f"| {name} | {s.n} | {_fmt(s.accuracy)} | {_fmt(s.micro_f1)} | {_fmt(s.macro_f1)} | "
                     f"{_fmt(s.term_score)} | {_fmt(s.fine_accuracy)} |")
    return lines


def markdown(result: Evaluation, context: dict, paths: dict[str, Path]) -> str:
    lines = [f"# Legal tool evaluation: {result.data.name}", ""]
    lines += [f"- {k}: {v}" for k, v in context.items()]
    lines += ["", "## All systems", "",
              "Accuracy is exact match of the charge set; macro-F1 averages over the charges that occur in the gold "
              "sets or the predictions. Term score and fine accuracy need a sentence: the pipeline gives both, "
              "`term_estimate` (the statistical term estimate with the baseline's charges) a term.",
              "", *_table(result.systems), ""]
    if "pipeline" in result.systems and result.systems["pipeline"].n != len(result.cases):
        lines += ["## On the pipeline's cases", "",
                  f"The pipeline ran on {len(result.pipeline_cases)} cases (round-robin over charges); every system on "
                  "exactly those cases. `precedent_median` is the median term and fine of the precedents the pipeline "
                  "retrieved, without the LLM.", "", *_table(result.on_pipeline_cases), ""]
    elif "precedent_median" in result.on_pipeline_cases:
        lines += ["Without the LLM (median term and fine of the retrieved precedents):", "",
                  *_table({"precedent_median": result.on_pipeline_cases["precedent_median"]}), ""]
    if result.reproduction is not None:
        r = result.reproduction
        verdict = "reproduced" if r["reproduced"] else "NOT reproduced"
        lines += ["## Saved classifier against training", "",
                  f"On the {r['n']} validation cases training measured, the saved classifier gives "
                  f"{json.dumps(r['saved_model'])}; training recorded {json.dumps(r['training'])}: **{verdict}**.", ""]
    if result.verdicts:
        unidentified = sum(not v.identified for v in result.verdicts)
        filtered_out = sum(any("any charge" in n for n in v.notes) for v in result.verdicts)
        lines += ["## Pipeline behaviour", "",
                  f"- no charge identified: {unidentified} of {len(result.verdicts)}",
                  f"- precedent search fell back to all charges: {filtered_out}",
                  f"- wall time: {result.systems['pipeline'].seconds:.0f} s", ""]
    if "confusion" in paths:
        lines += ["## Confusion (primary charge)", "", f"![confusion matrix]({paths['confusion'].name})", ""]
    return "\n".join(lines)


def plot_confusion(result: Evaluation, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.sans-serif"] = [FONT, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    gold = [c.primary_charge for c in result.cases]
    names = [n for n, _ in Counter(gold).most_common(CONFUSION_LABELS)]
    other = "其他"
    axis = [*names, other]
    position = {n: i for i, n in enumerate(names)}
    systems = [s for s in ("baseline", "classifier", "blend") if s in result.predictions]
    fig, axes = plt.subplots(1, len(systems), figsize=(9 * len(systems), 8.5), squeeze=False)
    for ax, system in zip(axes[0], systems, strict=True):
        matrix = np.zeros((len(axis), len(axis)), dtype=int)
        for g, p in zip(gold, result.predictions[system], strict=True):
            matrix[position.get(g, len(names)), position.get(p[0], len(names))] += 1
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(axis)), axis, rotation=90, fontsize=7)
        ax.set_yticks(range(len(axis)), axis, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        s = result.systems[system]
        ax.set_title(f"{system}: accuracy {s.accuracy:.3f}, macro-F1 {s.macro_f1:.3f} (n={s.n})")
        for (i, j), count in np.ndenumerate(matrix):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=6,
                        color="white" if count > matrix.max() / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
