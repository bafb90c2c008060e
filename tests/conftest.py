"""Shared fixtures. Tests run against a throwaway ARGUS_HOME but share one model cache,
so that shipped weights are assembled and converted once (by `make test`'s setup step)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from absent import absent
from api_base import built_base  # noqa: F401  (the small real base of the API and UI tests)
from llm_engine_fixture import llm_engine  # noqa: F401  (the session's real vLLM engine, for every folder)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ARGUS_SHARED_DATA", REPO.parent / "shared" / "data"))

os.environ.setdefault("ARGUS_MODELS_DIR", str(Path(os.environ.get("ARGUS_HOME", REPO / ".argus")) / "models"))
# Files one after another in the test process (monkeypatches reach them); tests that want
# worker processes ask for them.
os.environ.setdefault("ARGUS_INGEST_WORKERS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def argus_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty ARGUS_HOME for one test; settings are re-read from the environment."""
    from core.settings import get_settings

    home = tmp_path / "argus_home"
    monkeypatch.setenv("ARGUS_HOME", str(home))
    monkeypatch.delenv("ARGUS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        absent(f"shared test data not found at {SHARED_DATA} (set ARGUS_SHARED_DATA)")
    return SHARED_DATA
