"""scripts/build_llama_server.sh builds for what the CPU reports, from an explicit list: AVX2 everywhere,
AVX-512 where the CPU has it, never -march=native or AMX, and a cache key per instruction set."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_llama_server.sh"
AVX2 = "fpu sse4_2 avx f16c fma avx2 bmi2"
AVX512 = AVX2 + " avx512f avx512cd avx512vl avx512dq avx512bw avx512_vnni amx_tile amx_int8"


def flags(cpu: str, **env: str) -> dict[str, str]:
    out = subprocess.run(["bash", str(SCRIPT), "--print-flags"], capture_output=True, text=True, check=True,
                         env={**os.environ, "ARGUS_CPU_FLAGS": cpu, **env}).stdout
    return dict(line.split(": ", 1) for line in out.splitlines())


def test_an_avx2_cpu_gets_the_portable_build() -> None:
    got = flags(AVX2)
    assert got["isa"] == "sse4_2 avx f16c fma avx2 bmi2"
    assert "-DGGML_AVX512=OFF" in got["cmake"] and "-DGGML_NATIVE=OFF" in got["cmake"]


def test_an_avx512_cpu_gets_avx512_and_vnni_but_never_amx() -> None:
    got = flags(AVX512)
    assert got["isa"].split()[-6:] == ["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw", "avx512_vnni"]
    assert "-DGGML_AVX512=ON" in got["cmake"] and "-DGGML_AVX512_VNNI=ON" in got["cmake"]
    assert "-DGGML_AVX512_BF16=ON" not in got["cmake"]  # this CPU has no avx512_bf16
    assert "-DGGML_AMX_INT8=OFF" in got["cmake"] and "-DGGML_NATIVE=OFF" in got["cmake"]
    assert got["cache"] != flags(AVX2)["cache"]  # an AVX2 machine never finds this build


def test_the_portable_build_can_be_forced_and_shares_the_avx2_key() -> None:
    assert flags(AVX512, ARGUS_LLAMA_ISA="avx2") == flags(AVX2)


def test_an_avx512_cpu_without_bw_stays_on_avx2() -> None:
    assert "-DGGML_AVX512=OFF" in flags(AVX2 + " avx512f avx512cd")["cmake"]
