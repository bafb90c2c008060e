"""A missing engine, model or data set skips a test on a developer's machine and fails it in CI."""

from __future__ import annotations

import pytest
from absent import absent, require_module

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_a_missing_part_fails_the_test(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="shared test data not found"):
        absent("shared test data not found at /nowhere")
    with pytest.raises(pytest.fail.Exception, match="no_such_engine"):
        require_module("no_such_engine_module", "no_such_engine is not installed")


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_elsewhere_a_missing_part_skips_the_test(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="set ARGUS_SHARED_DATA"):
        absent("shared test data not found (set ARGUS_SHARED_DATA)")
    assert require_module("json", "json is missing").dumps([]) == "[]"
