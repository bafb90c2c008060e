"""What a test does when a real part it needs is not here: an engine, model weights, the shared
test data, a system tool. On a developer's machine it is skipped with the fix in the reason;
in CI (`CI` set, as CI services do) it fails, so a broken set-up cannot pass as skipped tests.
Only the CUDA kernel tests skip everywhere (no GPU in CI)."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def absent(reason: str) -> NoReturn:
    """Skip (or fail in CI) the test that needs the missing part named in `reason`."""
    if in_ci():
        pytest.fail(f"{reason} (CI: a missing engine, model, data set or tool is a failure)", pytrace=False)
    pytest.skip(reason)


def require_module(name: str, reason: str) -> ModuleType:
    """`importlib.import_module(name)`, or `absent(reason)` when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        absent(reason)
