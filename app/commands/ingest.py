"""`argus ingest`, `argus sources`, `argus remove`, `argus reindex`: building the knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.console import make_console, name_width
from core.settings import get_settings
from core.types import format_timestamp

console = make_console()


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
    app.command("sources")(sources_command)
    app.command("remove")(remove_command)
    app.command("reindex")(reindex_command)


def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to ingest.")],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into subfolders.")] = False,
    workers: Annotated[int | None, typer.Option("--workers", "-w", min=1, help="Files processed in parallel.")] = None,
    engine: Annotated[str | None, typer.Option("--engine", help="local (processes) or ray.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Add videos, audio and documents to the knowledge base (re-ingesting a file is a no-op)."""
    from pipelines.ingest.jobs import ingest

    if engine not in (None, "local", "ray"):
        raise typer.BadParameter("--engine must be 'local' or 'ray'")
    report = ingest([str(p) for p in paths], recursive=recursive, workers=workers, engine=engine,
                    progress=not as_json)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        table = Table(title=f"Ingested in {report.seconds:.1f} s")
        table.add_column("file", overflow="fold", min_width=name_width([f.name or f.path for f in report.files]))
        for column in ("type", "status", "length", "seg / kf / chunks", "time", "reason"):
            table.add_column(column, overflow="fold")
        colours = {"done": "green", "skipped": "yellow", "failed": "red"}
        for f in report.files:
            length = (format_timestamp(f.duration_s) if f.duration_s is not None
                      else f"{f.pages} p." if f.pages is not None else "")
            counts = f"{f.segments} / {f.keyframes} / {f.chunks}" if f.status == "done" else ""
            # The stage matters when processing failed; discovery and checks speak for themselves.
            in_stage = f.status == "failed" and f.stage not in ("", "discover", "check", "hash")
            reason = f"{f.stage}: {f.reason}" if in_stage else f.reason
            table.add_row(f.name or f.path, f.type or "", f"[{colours[f.status]}]{f.status}[/]", length, counts,
                          f"{f.seconds:.1f} s" if f.seconds else "", reason)
        console.print(table)
        done, skipped, failed = (len(report.by_status(s)) for s in ("done", "skipped", "failed"))
        console.print(f"{done} ingested, {skipped} skipped, {failed} failed")
        if report.not_descended:
            console.print(f"[yellow]{not_descended_note(report.not_descended)}[/]")
    if not report.ok or nothing_found(report):
        raise typer.Exit(1)


def nothing_found(report) -> bool:
    """No file ingested nor already in the base, while subfolders were left out: the user missed --recursive."""
    known = any(f.status == "done" or f.reason.startswith(("already ingested", "same content")) for f in report.files)
    return bool(report.not_descended) and not known


def not_descended_note(folders: list[str], shown: int = 3) -> str:
    names = ", ".join(Path(f).name for f in folders[:shown]) + (", …" if len(folders) > shown else "")
    noun = "subfolder was" if len(folders) == 1 else "subfolders were"
    return f"{len(folders)} {noun} not descended ({names}): add --recursive to ingest the files inside"


def sources_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The sources in the knowledge base."""
    from pipelines.store.catalog import open_catalog

    catalog = open_catalog(get_settings())
    try:
        rows = [(s, catalog.counts(s.id)) for s in catalog.list_sources()]
    finally:
        catalog.close()
    if as_json:
        typer.echo(json.dumps([{**s.model_dump(mode="json"), "counts": counts} for s, counts in rows], indent=2))
        return
    table = Table(title=f"{len(rows)} sources")
    table.add_column("id", justify="right")
    table.add_column("name", overflow="fold", min_width=name_width([s.name for s, _ in rows]))
    for column in ("type", "lang", "length", "segments", "keyframes", "chunks", "hash"):
        table.add_column(column, no_wrap=True)
    for s, counts in rows:
        length = (format_timestamp(s.duration_s) if s.duration_s is not None
                  else f"{s.pages} p." if s.pages is not None else "")
        table.add_row(str(s.id), s.name, s.type.value, s.language or "", length, str(counts["segment"]),
                      str(counts["keyframe"]), str(counts["chunk"]), s.content_hash[:8])
    console.print(table)


def remove_command(source: Annotated[str, typer.Argument(help="Source id, file name or content-hash prefix.")]) -> None:
    """Delete a source from the catalog, the indexes and the thumbnails."""
    from pipelines.ingest.maintenance import remove_source
    from pipelines.store.catalog import CatalogError

    try:
        removed = remove_source(source)
    except CatalogError as exc:
        console.print(f"[red]error[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"[green]removed[/] #{removed.id} {removed.name} ({removed.content_hash[:12]})")


def reindex_command(
    reembed: Annotated[bool, typer.Option("--reembed", help="Recompute text vectors (after changing the embedding model).")] = False,
) -> None:
    """Rebuild every search index from the catalog."""
    from pipelines.ingest.maintenance import reindex

    with console.status("rebuilding the indexes…"):
        counts = reindex(reembed=reembed)
    console.print("[green]reindexed[/] " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
