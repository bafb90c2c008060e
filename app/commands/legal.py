"""`argus legal train|index|predict|eval`: the legal-judgement tool (models/legal)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.console import make_console
from core.settings import Settings, get_settings

console = make_console()
legal_app = typer.Typer(help="Legal judgement (CAIL2018): charge classifier, precedents, sentencing.",
                        no_args_is_help=True)

DataOption = Annotated[Path | None, typer.Option("--data", help="CAIL2018 JSON-lines file (default: ARGUS_LEGAL_DATA).")]


def _train_file(settings: Settings, data: Path | None) -> Path:
    path = data or settings.legal_data
    if path is None:
        console.print("[red]no data[/]: pass --data train.jsonl or set ARGUS_LEGAL_DATA")
        raise typer.Exit(2)
    return path


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)


@legal_app.command("train")
def train_cmd(
    data: DataOption = None,
    valid: Annotated[Path | None, typer.Option(help="Validation file (default: valid.jsonl beside --data).")] = None,
    base: Annotated[str | None, typer.Option(help="Base model folder or id (default: the shipped Qwen2.5 0.5B).")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Input tokens per case.")] = None,
    time_budget: Annotated[float | None, typer.Option(help="Minutes of training, over resumes (validation after).")] = None,
    limit: Annotated[int | None, typer.Option(help="Train on this many cases, drawn round-robin over charges.")] = None,
    valid_limit: Annotated[int | None, typer.Option(help="Validate on this many cases (round-robin).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs over the (sub)set.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size (default: ARGUS_LEGAL_BATCH_SIZE).")] = None,
    probe: Annotated[bool, typer.Option(help="Initialise the head by a linear probe first (LP-FT).")] = True,
    checkpoint_every: Annotated[int, typer.Option(help="Steps between checkpoints.")] = 25,
    restart: Annotated[bool, typer.Option("--restart", help="Discard the checkpoint and start over.")] = False,
    baseline_only: Annotated[bool, typer.Option(
        "--baseline-only", help="Train the TF-IDF baseline and the term estimate only: all the default "
                                "pipeline uses (legal_baseline_weight 1.0).")] = False,
) -> None:
    """Train the TF-IDF baseline (seconds), then fine-tune the LoRA charge classifier (resumable).

    Options not given follow the plan for this machine: on a GPU the whole training split (256 tokens,
    2 epochs); on a CPU 320 round-robin cases, 64 tokens, 2 epochs within 85 minutes."""
    import shutil

    import torch

    from models.legal import base_model, classifier_dir
    from models.legal.train import CHECKPOINT_DIR, PROBE_FILE, TrainConfig, default_plan, train

    settings = get_settings()
    train_file = _train_file(settings, data)
    valid_file = valid or (train_file.parent / "valid.jsonl")
    torch.set_num_threads(settings.threads)
    _train_baseline(settings, train_file)
    if baseline_only:
        return

    plan = default_plan()
    given = {"limit": limit, "valid_limit": valid_limit, "max_tokens": max_tokens, "epochs": epochs,
             "time_budget_min": time_budget}
    plan.update({k: v for k, v in given.items() if v is not None})
    console.print("plan: " + ", ".join(f"{k}={v}" for k, v in plan.items()))
    out_dir = classifier_dir(settings)
    if restart:
        shutil.rmtree(out_dir / CHECKPOINT_DIR, ignore_errors=True)
        (out_dir / PROBE_FILE).unlink(missing_ok=True)
    config = TrainConfig(
        train_file=train_file,
        valid_file=valid_file if valid_file.is_file() else None,
        out_dir=out_dir,
        base_model=base or base_model(settings),
        attn_implementation=settings.legal_attn_implementation,
        batch_size=batch_size or settings.legal_batch_size,
        checkpoint_every=checkpoint_every,
        probe=probe,
        **plan,
    )
    with _progress() as progress:
        tasks: dict[str, int] = {}

        def advance(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done)

        result = train(config, resume=not restart, progress=advance, log=progress.console.print)
    minutes = result.state.train_seconds / 60
    console.print(f"[green]classifier saved[/] in {result.out_dir}: {result.state.global_step} steps, "
                  f"{minutes:.1f} min, {result.cases} cases, {result.labels} labels (stopped by {result.stopped_by})")


def _train_baseline(settings: Settings, train_file: Path) -> None:
    import time

    from models.legal import baseline_dir
    from models.legal.baseline import TfidfBaseline
    from models.legal.data import load_cases
    from models.legal.labels import LabelSet, find_accu
    from models.legal.term_estimate import TermEstimator

    started = time.perf_counter()
    cases = load_cases(train_file).cases
    labels, _ = LabelSet.build(find_accu(train_file), cases)
    with console.status("training the TF-IDF baseline…"):
        path = TfidfBaseline(labels).fit(cases).save(baseline_dir(settings))
    console.print(f"[green]baseline saved[/] to {path} ({time.perf_counter() - started:.0f} s, {len(cases)} cases)")
    started = time.perf_counter()
    with console.status("training the prison-term estimate…"):
        path = TermEstimator().fit(cases).save(baseline_dir(settings))
    console.print(f"[green]term estimate saved[/] to {path} ({time.perf_counter() - started:.0f} s)")


@legal_app.command("index")
def index_cmd(
    data: DataOption = None,
    limit: Annotated[int | None, typer.Option(help="Index this many cases, round-robin over charges; "
                                              "run again without it to add the rest.")] = None,
) -> None:
    """Build (or extend) the FAISS precedent base from a CAIL2018 file; only new facts are embedded."""
    from models.legal import precedents_dir
    from models.legal.data import load_cases, round_robin
    from models.legal.precedents import PrecedentBase

    settings = get_settings()
    loaded = load_cases(_train_file(settings, data))
    console.print(loaded.summary())
    cases = round_robin(loaded.cases, seed=0)[:limit] if limit else loaded.cases
    with _progress() as progress:
        task = progress.add_task("embedding facts", total=None)
        base, added = PrecedentBase.build(cases, precedents_dir(settings), settings,
                                          progress=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(f"[green]precedent base ready[/] in {base.folder}: {len(base)} cases ({added} new)")


@legal_app.command("predict")
def predict_cmd(
    fact: Annotated[str | None, typer.Argument(help="The case description (Chinese).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Read the case description from this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Charges and sentence for one case description, citing the precedents used."""
    from models.legal.pipeline import predict
    from models.legal.tool import confidence_text, sentence_text

    if (fact is None) == (file is None):
        console.print("[red]give the fact as an argument or with --file, not both[/]")
        raise typer.Exit(2)
    text = file.read_text(encoding="utf-8") if file is not None else fact
    with console.status("predicting…"):
        verdict = predict(text or "", get_settings())
    if as_json:
        typer.echo(verdict.model_dump_json(indent=1))
        return
    if not verdict.identified:
        console.print(f"[yellow]no charge identified[/] ({confidence_text(verdict)})")
    else:
        console.print(f"[bold]罪名[/] {'、'.join(verdict.charges)}  ({confidence_text(verdict)})")
        term, fine = sentence_text(verdict)
        console.print(f"[bold]被告人[/] {verdict.defendant or '–'}  [bold]刑期[/] {term}  [bold]罚金[/] {fine}  "
                      f"({verdict.sentencing_runs} runs merged)")
    for note in verdict.notes:
        console.print(f"[dim]note: {note}[/]")
    if verdict.precedents:
        table = Table(title="precedents")
        for column in ("case", "similarity", "charges", "term (months)", "fine (yuan)"):
            table.add_column(column)
        for p in verdict.precedents:
            term = "death" if p.death else "life" if p.life else str(p.prison_months)
            table.add_row(p.case_id, f"{p.similarity:.3f}", "、".join(p.charges), term, f"{p.fine:,.0f}")
        console.print(table)


