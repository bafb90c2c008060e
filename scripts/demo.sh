#!/usr/bin/env bash
# The main job on embedded defaults: build the demo corpus and show what Argus has.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARGUS="$ROOT/.venv/bin/argus"
OUT="${1:-$ROOT/demo_corpus}"

"$ARGUS" doctor
"$ARGUS" demo-corpus "$OUT"
