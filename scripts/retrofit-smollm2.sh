#!/usr/bin/env bash
# Reproduces the shipped DMS adapter for SmolLM2-135M-Instruct (adapters/smollm2-135m-instruct/):
# trains it from the identity adapter on the Debian training texts, then evaluates it against
# the full cache and the baselines at the same ratio on 4096 held-out tokens (Python tutorial).
#
#   scripts/retrofit-smollm2.sh [OUT_DIR]     (default: $DMS_CACHE/runs/smollm2, outside the repo)
#
# LORA_RANK=8 (default) gives dms-lora-adapter.safetensors; LORA_RANK=0 the decisions-only
# dms-adapter.safetensors. Interrupted? Run it again: training resumes from OUT_DIR/adapter.safetensors.checkpoint.
# Writes OUT_DIR/adapter.safetensors, its .log.jsonl (one line per step) and eval.json; with LoRA
# also the snapshots adapter.cr2.2.safetensors and adapter.cr4.5.safetensors.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_NAME=smollm2 source scripts/retrofit-setup.sh
resume=()
[ -f "$out/adapter.safetensors.checkpoint" ] && resume=(--resume)
if [ "${LORA_RANK:-8}" = 0 ]; then
  # Decisions only: the ramp's last step reaches a training-time ratio of 10.
  schedule=(--steps 300 --target-cr 10)
else
  # Decisions + LoRA: the same slope reaches 9 at step 267 and holds it for 73 steps; the
  # snapshots on the way are the lower-ratio DMS points of the evaluation's Pareto plots.
  schedule=(--steps 340 --hold-steps 73 --target-cr 9 --snapshot-cr 2.2 4.5)
fi
$dms retrofit --model "$model" --data "$text/train/debian-reference.txt" "$text/train/licenses.txt" \
  --out "$out/adapter.safetensors" --seq-len 1024 --window 64 --sinks 4 "${schedule[@]}" \
  --final-cr 16 --lr 3e-4 --seed 1 --lora-rank "${LORA_RANK:-8}" --lora-alpha 16 "${resume[@]}"
$dms eval --model "$model" --adapter "$out/adapter.safetensors" --text "$text/heldout/python-tutorial.txt" \
  --length 4096 --policies full,dms,streaming,tova,h2o --ratios match --continuations 2 --json > "$out/eval.json"
python3 - "$out/eval.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(f"{report['tokens']} held-out tokens; KL(full || policy) in nats/token")
print("policy     ratio   KL       PPL/full  top-1   greedy agreement (64-token continuations)")
for p in report["policies"]:
    print(f"{p['policy']:<10} {p['compression_ratio']:5.2f}  {p['kl_nats_per_token'] or 0:.4f}  {p['perplexity_ratio']:.4f}    "
          f"{p['top1_agreement']:.4f}  {p['continuation_agreement']:.4f}")
PY
