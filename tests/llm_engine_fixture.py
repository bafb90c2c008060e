"""The `llm_engine` fixture: one real LLM server (the configured default engine) for the whole session.

Import it in a conftest (`from llm_engine_fixture import llm_engine  # noqa: F401`).
An engine already serving the configured model on the configured port (an
`argus engine start` left running, or ARGUS_LLM_BASE_URL) is reused and left running;
otherwise the `llm_backend` engine (llama.cpp by default: ready in seconds; vLLM on a
CPU: about a minute) is started with a fresh ARGUS_HOME for its pid file and log, and
stopped when the session ends (also when the session is ended by SIGTERM, as `timeout`
sends). A missing engine skips the tests here, and fails them in CI (CI=true).

`vllm_engine` is vLLM's own: started on `engine_port + 2` (or reused when vLLM serves
there) for the tests marked `vllm`, whatever the default engine is.
"""

from __future__ import annotations

import importlib.util
import signal
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from absent import absent


def _engine_missing(settings: Any) -> str | None:
    """Why the configured engine cannot start here, or None."""
    if settings.llm_backend == "vllm" and importlib.util.find_spec("vllm") is None:
        return "vLLM is not installed (pip install -c constraints.txt -e '.[cpu]')"
    if settings.llm_backend == "llamacpp":
        from models.llm.llamacpp_build import build_info

        build = build_info(settings)
        if not build.runs_here:
            return f"{build.describe()}: run scripts/build_llama_server.sh"
    return None


def _serve(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from core.settings import Settings
    from models.llm.server import ensure_running, local_root, probe, start, stop

    if settings.llm_base_url:
        yield ensure_running(settings)
        return
    served = probe(local_root(settings), settings.llm_api_key, settings=settings) or []
    if any(m.get("id") == settings.llm_model for m in served):
        info = ensure_running(settings)  # reuse; whoever started it stops it
        if info.backend and info.backend != settings.llm_backend:
            warnings.warn(f"port {settings.engine_port} is served by {info.backend}, not llm_backend="
                          f"{settings.llm_backend}: the tests run against {info.backend}", stacklevel=1)
        yield info
        return
    if reason := _engine_missing(settings):
        absent(reason)
    own = Settings(home=tmp_path_factory.mktemp("llm_engine_home"),
                   **{k: getattr(settings, k) for k in ("llm_backend", "engine_port", "llm_chat_model", "llm_model")})
    previous = _stop_on_sigterm()
    try:
        yield start(own, wait=True)
    finally:
        stop(own, any_home=False)  # only the engine this session started
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def llm_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """EngineInfo (base_url, model, max_model_len, backend) of a ready default engine."""
    from core.settings import Settings

    yield from _serve(Settings(), tmp_path_factory)


@pytest.fixture(scope="session")
def vllm_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """EngineInfo of a real vLLM server (its own port: engine_port + 2)."""
    from core.settings import Settings

    base = Settings()
    yield from _serve(Settings(llm_backend="vllm", engine_port=base.engine_port + 2, llm_base_url=None),
                      tmp_path_factory)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _stop_on_sigterm() -> Any:
    """Make SIGTERM (e.g. from `timeout`) end the session like Ctrl-C, so that teardown stops the engine.

    Killed outright, pytest runs no teardown and the engine outlives the session.
    Returns the previous handler, or None where signals cannot be handled (not the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)
