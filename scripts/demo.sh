#!/usr/bin/env bash
# The main job on a fresh machine: fetch SmolLM2-135M-Instruct, build `dms` in release, and
# generate a chat answer with the KV cache statistics in JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
model="$(scripts/fetch-model.sh)"
swift build -c release --product dms
.build/release/dms generate --model "$model" --chat --temperature 0 --max-tokens 96 \
  --prompt "${1:-Explain in three sentences why the KV cache limits LLM inference on a CPU.}"
