"""`argus ui`: the Streamlit web UI (ui/), a client of the REST API.

When nothing answers at the API address and that address is this machine's default
`argus serve` one, the command starts `argus serve` as a child process for a single user
and stops it on exit; a remote or explicitly configured API must already be running.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from app.settings import Settings, get_settings

console = Console()
API_START_TIMEOUT_S = 120


def api_url(settings: Settings) -> str:
    return (settings.ui_api_url or f"http://{settings.api_host}:{settings.api_port}").rstrip("/")


def api_answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=3).is_success
    except httpx.HTTPError:
        return False


def start_api(settings: Settings, url: str) -> subprocess.Popen:
    """`argus serve` on the default address, as a child process; waits until it answers."""
    command = [sys.executable, "-m", "app.cli", "serve", "--host", settings.api_host, "--port", str(settings.api_port),
               "--log-level", "warning"]
    process = subprocess.Popen(command)
    deadline = time.monotonic() + API_START_TIMEOUT_S
    while not api_answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError(f"`argus serve` did not come up at {url}")
        time.sleep(0.5)
    return process


def streamlit_command(host: str, port: int) -> list[str]:
    app_file = Path(__file__).resolve().parents[2] / "ui" / "streamlit_app.py"
    return [sys.executable, "-m", "streamlit", "run", str(app_file), "--server.address", host,
            "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]


def ui_command(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: settings ui_host, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings ui_port, 8501).")] = None,
    api: Annotated[str | None, typer.Option(help="API URL (default: settings ui_api_url, else the local "
                                                 "`argus serve` address).")] = None,
) -> None:
    """Run the web UI (chat, library, status) against the REST API; starts a local API if none answers."""
    settings = get_settings()
    url = (api or api_url(settings)).rstrip("/")
    child = None
    if not api_answers(url):
        if api or settings.ui_api_url:
            console.print(f"[red]error:[/] no Argus API answers at {url}")
            raise typer.Exit(2)
        console.print(f"starting the API at {url} (`argus serve`, stopped when the UI stops)")
        try:
            child = start_api(settings, url)
        except RuntimeError as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
    host, port = host or settings.ui_host, port or settings.ui_port
    env = {**os.environ, "ARGUS_UI_API_URL": url, "ARGUS_UI_API_KEY": settings.ui_api_key,
           **({"ARGUS_UI_MEDIA_URL": settings.ui_media_url} if settings.ui_media_url else {})}
    console.print(f"Argus UI on http://{host}:{port} (API {url})")
    try:
        subprocess.run(streamlit_command(host, port), env=env, check=False)
    except KeyboardInterrupt:
        pass
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=30)


def register(app: typer.Typer) -> None:
    app.command("ui")(ui_command)
