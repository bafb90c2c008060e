"""scripts/setup.sh stops on a failed pinned install instead of stamping it as done."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from absent import absent

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]

# A fake venv interpreter (named as one): torch "is installed", and every pip install fails as a
# resolver error would, with the extras note the script filters out.
FAKE_PYTHON = """#!/usr/bin/env bash
if [[ "$1" == "-m" && "$2" == "pip" ]]; then
    echo "WARNING: foo 1.0 does not provide the extra 'x'; it is ignored: it is neither here nor there"
    echo "ERROR: Could not find a version that satisfies the requirement nosuchpackage==9.9"
    exit 1
fi
exit 0
"""


def test_a_failed_pinned_install_stops_the_setup(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    result = subprocess.run(["bash", str(REPO / "scripts" / "setup.sh")], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "ARGUS_VENV": str(venv), "ARGUS_HOME": str(tmp_path / "home")})
    if "missing Debian packages" in result.stdout:
        absent("the set-up's Debian packages are not installed here (run scripts/setup.sh as root once)")
    assert result.returncode != 0, result.stdout
    assert "nosuchpackage" in result.stdout and "the pinned install failed" in result.stdout
    assert "is ignored: it is neither" not in result.stdout  # the noise filter still works
    assert not (venv / ".argus-installed").exists()
