"""Fixtures of the UI tests: the real API on the shared base (`built_base`, tests/api_base.py),
served by uvicorn, and Streamlit's AppTest for one page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_base import LiveServer, free_port, make_settings
from streamlit.testing.v1 import AppTest
from ui_pages import point_ui_at, run_page


@pytest.fixture(scope="session")
def base_api(built_base) -> Iterator[str]:
    """URL of the real API on the shared base (read-only: the API tests count its sources)."""
    from app.api import create_app

    with LiveServer(create_app(built_base["settings"]), free_port()) as server:
        yield server.url


@pytest.fixture
def page(base_api: str, monkeypatch: pytest.MonkeyPatch):
    """`page("chat")`: an AppTest of that page against the shared base's API."""
    point_ui_at(monkeypatch, base_api)
    return lambda name, timeout=120: AppTest.from_function(run_page, args=(name,), default_timeout=timeout)


@pytest.fixture
def empty_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The real API on an empty base of its own (uploads and deletes happen here), the UI pointed at it.
    Files are processed in the API's process (no per-file timeout): AppTest replaces `__main__`
    with its page script, which a spawned ingest worker would run again."""
    from app.api import create_app

    settings = make_settings(tmp_path / "home", ingest_file_timeout_s=0)
    with LiveServer(create_app(settings), free_port()) as server:
        point_ui_at(monkeypatch, server.url)
        yield server.url
