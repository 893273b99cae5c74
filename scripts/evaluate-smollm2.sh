#!/usr/bin/env bash
# The full evaluation profile behind the README's Pareto plots: SmolLM2-135M-Instruct with the
# shipped LoRA adapter (and its two lower-ratio snapshots) against the full cache, StreamingLLM,
# TOVA, H2O and Quest at ratios 2, 4 and 8, passkey retrieval at 1K–8K tokens in held-out prose
# (the Python tutorial), and decode latency per token up to the model's 8192-token context.
#
#   scripts/evaluate-smollm2.sh [OUT_DIR]     (default: results/smollm2; about 4½ hours on 2 cores)
#
# A length's prompts do not depend on the other lengths, so the work can be split over several
# runs: LENGTHS="1024 2048" runs only those passkey lengths, APPEND=1 adds to OUT_DIR's records
# instead of starting over, LATENCY=0 skips the latency task. Each length runs the full cache, the
# DMS adapters and the baselines kept at `seen / R` tokens (PROPORTIONAL=0 skips them), then TOVA
# and H2O with a fixed budget of `length / R` tokens from the start, the same peak memory (FIXED=0
# skips them; StreamingLLM keeps the same last tokens either way; not at 8184 tokens, where the
# full cache finds no key). The 8184-token prompts (8184 + 8 answer tokens = the model's 8192) are
# the slowest, hence fewer.
#
# Writes OUT_DIR/results.jsonl, results.csv and, through `dms report`, report.md with its SVG plots.
# SAMPLES (default 12) sets the passkey prompts per length up to 4096, SAMPLES_8K (default 4) at 8184.
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
if [ "${APPEND:-0}" != 1 ]; then rm -f "$out/results.jsonl" "$out/results.csv"; fi

# 16-slot pages, so peak KV bytes follow the tokens kept rather than page rounding.
passkey=(--model "$model" --text "$text/heldout/python-tutorial.txt" --task passkey --seed 0 --kv-page-size 16
  --out "$out" --append)
for length in ${LENGTHS:-1024 2048 4096 8184}; do
  samples="${SAMPLES:-12}"
  if [ "$length" -gt 4096 ]; then samples="${SAMPLES_8K:-4}"; fi
  if [ "${PROPORTIONAL:-1}" = 1 ]; then
    "$dms" eval "${passkey[@]}" --lengths "$length" --samples "$samples" --policies full,dms,streaming,tova,h2o,quest \
      --ratios 2,4,8 --adapters "$lora.cr2.2.safetensors,$lora.cr4.5.safetensors,$lora.safetensors"
  fi
  if [ "${FIXED:-1}" = 1 ] && [ "$length" -le 4096 ]; then
    "$dms" eval "${passkey[@]}" --lengths "$length" --samples "$samples" --policies h2o,tova \
      --ratios 2,4,8 --baseline-budget fixed
  fi
done
if [ "${LATENCY:-1}" = 1 ]; then
  "$dms" eval --model "$model" --text "$text/heldout/python-tutorial.txt" --task latency \
    --lengths 1024,2048,4096,8160 --policies full,dms --adapters "$lora.safetensors" --out "$out" --append
fi
"$dms" report "$out"
