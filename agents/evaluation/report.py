"""The evaluation report: DIR/report.json (summary, by_category, tasks with traces), DIR/report.md with
plots, and with a baseline a per-task comparison that flags regressions."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.evaluation.metrics import SUMMARY_KEYS, aggregate, task_metrics
from agents.evaluation.plots import category_bars, latency_histogram
from agents.evaluation.tasks import CATEGORIES, Task, TaskSet

REPORT_JSON, REPORT_MD = "report.json", "report.md"


def runs_dir(settings) -> Path:
    """Where `argus eval agents` writes its runs by default, and where the REST API lists them."""
    return settings.home / "eval" / "agents"
REGRESSION_KEYS = ("pass_rate", "fact_recall")  # a per-task drop in either is a regression


def build_report(task_set: TaskSet, records: list[dict], *, engine: dict[str, Any] | None = None,
                 tasks_file: str | None = None) -> dict[str, Any]:
    by_task: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_task[record["task_id"]].append(record)
    scored: list[tuple[Task, dict]] = []
    tasks_out = []
    for task in task_set.tasks:
        attempts = sorted(by_task.get(task.id, []), key=lambda r: r["repeat"])
        if not attempts:
            continue
        metrics = task_metrics(task, attempts)
        scored.append((task, metrics))
        tasks_out.append({"task": task.model_dump(exclude_none=True), "metrics": metrics, "attempts": attempts})
    by_category = {c: aggregate([(t, m) for t, m in scored if t.category == c])
                   for c in CATEGORIES if any(t.category == c for t, _ in scored)}
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "tasks_file": tasks_file,
        "engine": engine or {},
        "problems": task_set.problems,
        "repeat": max((r["repeat"] for r in records), default=-1) + 1,
        "summary": aggregate(scored),
        "by_category": by_category,
        "tasks": tasks_out,
    }


def compare(report: dict, baseline: dict) -> dict[str, Any]:
    """Summary deltas and per-task changes; a task regresses when its pass rate or fact recall drops."""
    old_tasks = {t["task"]["id"]: t["metrics"] for t in baseline.get("tasks", [])}
    rows, regressions = [], []
    for entry in report["tasks"]:
        task_id, new = entry["task"]["id"], entry["metrics"]
        old = old_tasks.get(task_id)
        if old is None:
            continue
        worse = [k for k in REGRESSION_KEYS if _drop(old.get(k), new.get(k))]
        if worse:
            regressions.append(task_id)
        rows.append({"task_id": task_id, **{f"{k}_before": old.get(k) for k in REGRESSION_KEYS},
                     **{f"{k}_after": new.get(k) for k in REGRESSION_KEYS}, "regressed": worse})
    summary = {k: {"before": baseline.get("summary", {}).get(k), "after": report["summary"].get(k)}
               for k in (*SUMMARY_KEYS, "p50_s", "p95_s", "tokens")}
    return {"baseline_created": baseline.get("created"), "summary": summary, "tasks": rows, "regressions": regressions}


def _drop(before: float | None, after: float | None) -> bool:
    return before is not None and (after is None or after < before - 1e-9)


def engine_info(settings) -> dict[str, Any]:
    base_url = settings.llm_base_url or f"http://{settings.engine_host}:{settings.engine_port}/v1"
    return {"backend": settings.llm_backend, "model": settings.llm_model, "base_url": base_url,
            "max_model_len": settings.engine_max_model_len, "dtype": settings.engine_dtype}


def write_report(out: Path, task_set: TaskSet, records: list[dict], settings, *, tasks_file: Path | None = None,
                 baseline: Path | None = None, judge: bool = False) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(task_set, records, engine=engine_info(settings),
                          tasks_file=str(tasks_file) if tasks_file else None)
    if judge:
        from agents.evaluation.judge import judge_records

        report["judge"] = judge_records(records, settings)
    if baseline is not None:  # read before this run's report is written: the baseline may be the same folder
        report["comparison"] = compare(report, json.loads((baseline / REPORT_JSON).read_text(encoding="utf-8")))
        report["comparison"]["baseline"] = str(baseline)
    plots = {"categories": category_bars(report["by_category"], out / "categories.png"),
             "latency": latency_histogram([a["seconds"] for t in report["tasks"] for a in t["attempts"]],
                                          out / "latency.png")}
    (out / REPORT_JSON).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / REPORT_MD).write_text(markdown(report, plots), encoding="utf-8")
    return report


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def markdown(report: dict, plots: dict[str, Path | None]) -> str:
    s, engine = report["summary"], report.get("engine", {})
    lines = [
        "# Agent evaluation",
        "",
        f"Created {report['created']} · tasks `{report.get('tasks_file') or '-'}` · {s['tasks']} tasks × "
        f"{report['repeat']} · engine {engine.get('backend', '-')} `{engine.get('model', '-')}` at "
        f"{engine.get('base_url', '-')}",
        "",
        "## Summary",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {_fmt(v)} |" for k, v in s.items()],
        "",
        "## By category",
        "",
        "| category | tasks | pass | fact recall | cit. validity | cit. support | cit. precision | cit. recall | refusal "
        "| routing | p50 s | p95 s | LLM calls / task | tokens in / task | tokens out / task |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in report["by_category"].items():
        attempts = max(c.get("attempts") or 1, 1)
        lines.append(f"| {name} | {c['tasks']} | {_fmt(c['pass_rate'])} | {_fmt(c['fact_recall'])} | "
                     f"{_fmt(c['citation_validity'])} | {_fmt(c.get('citation_support'))} | "
                     f"{_fmt(c['citation_precision'])} | {_fmt(c['citation_recall'])} "
                     f"| {_fmt(c['refusal_accuracy'])} | {_fmt(c['routing_accuracy'])} | {_fmt(c['p50_s'])} | "
                     f"{_fmt(c['p95_s'])} | {_fmt(c.get('llm_calls_per_task'))} | {round(c['tokens_in'] / attempts)} | "
                     f"{round(c['tokens_out'] / attempts)} |")
    for title, key in (("Per category", "categories"), ("Latency", "latency")):
        if plots.get(key):
            lines += ["", f"![{title}]({plots[key].name})"]
    if report.get("judge"):
        lines += ["", "## LLM judge (groundedness, separate from the metrics above)", "",
                  f"Mean groundedness: {_fmt(report['judge']['groundedness'])}"]
    if report.get("comparison"):
        lines += _comparison_md(report["comparison"])
    lines += ["", "## Tasks", "", "| task | category | lang | status | route | pass | facts | cit. valid | cit. recall "
              "| nodes | s | tokens |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for entry in report["tasks"]:
        t, m, first = entry["task"], entry["metrics"], entry["attempts"][0]
        route = next((n["route"] for n in first["trace"].get("nodes", []) if n.get("route")), "–")
        lines.append(f"| {t['id']} | {t['category']} | {t['lang']} | {first['status']} | {route} | {_fmt(m['pass_rate'])} | "
                     f"{_fmt(m['fact_recall'])} | {_fmt(m['citation_validity'])} | {_fmt(m['citation_recall'])} | "
                     f"{' → '.join(first['trace'].get('visited', []))} | {_fmt(m['seconds'])} | "
                     f"{round((m['tokens_in'] or 0) + (m['tokens_out'] or 0))} |")
    errors = [(e["task"]["id"], a["error"]) for e in report["tasks"] for a in e["attempts"] if a.get("error")]
    if errors:
        lines += ["", "## Failed attempts", "", *[f"- `{tid}`: {err}" for tid, err in errors]]
    if report.get("problems"):
        lines += ["", "## Skipped task lines", "", *[f"- {p}" for p in report["problems"]]]
    lines += ["", "Full traces (nodes, plan, tool calls with arguments and results, tokens, latency per node) "
              "and answers are in `report.json`."]
    return "\n".join(lines) + "\n"


def _comparison_md(comparison: dict) -> list[str]:
    name = Path(comparison["baseline"]).name if comparison.get("baseline") else "-"
    lines = ["", f"## Against the baseline `{name}` ({comparison.get('baseline_created') or '-'})", "",
             "| metric | before | after |",
             "|---|---|---|"]
    lines += [f"| {k} | {_fmt(v['before'])} | {_fmt(v['after'])} |" for k, v in comparison["summary"].items()]
    lines += ["", "| task | pass before | pass after | facts before | facts after | regression |", "|---|---|---|---|---|---|"]
    for row in comparison["tasks"]:
        flag = "**REGRESSION** (" + ", ".join(row["regressed"]) + ")" if row["regressed"] else ""
        lines.append(f"| {row['task_id']} | {_fmt(row['pass_rate_before'])} | {_fmt(row['pass_rate_after'])} | "
                     f"{_fmt(row['fact_recall_before'])} | {_fmt(row['fact_recall_after'])} | {flag} |")
    return lines
