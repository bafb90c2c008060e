"""The llama.cpp server binary: where `scripts/setup.sh` builds it and what it was built for.

The build is per machine (inside the virtual environment; the user's build cache is keyed by
instruction set): the CPUs of this machine kind differ (some AVX2 only, some AVX-512, some
with AMX), and `-march=native` compiles in whatever the build machine has, AMX code
included, which segfaults on these VMs. `scripts/build_llama_server.sh` therefore builds
for an explicit instruction set chosen from what this CPU reports (AVX2 + FMA + F16C +
BMI2, plus AVX-512 F/CD/VL/DQ/BW and its VNNI/VBMI/BF16 extensions where present; never
AMX) and records the flags it needs in `build.json` beside the binary, which the engine
checks before starting it and `argus doctor` and `argus engine status` report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.settings import Settings
from models.llm.cpu import cpu_flags

# The llama-cpp-python sdist whose vendor/llama.cpp is built (pinned: its source is the engine).
LLAMA_CPP_PYTHON_VERSION = "0.3.36"


def build_dir(prefix: Path | None = None) -> Path:
    return (prefix or Path(sys.prefix)) / "llama.cpp" / LLAMA_CPP_PYTHON_VERSION


def server_binary(settings: Settings) -> Path:
    """The configured llama-server, else the one built into this virtual environment."""
    if settings.engine_llamacpp_server:
        return Path(settings.engine_llamacpp_server).expanduser()
    return build_dir() / "bin" / "llama-server"


@dataclass
class BuildInfo:
    binary: str
    present: bool
    version: str = ""  # llama-cpp-python sdist version and llama.cpp commit
    isa: list[str] = field(default_factory=list)  # the /proc/cpuinfo flags the build needs
    cmake_flags: list[str] = field(default_factory=list)
    build_seconds: int | None = None
    missing_on_this_cpu: list[str] = field(default_factory=list)

    @property
    def runs_here(self) -> bool:
        return self.present and not self.missing_on_this_cpu

    def describe(self) -> str:
        if not self.present:
            return f"llama-server not built ({self.binary})"
        isa = " ".join(self.isa) or "unrecorded instruction set"
        text = f"llama.cpp {self.version or '(version unrecorded)'}, built for {isa}"
        if self.missing_on_this_cpu:
            text += f"; this CPU lacks {' '.join(self.missing_on_this_cpu)}: rebuild with scripts/build_llama_server.sh"
        return text


def build_info(settings: Settings) -> BuildInfo:
    """What the binary is and whether this CPU can run it (reads build.json; runs nothing)."""
    binary = server_binary(settings)
    info = BuildInfo(binary=str(binary), present=binary.is_file())
    manifest = _read_manifest(binary.parent.parent / "build.json")
    info.version = manifest.get("version", "")
    info.isa = list(manifest.get("isa", []))
    info.cmake_flags = list(manifest.get("cmake_flags", []))
    info.build_seconds = manifest.get("build_seconds")
    flags = cpu_flags()
    if flags:
        info.missing_on_this_cpu = [f for f in info.isa if f not in flags]
    return info


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def server_version(binary: Path) -> str:
    """`llama-server --version`, first line (e.g. 'version: 1 (0c1e570)'); '' when it does not run."""
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("version")]
    return lines[0].strip() if lines else ""
