#!/usr/bin/env bash
# Build llama.cpp's `llama-server` (the embedded LLM engine) into the virtual environment:
#   $VENV/llama.cpp/<llama-cpp-python version>/bin/llama-server  + build.json
# The source is vendor/llama.cpp inside the pinned llama-cpp-python sdist from PyPI.
# The instruction set is chosen from an explicit list by what this CPU reports, never
# -march=native: AVX2 + FMA + F16C + BMI2 everywhere, plus AVX-512 (F/CD/VL/DQ/BW, and
# VNNI/VBMI/BF16 where present) on CPUs that have it; never AMX (its matmul segfaults on
# these VMs). ARGUS_LLAMA_ISA=avx2 forces the portable AVX2 build. The flags the binary
# needs go into build.json (the engine refuses a binary this CPU cannot run), and the cache
# (~/.cache/argus/llama-server) is keyed by version, flags and compiler, so a build is only
# ever reused on a CPU with the same instruction set. Skips when built; --force rebuilds;
# --print-flags prints the instruction set and cmake flags it would build with.
# About 10 min on 2 idle cores (the time is printed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ARGUS_VENV:-$ROOT/.venv}"
VERSION="0.3.36"  # models/llm/llamacpp_build.py: LLAMA_CPP_PYTHON_VERSION
DEST="$VENV/llama.cpp/$VERSION"
JOBS="${ARGUS_BUILD_JOBS:-2}"
say() { printf '\033[1m[llama.cpp]\033[0m %s\n' "$*"; }

for tool in cmake g++ gcc; do
    command -v "$tool" >/dev/null || { say "missing $tool: apt-get install cmake g++"; exit 1; }
done
GENERATOR=(); command -v ninja >/dev/null && GENERATOR=(-G Ninja)

# Instruction set: (cmake option, /proc/cpuinfo flags it needs) from an explicit list.
CPU_FLAGS=" ${ARGUS_CPU_FLAGS:-$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2)} "  # override: tests
has() { for f in "$@"; do [[ "$CPU_FLAGS" == *" $f "* ]] || return 1; done; }
ISA=(sse4_2 avx f16c fma avx2 bmi2)
ISA_FLAGS=(-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON)
has avx_vnni && { ISA+=(avx_vnni); ISA_FLAGS+=(-DGGML_AVX_VNNI=ON); }
if [[ "${ARGUS_LLAMA_ISA:-auto}" != avx2 ]] && has avx512f avx512cd avx512vl avx512dq avx512bw; then
    ISA+=(avx512f avx512cd avx512vl avx512dq avx512bw); ISA_FLAGS+=(-DGGML_AVX512=ON)
    has avx512_vnni && { ISA+=(avx512_vnni); ISA_FLAGS+=(-DGGML_AVX512_VNNI=ON); }
    has avx512vbmi && { ISA+=(avx512vbmi); ISA_FLAGS+=(-DGGML_AVX512_VBMI=ON); }
    has avx512_bf16 && { ISA+=(avx512_bf16); ISA_FLAGS+=(-DGGML_AVX512_BF16=ON); }
else
    ISA_FLAGS+=(-DGGML_AVX512=OFF)
fi
CMAKE_FLAGS=(
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF
    -DGGML_NATIVE=OFF "${ISA_FLAGS[@]}" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
    -DLLAMA_OPENSSL=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON
)

# Kept once per user and machine, keyed by version, flags (the instruction set) and compiler;
# a new venv on the same machine copies it.
CACHE_KEY="$(printf '%s\n' "$VERSION" "${CMAKE_FLAGS[@]}" "$(g++ --version | head -1)" | sha256sum | cut -c1-16)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/argus/llama-server/$VERSION-$CACHE_KEY"
if [[ "${1:-}" == "--print-flags" ]]; then  # what would be built here, and nothing else
    printf 'isa: %s\ncmake: %s\ncache: %s\n' "${ISA[*]}" "${CMAKE_FLAGS[*]}" "$CACHE"
    exit 0
