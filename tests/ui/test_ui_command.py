"""`argus ui` as a real process: it starts `argus serve` when no API answers, and stopping it
(SIGTERM, or Ctrl-C's SIGINT) stops Streamlit and that API too, leaving no orphan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from api_base import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).is_success
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_the_ui_stops_the_api_it_started(tmp_path: Path, stop_signal: signal.Signals) -> None:
    api_port, ui_port = free_port(), free_port()
    env = {**os.environ, "ARGUS_HOME": str(tmp_path / "home"), "ARGUS_API_PORT": str(api_port),
           "ARGUS_UI_PORT": str(ui_port), "PYTHONPATH": str(REPO)}
    env.pop("ARGUS_UI_API_URL", None)
    log = (tmp_path / "ui.log").open("w")
    argus_ui = subprocess.Popen([sys.executable, "-m", "app.cli", "ui"], cwd=tmp_path, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    api, ui = f"http://127.0.0.1:{api_port}/healthz", f"http://127.0.0.1:{ui_port}/_stcore/health"
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (answers(api) and answers(ui)):
            assert argus_ui.poll() is None, (tmp_path / "ui.log").read_text()
            assert time.monotonic() < deadline, "argus ui did not bring up the API and the UI"
            time.sleep(0.5)
        children = psutil.Process(argus_ui.pid).children(recursive=True)
        assert len(children) >= 2, "the API and Streamlit run as children of `argus ui`"

        argus_ui.send_signal(stop_signal)  # to `argus ui` alone, not its process group
        assert argus_ui.wait(timeout=60) is not None
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, f"left running after `argus ui` stopped: {[p.cmdline() for p in alive]}"
        assert not answers(api) and not answers(ui)
    finally:  # whatever the test saw started is stopped, pass or fail
        for process in [argus_ui, *children]:
            if process.poll() is None if isinstance(process, subprocess.Popen) else process.is_running():
                process.kill()
