"""The guard against PyPI's CUDA-only torchvision, checked in a subprocess.

The stand-in `torchvision` below reproduces the real wheel's failure on CPU torch: its
import registers a fake kernel for `torchvision::nms`, which raises when the operator
schema does not exist (the compiled library that defines it fails to load).
"""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
STANDIN = """
import torch
torch.library.register_fake("torchvision::nms")(lambda dets, scores, iou_threshold: dets.new_empty(0, dtype=torch.long))
"""


def _run(code: str, site: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": f"{site}:{REPO}", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def broken_torchvision(tmp_path: Path) -> Path:
    (tmp_path / "torchvision").mkdir()
    (tmp_path / "torchvision" / "__init__.py").write_text(STANDIN)
    return tmp_path


def test_without_guard_the_import_fails(broken_torchvision: Path) -> None:
    result = _run("import torchvision", broken_torchvision)
    assert result.returncode != 0
    assert "torchvision::nms" in result.stderr


def test_with_guard_the_import_works(broken_torchvision: Path) -> None:
    result = _run("import models.torchvision_guard as g; import torchvision; print(g._library is not None)", broken_torchvision)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_guard_does_nothing_without_torchvision(tmp_path: Path) -> None:
    result = _run("import models.torchvision_guard as g; print(g._library is None, g.torchvision_installed())", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True False"