fi
# Built here for this very instruction set (build.json records the key): nothing to do.
if [[ "${1:-}" != "--force" && -x "$DEST/bin/llama-server" ]] && grep -q "\"key\": \"$CACHE_KEY\"" "$DEST/build.json" 2>/dev/null; then
    say "llama-server $VERSION already built for ${ISA[*]}: $DEST/bin/llama-server"
    exit 0
fi
install_from() {  # copy a built llama-server (and its build.json) into the venv, if it runs here
    [[ -x "$1/bin/llama-server" && -f "$1/build.json" ]] || return 1
    "$1/bin/llama-server" --version >/dev/null 2>&1 || return 1
    mkdir -p "$DEST/bin.tmp" && cp "$1/bin/llama-server" "$DEST/bin.tmp/" && cp "$1/build.json" "$DEST/build.json.tmp"
    rm -rf "$DEST/bin" && mv "$DEST/bin.tmp" "$DEST/bin" && mv "$DEST/build.json.tmp" "$DEST/build.json"
}
if [[ "${1:-}" != "--force" ]] && install_from "$CACHE"; then
    say "llama-server $VERSION copied from this machine's build cache ($CACHE)"
    exit 0
fi

started=$(date +%s)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/argus-llama-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
say "fetching the llama-cpp-python $VERSION sdist (llama.cpp source)"
"$VENV/bin/python" -m pip download --quiet --no-binary :all: --no-deps "llama-cpp-python==$VERSION" -d "$WORK"
tar -xzf "$WORK/llama_cpp_python-$VERSION.tar.gz" -C "$WORK"
SRC="$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"

say "configuring (${CMAKE_FLAGS[*]})"
cmake -S "$SRC" -B "$WORK/build" "${GENERATOR[@]}" "${CMAKE_FLAGS[@]}" >"$WORK/configure.log" 2>&1 \
    || { tail -40 "$WORK/configure.log"; say "cmake configure failed"; exit 1; }
say "building llama-server for ${ISA[*]} with $JOBS jobs"
cmake --build "$WORK/build" --target llama-server -j "$JOBS" >"$WORK/build.log" 2>&1 \
    || { tail -60 "$WORK/build.log"; say "build failed"; exit 1; }

mkdir -p "$DEST/bin.tmp"
cp "$WORK/build/bin/llama-server" "$DEST/bin.tmp/llama-server"
"$DEST/bin.tmp/llama-server" --version >/dev/null 2>&1 || { say "the built llama-server does not run"; exit 1; }
rm -rf "$DEST/bin" && mv "$DEST/bin.tmp" "$DEST/bin"
seconds=$(( $(date +%s) - started ))
commit="$(grep -m1 -o 'ggml commit: *[0-9a-f]*' "$WORK/configure.log" | awk '{print $NF}' || true)"
ARGUS_ISA="${ISA[*]}" ARGUS_KEY="$CACHE_KEY" "$VENV/bin/python" - "$DEST/build.json" "$VERSION" "$commit" "$seconds" "${CMAKE_FLAGS[@]}" <<'PY'
import json, os, sys
path, version, commit, seconds, *flags = sys.argv[1:]
json.dump({"version": f"{version} (llama.cpp {commit or 'unknown commit'})",
           # /proc/cpuinfo flags the binary needs; the engine and doctor check them against the CPU.
           "isa": os.environ["ARGUS_ISA"].split(), "key": os.environ["ARGUS_KEY"],
           "cmake_flags": flags, "build_seconds": int(seconds)}, open(path, "w"), indent=2)
PY
mkdir -p "$CACHE/bin" && cp "$DEST/bin/llama-server" "$CACHE/bin/" && cp "$DEST/build.json" "$CACHE/build.json"
say "built $DEST/bin/llama-server in ${seconds} s (cached in $CACHE)"
