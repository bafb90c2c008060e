"""Helpers of the UI tests: the script AppTest runs for a page, and pointing the UI at an API."""

from __future__ import annotations

import pytest


def run_page(name: str) -> None:
    """The script AppTest runs (its source is copied, so it imports everything itself); the page is
    wrapped as ui/streamlit_app.py wraps it."""
    import importlib

    from ui.common import guarded

    guarded(importlib.import_module(f"ui.{name}").main)()


def point_ui_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("ARGUS_UI_API_URL", url)
    monkeypatch.setenv("ARGUS_UI_API_KEY", "")