@legal_app.command("eval")
def eval_cmd(
    data: Annotated[Path, typer.Option("--data", help="CAIL2018 file to evaluate on (e.g. valid.jsonl).")],
    out: Annotated[Path, typer.Option(help="Folder for report.json, report.md and confusion.png.")] = Path("docs/eval/legal"),
    systems: Annotated[str, typer.Option(help="Comma-separated: baseline,classifier,pipeline.")] = "baseline,classifier,pipeline",
    limit: Annotated[int | None, typer.Option(help="Evaluate on the first N cases only.")] = None,
    pipeline_limit: Annotated[int | None, typer.Option(help="Run the (slow) pipeline on N round-robin cases.")] = None,
) -> None:
    """CAIL2018 metrics of the baseline, the classifier and the full pipeline; JSON and Markdown report."""
    from models.legal.evaluate import SYSTEMS, evaluate
    from models.legal.report import write_report

    wanted = [s.strip() for s in systems.split(",") if s.strip()]
    unknown = set(wanted) - set(SYSTEMS)
    if unknown:
        console.print(f"[red]unknown systems[/] {sorted(unknown)}; choose from {', '.join(SYSTEMS)}")
        raise typer.Exit(2)
    settings = get_settings()
    result = evaluate(data, settings, wanted, limit=limit, pipeline_limit=pipeline_limit, log=console.print)
    context = {"data": str(data), "attention": settings.legal_attn_implementation,
               "pipeline baseline weight": settings.legal_baseline_weight}
    if {"classifier", "pipeline"} & set(wanted):
        from models.legal import classifier_dir
        from models.legal.classifier import ClassifierMeta

        meta = ClassifierMeta.read(classifier_dir(settings))
        context.update({"classifier base": meta.base_model, "classifier max tokens": meta.max_tokens})
    paths = write_report(result, out, context)
    if result.reproduction is not None:
        r = result.reproduction
        state = "[green]reproduced[/]" if r["reproduced"] else "[red]NOT reproduced[/]"
        console.print(f"training validation metrics {state} on its {r['n']} cases: {r['saved_model']}")
    console.print(f"[green]report[/] {paths['json']} and {paths['markdown']}")


def register(app: typer.Typer) -> None:
    app.add_typer(legal_app, name="legal")


