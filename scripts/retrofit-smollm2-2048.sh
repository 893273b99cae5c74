#!/usr/bin/env bash
# Reproduces dms-lora-adapter-ft2048.safetensors: the shipped LoRA adapter trained further on
# 2048-token sequences (--init), first 60 steps at a training-time ratio of 9, then 30 steps at
# 9.6, then evaluated on the 4096 held-out tokens against the baselines at the ratio it reaches.
#
#   scripts/retrofit-smollm2-2048.sh [OUT_DIR]     (default: $DMS_CACHE/runs/smollm2-2048, outside the repo)
#
# About 65 minutes of training on 2 cores. Interrupted? Run it again: a stage whose checkpoint
# exists resumes, a finished stage is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${DMS_CACHE:-$HOME/.cache/swift-dms}"
out="${1:-$cache/runs/smollm2-2048}"
model="$(scripts/fetch-model.sh)"
text="$(scripts/fetch-text.sh)"
swift build -c release --product dms >&2
dms=.build/release/dms
mkdir -p "$out"
# stage OUT INIT STEPS RATIO SEED
stage() {
  local adapter="$out/$1.safetensors"
  [ -f "$adapter" ] && [ ! -f "$adapter.checkpoint" ] && return 0
  local resume=()
  [ -f "$adapter.checkpoint" ] && resume=(--resume)
  $dms retrofit --model "$model" --data "$text/train/debian-reference.txt" "$text/train/licenses.txt" \
    --out "$adapter" --init "$2" --seq-len 2048 --window 64 --sinks 4 --steps "$3" --hold-steps $(($3 - 1)) \
    --target-cr "$4" --final-cr "$4" --lr 2e-4 --seed "$5" --lora-rank 8 --lora-alpha 16 "${resume[@]}"
}
stage stage1 adapters/smollm2-135m-instruct/dms-lora-adapter.safetensors 60 9 2
stage stage2 "$out/stage1.safetensors" 30 9.6 3
$dms eval --model "$model" --adapter "$out/stage2.safetensors" --text "$text/heldout/python-tutorial.txt" \
  --length 4096 --policies full,dms,streaming,tova,h2o --ratios match --continuations 2 --json > "$out/eval.json"
