#!/usr/bin/env bash
# The main job on embedded defaults: build the demo corpus, ingest it, search it, and ask
# a question that is answered with citations to the video moment it comes from.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARGUS="$ROOT/.venv/bin/argus"
OUT="${1:-$ROOT/demo_corpus}"
QUESTION="${ARGUS_DEMO_QUESTION:-What water temperature is best for brewing coffee?}"

"$ARGUS" doctor
"$ARGUS" demo-corpus "$OUT"
"$ARGUS" ingest "$OUT/videos" "$OUT/documents" --recursive
"$ARGUS" sources
"$ARGUS" search "$QUESTION" -k 5
"$ARGUS" ask "$QUESTION"
