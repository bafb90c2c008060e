"""`argus ui`: the Streamlit web UI (ui/), a client of the REST API.

When nothing answers at the API address and that address is this machine's default
`argus serve` one, the command starts `argus serve` as a child process for a single user
and stops it on exit; a remote or explicitly configured API must already be running.
Ctrl-C and SIGTERM both stop Streamlit and that API; on Linux the children are also
told to stop if this process dies without cleaning up (SIGKILL).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from app.console import make_console
from core.settings import Settings, get_settings

console = make_console()
API_START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30
_PR_SET_PDEATHSIG = 1


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
    process = subprocess.Popen(command, preexec_fn=_stop_with_parent)
    deadline = time.monotonic() + API_START_TIMEOUT_S
    try:
        while not api_answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`argus serve` did not come up at {url}")
            time.sleep(0.5)
    except BaseException:  # also Ctrl-C or SIGTERM while it starts
        stop_child(process)
        raise
    return process


def _stop_with_parent() -> None:
    """In the child before exec: SIGTERM it when its parent dies (Linux; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_child(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not exited within STOP_TIMEOUT_S."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def streamlit_command(host: str, port: int) -> list[str]:
    """How `argus ui` runs Streamlit. The toolbar shows viewer items only: no "Deploy" button or
    developer menu, which a self-hosted user cannot use."""
    app_file = Path(__file__).resolve().parents[2] / "ui" / "streamlit_app.py"
    return [sys.executable, "-m", "streamlit", "run", str(app_file), "--server.address", host,
            "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "viewer"]


def ui_command(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: settings ui_host, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings ui_port, 8501).")] = None,
    api: Annotated[str | None, typer.Option(help="API URL (default: settings ui_api_url, else the local "
                                                 "`argus serve` address).")] = None,
) -> None:
    """Run the web UI (chat, library, status) against the REST API; starts a local API if none answers."""
    settings = get_settings()
    url = (api or api_url(settings)).rstrip("/")
    previous = signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM cleans up as Ctrl-C does
    child = ui = None
    try:
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
        ui = subprocess.Popen(streamlit_command(host, port), env=env, preexec_fn=_stop_with_parent)
        ui.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for process in (ui, child):
            if process is not None:
                stop_child(process)


def register(app: typer.Typer) -> None:
    app.command("ui")(ui_command)
