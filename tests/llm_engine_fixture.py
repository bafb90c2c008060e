"""The `llm_engine` fixture: one real vLLM server for the whole test session.

Import it in a conftest (`from llm_engine_fixture import llm_engine  # noqa: F401`).
An engine already serving the configured model on the configured port (an
`argus engine start` left running, or ARGUS_LLM_BASE_URL) is reused and left running;
otherwise one is started with a fresh ARGUS_HOME for its pid file and log, and
stopped when the session ends (also when the session is ended by SIGTERM, as `timeout`
sends). Start-up takes about a minute on a 2-core CPU.
"""

from __future__ import annotations

import importlib.util
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from absent import absent


@pytest.fixture(scope="session")
def llm_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """EngineInfo (base_url, model, max_model_len) of a ready engine."""
    from app.settings import Settings
    from models.llm.server import ensure_running, local_root, probe, start, stop

    settings = Settings()
    if settings.llm_base_url:
        yield ensure_running(settings)
        return
    served = probe(local_root(settings), settings.llm_api_key) or []
    if any(m.get("id") == settings.llm_model for m in served):
        yield ensure_running(settings)  # reuse; whoever started it stops it
        return
    if importlib.util.find_spec("vllm") is None:
        absent("vLLM is not installed (pip install -c constraints.txt -e '.[cpu]')")
    own = Settings(home=tmp_path_factory.mktemp("llm_engine_home"))
    previous = _stop_on_sigterm()
    try:
        yield start(own, wait=True)
    finally:
        stop(own, any_home=False)  # only the engine this session started
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _stop_on_sigterm() -> Any:
    """Make SIGTERM (e.g. from `timeout`) end the session like Ctrl-C, so that teardown stops the engine.

    Killed outright, pytest runs no teardown and the engine (8 GB) outlives the session.
    Returns the previous handler, or None where signals cannot be handled (not the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)
