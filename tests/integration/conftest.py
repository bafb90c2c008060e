"""The demo corpus, built once per test session (speech synthesis and encoding take a minute)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipelines.demo import DemoManifest, build_demo_corpus


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> tuple[Path, DemoManifest, float]:
    """(folder, manifest, seconds it took to build)."""
    out = tmp_path_factory.mktemp("demo_corpus")
    start = time.monotonic()
    manifest = build_demo_corpus(out, progress=False)
    return out, manifest, time.monotonic() - start
