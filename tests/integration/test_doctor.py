"""`argus doctor` and `argus config` through the real command line."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _argus(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=300)


def test_doctor_is_truthful(argus_home: Path) -> None:
    result = _argus("doctor", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    models = {m["role"]: m for m in report["models"]}
    for role in ("asr", "vad", "text_embedding", "object_detector", "image_tagger", "ocr", "chat_llm", "legal_base"):
        assert models[role]["state"] == "real", models[role]
    for role in ("clip", "reranker", "captioner"):
        assert models[role]["state"] == "absent" and models[role]["fix"], models[role]
    for role in ("vad", "text_embedding", "object_detector", "image_tagger", "ocr"):
        assert Path(models[role]["path"]).exists()
    system = {c["name"]: c for c in report["system"]}
    for tool in ("espeak-ng", "chromium"):
        assert (system[tool]["state"] == "ok") == (shutil.which(tool) is not None)
    engines = {c["name"]: c for c in report["engines"]}
    assert engines["FAISS vector index"]["state"] == "ok"
    # The kernels were probed (a forward through the registered implementation), and the path named is the one
    # this machine runs.
    import torch

    kernels = engines["attention kernels"]
    assert kernels["state"] == "ok" and "matches PyTorch SDPA" in kernels["detail"], kernels
    assert ("Triton on CUDA" if torch.cuda.is_available() else "PyTorch reference (cpu)") in kernels["detail"]


def test_doctor_reports_a_broken_configuration(argus_home: Path) -> None:
    result = _argus("doctor", "--json", env={"ARGUS_ASR_MODEL": "/nowhere/whisper"})
    asr = next(m for m in json.loads(result.stdout)["models"] if m["role"] == "asr")
    assert asr["state"] == "absent" and "ARGUS_ASR_MODEL" in asr["fix"]


def test_doctor_table_names_roles_and_fixes(argus_home: Path) -> None:
    result = _argus("doctor")
    assert result.returncode == 0, result.stderr
    for word in ("asr", "clip", "absent", "real", "ARGUS_CLIP_MODEL"):
        assert word in result.stdout


def test_config_prints_values_and_sources(argus_home: Path, tmp_path: Path) -> None:
    (tmp_path / "argus.toml").write_text("engine_port = 9123\n")
    result = _argus("config", "--json", env={"ARGUS_THREADS": "3"})
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["engine_port"] == {"value": "9123", "source": f"argus.toml ({tmp_path / 'argus.toml'})"}
    assert config["threads"] == {"value": "3", "source": "env ARGUS_THREADS"}
    assert config["home"]["source"] == "env ARGUS_HOME"


# Every verb the command line offers, each backed by a built module. A verb registered before its
# module works (a stub) or a module registered twice shows up as a difference here.
BUILT_VERBS = {"doctor", "config", "models", "demo-corpus", "ingest", "sources", "remove", "reindex", "search", "ask",
               "serve", "ui", "engine", "eval", "legal", "keys"}


def test_unbuilt_verbs_are_not_offered() -> None:
    result = _argus("--help", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    offered = re.findall(r"^│ ([a-z][a-z-]*)\s{2,}\S", result.stdout, flags=re.MULTILINE)
    assert len(offered) == len(set(offered)), offered
    assert set(offered) == BUILT_VERBS
    unknown = _argus("agents")  # the agent team runs through `argus ask --agents`, not a verb of its own
    assert unknown.returncode == 2 and "No such command" in unknown.stderr
