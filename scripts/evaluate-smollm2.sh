#!/usr/bin/env bash
# The full evaluation profile behind the README's Pareto plots: SmolLM2-135M-Instruct with the
# shipped LoRA adapter (and its two lower-ratio snapshots) against the full cache, StreamingLLM,
# TOVA, H2O and Quest at ratios 2, 4 and 8, passkey retrieval at 1K–8K tokens in held-out prose
# (the Python tutorial), and decode latency per token up to the model's 8192-token context.
#
#   scripts/evaluate-smollm2.sh [OUT_DIR]     (default: results/smollm2; about 2 hours on 2 cores)
#
# The 8184-token prompts (8184 + 8 answer tokens = the model's 8192) take as long as all shorter
# ones together, hence fewer samples there.
#
# Writes OUT_DIR/results.jsonl, results.csv and, through `dms report`, report.md with its SVG plots.
# SAMPLES (default 4) sets the passkey prompts per length up to 4096, SAMPLES_8K (default 2) at 8184.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results/smollm2}"
model="$(scripts/fetch-model.sh)"
text="$(scripts/fetch-text.sh)"
dms="${DMS:-}"     # a dms binary to use instead of building one
if [ -z "$dms" ]; then swift build -c release --product dms >&2; dms=.build/release/dms; fi
adapters=adapters/smollm2-135m-instruct
lora="$adapters/dms-lora-adapter"
mkdir -p "$out"
rm -f "$out/results.jsonl" "$out/results.csv"

# 16-slot pages, so peak KV bytes follow the tokens kept rather than page rounding.
passkey=(--model "$model" --text "$text/heldout/python-tutorial.txt" --task passkey --seed 0
  --policies full,dms,streaming,tova,h2o,quest --ratios 2,4,8
  --adapters "$lora.cr2.2.safetensors,$lora.cr4.5.safetensors,$lora.safetensors" --kv-page-size 16)
"$dms" eval "${passkey[@]}" --lengths 1024,2048,4096 --samples "${SAMPLES:-4}" --out "$out"
"$dms" eval "${passkey[@]}" --lengths 8184 --samples "${SAMPLES_8K:-2}" --out "$out" --append
"$dms" eval --model "$model" --text "$text/heldout/python-tutorial.txt" --task latency \
  --lengths 1024,2048,4096,8160 --policies full,dms --adapters "$lora.safetensors" --out "$out" --append
"$dms" report "$out"
