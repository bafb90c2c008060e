"""`argus serve` (the REST API under uvicorn) and `argus keys create|revoke|list`."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.table import Table

from app.console import make_console
from core.settings import get_settings

console = make_console()
keys_app = typer.Typer(help="API keys of the REST API (stored hashed in ARGUS_HOME/api_keys.json).",
                       no_args_is_help=True)


def serve_command(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: settings api_host, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings api_port, 8080).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the REST API. Without API keys it answers loopback clients only."""
    import uvicorn

    from app.api import create_app
    from app.api.security import KeyStore, is_loopback

    settings = get_settings()
    host = host or settings.api_host
    port = port or settings.api_port
    if not KeyStore(settings.api_keys_path).any_active() and not _is_loopback_host(host, is_loopback):
        console.print(f"[yellow]warning:[/] no API keys: clients other than loopback get 401 on {host}; "
                      "create one with `argus keys create NAME`")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, proxy_headers=False)


def _is_loopback_host(host: str, is_loopback) -> bool:
    return host == "localhost" or is_loopback(host)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for.")],
    scopes: Annotated[list[str] | None, typer.Option("--scope", help="read, ingest or admin (repeatable).")] = None,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from app.api.security import KeyStore

    store = KeyStore(get_settings().api_keys_path)
    try:
        record, plain = store.create(name, scopes or ["read"])
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    console.print(f"[green]created[/] key {record.id} ({name}, scopes: {', '.join(record.scopes)})")
    console.print("Store it now; it is not shown again:")
    typer.echo(plain)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (`argus keys list`).")]) -> None:
    """Revoke a key; a running server refuses it from its next request."""
    from app.api.security import KeyStore

    try:
        record = KeyStore(get_settings().api_keys_path).revoke(key_id)
    except KeyError:
        console.print(f"[red]error:[/] no key {key_id!r}")
        raise typer.Exit(2) from None
    console.print(f"[green]revoked[/] key {record.id} ({record.name})")


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The keys (ids, names, scopes, state; never the keys themselves)."""
    from app.api.security import KeyStore

    records = KeyStore(get_settings().api_keys_path).records()
    rows = [{"id": r.id, "name": r.name, "scopes": r.scopes, "created_at": r.created_at,
             "revoked_at": r.revoked_at} for r in records]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="API keys")
    for column in ("id", "name", "scopes", "created", "state"):
        table.add_column(column)
    for r in records:
        table.add_row(r.id, r.name, ", ".join(r.scopes), time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
                      "revoked" if r.revoked_at else "active")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.add_typer(keys_app, name="keys")
