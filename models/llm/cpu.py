"""What the CPU offers the engine: usable cores and instruction-set flags.

Generation on a CPU is bound by memory bandwidth, and on a shared machine by the cores
other work leaves free: with spinning OpenMP threads, two threads on a busy 2-core
machine generated 14-20x slower than one. The engine therefore takes its thread count
from the cores this process may actually run on (`os.sched_getaffinity`, which honours
cgroup/taskset limits), leaving one to the rest of Argus, unless `engine_threads` says
otherwise.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from core.settings import Settings

# Instruction-set extensions that matter to llama.cpp's CPU kernels, in rising order.
ISA_FLAGS = ("sse4_2", "avx", "f16c", "fma", "avx2", "avx_vnni", "avx512f", "avx512bw", "avx512_vnni",
             "avx512_bf16", "amx_tile", "amx_int8")


def usable_cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def engine_threads(settings: Settings) -> int:
    """Threads for generation: `engine_threads`, else (0 = auto) every usable core.

    The rest of Argus mostly waits on the answer while it is generated. With idle threads spinning
    briefly before they sleep (`engine_llamacpp.engine_env`), two threads generated 1.5x faster than
    one on an idle 2-core machine (0.5B: ~44 against ~29 tokens/s); with one core busy elsewhere they
    lost a third, with two busy processes they still gained a fifth (docs/engine.md). Set
    `engine_threads` = 1 on a 2-core machine that ingests while it answers.
    """
    return settings.engine_threads or len(usable_cores())


def batch_threads(settings: Settings) -> int:
    """Threads for prompt processing: `engine_threads_batch`, else (0 = auto) every usable core.

    Prefill is compute-bound and nothing else runs while an answer waits on it: on an idle 2-core
    machine two threads prefilled 1,000 tokens 1.9x faster than one, while generation (bound by memory
    bandwidth) gained nothing from the second thread (bench/bench_llm.py, docs/engine.md).
    """
    return settings.engine_threads_batch or len(usable_cores())


def core_list(cores: list[int]) -> str:
    """'0-2,5,7-8' for [0, 1, 2, 5, 7, 8]."""
    ranges: list[str] = []
    start = prev = cores[0]
    for core in cores[1:] + [None]:  # type: ignore[list-item]
        if core is not None and core == prev + 1:
            prev = core
            continue
        ranges.append(f"{start}-{prev}" if prev > start else str(start))
        if core is not None:
            start = prev = core
    return ",".join(ranges)


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The flags of the first processor in /proc/cpuinfo (empty where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def isa_summary(flags: frozenset[str] | None = None) -> str:
    """The instruction-set extensions of this CPU that matter here, e.g. 'avx2 fma f16c avx512f'."""
    flags = cpu_flags() if flags is None else flags
    return " ".join(f for f in ISA_FLAGS if f in flags) or "none of " + " ".join(ISA_FLAGS)
