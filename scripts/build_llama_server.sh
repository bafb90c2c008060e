#!/usr/bin/env bash
# Build llama.cpp's `llama-server` (the embedded LLM engine) into the virtual environment:
#   $VENV/llama.cpp/<llama-cpp-python version>/bin/llama-server  + build.json
# The source is vendor/llama.cpp inside the pinned llama-cpp-python sdist from PyPI.
# Portable across the CPUs of this machine kind: an explicit x86-64 instruction set
# (AVX2, FMA, F16C, BMI2), never -march=native, no AVX-512 and no AMX (the AMX path
# segfaults on these VMs; AVX-512 would die on the AVX2-only ones). Built once per user and
# machine (~/.cache/argus/llama-server, keyed by version, flags and compiler). Skips when
# built; --force rebuilds. About 10-30 min on
# 2 busy cores (the time is printed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ARGUS_VENV:-$ROOT/.venv}"
VERSION="0.3.36"  # models/llm/llamacpp_build.py: LLAMA_CPP_PYTHON_VERSION
DEST="$VENV/llama.cpp/$VERSION"
JOBS="${ARGUS_BUILD_JOBS:-2}"
say() { printf '\033[1m[llama.cpp]\033[0m %s\n' "$*"; }

if [[ "${1:-}" != "--force" && -x "$DEST/bin/llama-server" && -f "$DEST/build.json" ]]; then
    say "llama-server $VERSION already built: $DEST/bin/llama-server"
    exit 0
fi
for tool in cmake g++ gcc; do
    command -v "$tool" >/dev/null || { say "missing $tool: apt-get install cmake g++"; exit 1; }
done
GENERATOR=(); command -v ninja >/dev/null && GENERATOR=(-G Ninja)

CMAKE_FLAGS=(
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF
    -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
    -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
    -DLLAMA_OPENSSL=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON
)

# The build is portable (explicit instruction set), so it is kept once per user and machine,
# keyed by version, flags and compiler; a new venv on the same machine copies it.
CACHE_KEY="$(printf '%s\n' "$VERSION" "${CMAKE_FLAGS[@]}" "$(g++ --version | head -1)" | sha256sum | cut -c1-16)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/argus/llama-server/$VERSION-$CACHE_KEY"
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
say "building llama-server with $JOBS jobs"
cmake --build "$WORK/build" --target llama-server -j "$JOBS" >"$WORK/build.log" 2>&1 \
    || { tail -60 "$WORK/build.log"; say "build failed"; exit 1; }

mkdir -p "$DEST/bin.tmp"
cp "$WORK/build/bin/llama-server" "$DEST/bin.tmp/llama-server"
"$DEST/bin.tmp/llama-server" --version >/dev/null 2>&1 || { say "the built llama-server does not run"; exit 1; }
rm -rf "$DEST/bin" && mv "$DEST/bin.tmp" "$DEST/bin"
seconds=$(( $(date +%s) - started ))
commit="$(grep -m1 -o 'ggml commit: *[0-9a-f]*' "$WORK/configure.log" | awk '{print $NF}' || true)"
"$VENV/bin/python" - "$DEST/build.json" "$VERSION" "$commit" "$seconds" "${CMAKE_FLAGS[@]}" <<'PY'
import json, sys
path, version, commit, seconds, *flags = sys.argv[1:]
json.dump({"version": f"{version} (llama.cpp {commit or 'unknown commit'})",
           # /proc/cpuinfo flags the binary needs; doctor checks them against the CPU.
           "isa": ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2"],
           "cmake_flags": flags, "build_seconds": int(seconds)}, open(path, "w"), indent=2)
PY
mkdir -p "$CACHE/bin" && cp "$DEST/bin/llama-server" "$CACHE/bin/" && cp "$DEST/build.json" "$CACHE/build.json"
say "built $DEST/bin/llama-server in ${seconds} s (cached in $CACHE)"
