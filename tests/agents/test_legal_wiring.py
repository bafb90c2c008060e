"""The researcher gets the legal tool only when models.legal imports and its trained state exists."""

from __future__ import annotations

import pytest

from agents.tools import legal_tool
from core.settings import Settings

pytestmark = pytest.mark.unit


def test_legal_tool_needs_the_trained_state(tmp_path) -> None:
    settings = Settings(home=tmp_path / "home")
    tool, note = legal_tool(settings)
    assert tool is None and "classifier or precedents" in note and "argus legal train" in note
    for name in ("classifier", "precedents"):
        (settings.legal_dir / name).mkdir(parents=True)
    tool, note = legal_tool(settings)
    assert tool is not None and tool.name == "legal_judgement" and note == "legal tool available"
