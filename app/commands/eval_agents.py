"""`argus eval agents`: run a task set through the agent team and write its report.

    argus eval agents --split dev|test --out DIR [--repeat K]     (or --tasks FILE.jsonl)
                      [--concurrency N] [--baseline DIR] [--fresh] [--timeout S] [--judge]

Attached to the `eval` group of app/commands/retrieve.py (see `register_agents`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from agents.evaluation.tasks import SPLITS
from app.console import make_console

console = make_console()


def default_out(settings) -> Path:
    from agents.evaluation.report import runs_dir

    return runs_dir(settings) / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def eval_agents(
    split: Annotated[str, typer.Option("--split", help=f"A shipped task set: {' or '.join(SPLITS)} (tune on dev, "
                                       "report test).")] = "dev",
    tasks: Annotated[Path | None, typer.Option("--tasks", help="Another task set (JSONL); overrides --split.",
                                               exists=True, dir_okay=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Report folder; default ARGUS_HOME/eval/agents/<UTC time>. "
                                             "An existing folder resumes.")] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Runs per task (consistency).")] = 1,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Tasks run at once.")] = 1,
    baseline: Annotated[Path | None, typer.Option("--baseline", help="An earlier report folder to compare with.",
                                                  exists=True, file_okay=False)] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Run every task again, ignoring recorded results.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds per task (a task's budget.seconds "
                                           "wins).")] = 600.0,
    judge: Annotated[bool, typer.Option("--judge", help="Also score groundedness with the LLM judge (slow; "
                                        "reported separately).")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Evaluate the agent team on a task set: metrics, traces, report.md with plots."""
    from agents.evaluation.runner import Options, run_tasks
    from agents.evaluation.tasks import load_tasks
    from core.settings import get_settings

    settings = get_settings()
    if tasks is None:
        if split not in SPLITS:
            console.print(f"[red]unknown split {split!r}: {', '.join(SPLITS)}[/red]")
            raise typer.Exit(2)
        tasks = SPLITS[split]
    task_set = load_tasks(tasks)
    for problem in task_set.problems:
        console.print(f"[yellow]skipped {tasks.name} {problem}[/yellow]")
    if not task_set.tasks:
        console.print("[red]no valid tasks[/red]")
        raise typer.Exit(1)
    if baseline is not None and not (baseline / "report.json").is_file():
        console.print(f"[red]{baseline} holds no report.json[/red]")
        raise typer.Exit(1)
    out = out or default_out(settings)
    console.print(f"{len(task_set.tasks)} tasks × {repeat} → {out}")
    records = run_tasks(task_set.tasks, out, settings,
                        Options(repeat=repeat, concurrency=concurrency, timeout_s=timeout, fresh=fresh),
                        progress=progress)
    from agents.evaluation.report import write_report

    report = write_report(out, task_set, records, settings, tasks_file=_shown(tasks), baseline=baseline, judge=judge)
    _print_summary(report)
    console.print(f"report: {out / 'report.md'}")


def _shown(path: Path) -> Path:
    """The path relative to the working folder when it lies inside it (reports get copied around)."""
    resolved = path.resolve()
    return resolved.relative_to(Path.cwd()) if resolved.is_relative_to(Path.cwd()) else resolved


def _print_summary(report: dict) -> None:
    table = Table(title="agent evaluation")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report["summary"].items():
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    console.print(table)
    regressions = (report.get("comparison") or {}).get("regressions") or []
    if regressions:
        console.print(f"[red]{len(regressions)} regressions against the baseline: {', '.join(regressions)}[/red]")


def register_agents(eval_app: typer.Typer) -> None:
    eval_app.command("agents")(eval_agents)
