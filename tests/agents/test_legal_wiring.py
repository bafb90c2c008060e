"""The researcher gets the legal tool only when models.legal imports and its trained state exists."""

from __future__ import annotations

import pytest

from agents.tools import legal_tool
from core.settings import Settings

pytestmark = pytest.mark.unit


def test_legal_tool_needs_the_trained_state(tmp_path) -> None:
    """The default mix (baseline weight 1.0) needs the baseline and the precedents, never the classifier."""
    settings = Settings(home=tmp_path / "home")
    tool, note = legal_tool(settings)
    assert tool is None and "precedents or baseline" in note and "argus legal train" in note
    (settings.legal_dir / "precedents").mkdir(parents=True)
    tool, note = legal_tool(settings)
    assert tool is None and note.startswith("legal tool unavailable: no baseline ")
    (settings.legal_dir / "baseline").mkdir(parents=True)
    tool, note = legal_tool(settings)
    assert tool is not None and tool.name == "legal_judgement" and note == "legal tool available"


@pytest.mark.parametrize("weight, needs", [(0.0, "classifier"), (0.5, "classifier")])
def test_a_mix_with_classifier_weight_needs_the_classifier(tmp_path, weight, needs) -> None:
    settings = Settings(home=tmp_path / "home", legal_baseline_weight=weight)
    for name in ("precedents", "baseline"):
        (settings.legal_dir / name).mkdir(parents=True)
    tool, note = legal_tool(settings)
    assert tool is None and note.startswith(f"legal tool unavailable: no {needs} ")
    (settings.legal_dir / "classifier").mkdir(parents=True)
    assert legal_tool(settings)[0] is not None
