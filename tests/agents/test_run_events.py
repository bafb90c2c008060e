"""Run events stay JSON: a node's failure (LangGraph hands over the exception object) is text."""

from __future__ import annotations

import pytest

from agents.run import _error_text

pytestmark = pytest.mark.unit


def test_a_node_exception_becomes_text_that_names_its_type() -> None:
    assert _error_text(None) is None
    assert _error_text(ValueError("bad plan")) == "ValueError: bad plan"
    assert _error_text("already text") == "already text"
