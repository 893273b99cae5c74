#!/usr/bin/env bash
# Reproduces the shipped adapters trained on longer sequences, from dms-lora-adapter.safetensors
# (--init), and evaluates each on the 4096 held-out tokens against the baselines at its ratio,
# with seen/R budgets (eval-*.json) and with fixed length/R budgets (eval-*-fixed.json):
#   dms-lora-adapter-ft2048  stage 1: 60 steps of 2048 tokens at a training-time ratio of 9,
#                            stage 2: 30 more at 9.6 (lr 2e-4, seeds 2 and 3)
#   dms-lora-adapter-ft4096  stage 3: 20 steps of 4096 tokens at 9.6 (lr 1e-4, seed 4)
#   dms-lora-adapter-ft4096-w128  ft4096 calibrated (no training) to window 128 and ratio 9 on
#                            the first two 4096-token sequences of the training text
#   dms-lora-adapter-w128    stage 4: ft4096-w128 trained 32 steps of 4096 tokens at window 128,
#                            training-time ratio 11.2 (where it starts), KL(teacher ‖ student),
#                            lr 1e-4, seed 5
#   dms-lora-adapter-w128-mlp  stage 5: w128 trained 32 more steps the same way with LoRA updates of
#                            the feed-forward projections too (--lora-mlp, seed 6), then calibrated
#                            (no training) to ratio 9.15 on the first two training sequences
#   dms-lora-adapter-w128-mlp64  stage 6: stage 5's own adapter trained 32 more steps the same way
#                            (seed 7), then calibrated like stage 5 and written with the LoRA
#                            updates in f16 (--lora-precision f16: half the file)
#
#   scripts/retrofit-smollm2-long.sh [OUT_DIR]     (default: $DMS_CACHE/runs/smollm2-long, outside the repo)
#
# About 65 minutes of training for the 2048-token stages, 35 for the first 4096-token one, 5 for
# each calibration, 50 for stage 4 and 55 each for stages 5 and 6, on 2 cores. Interrupted? Run it again: a stage whose checkpoint exists resumes, a finished stage is
# skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_NAME=smollm2-long source scripts/retrofit-setup.sh
# stage OUT INIT SEQ_LEN STEPS RATIO LR SEED [WINDOW [RETROFIT OPTIONS...]]
stage() {
  local adapter="$out/$1.safetensors"
  [ -f "$adapter" ] && [ ! -f "$adapter.checkpoint" ] && return 0
  local resume=()
  [ -f "$adapter.checkpoint" ] && resume=(--resume)
  $dms retrofit --model "$model" --data "$text/train/debian-reference.txt" "$text/train/licenses.txt" \
    --out "$adapter" --init "$2" --seq-len "$3" --window "${8:-64}" --sinks 4 --steps "$4" --hold-steps $(($4 - 1)) \
    --target-cr "$5" --final-cr "$5" --lr "$6" --seed "$7" --lora-rank 8 --lora-alpha 16 "${@:9}" "${resume[@]}"
}
# evaluate ADAPTER NAME: both budget styles of the baselines
evaluate() {
  for budget in proportional fixed; do
    local suffix=""
    [ "$budget" = fixed ] && suffix="-fixed"
    $dms eval --model "$model" --adapter "$1" --text "$text/heldout/python-tutorial.txt" --length 4096 \
      --policies full,dms,streaming,tova,h2o --ratios match --baseline-budget "$budget" --continuations 2 \
      --json > "$out/eval-$2$suffix.json"
  done
}
stage stage1 adapters/smollm2-135m-instruct/dms-lora-adapter.safetensors 2048 60 9 2e-4 2
stage stage2 "$out/stage1.safetensors" 2048 30 9.6 2e-4 3
evaluate "$out/stage2.safetensors" ft2048
stage stage3 "$out/stage2.safetensors" 4096 20 9.6 1e-4 4
evaluate "$out/stage3.safetensors" ft4096
[ -f "$out/ft4096-w128.safetensors" ] || $dms calibrate --model "$model" --adapter "$out/stage3.safetensors" \
  --data "$text/train/debian-reference.txt" --window 128 --target-cr 9 --seq-len 4096 --sequences 2 \
  --out "$out/ft4096-w128.safetensors"
evaluate "$out/ft4096-w128.safetensors" ft4096-w128
stage stage4 "$out/ft4096-w128.safetensors" 4096 32 11.2 1e-4 5 128 --kl teacher-student
evaluate "$out/stage4.safetensors" w128
stage stage5 "$out/stage4.safetensors" 4096 32 11.2 1e-4 6 128 --kl teacher-student --lora-mlp
[ -f "$out/w128-mlp.safetensors" ] || $dms calibrate --model "$model" --adapter "$out/stage5.safetensors" \
  --data "$text/train/debian-reference.txt" --window 128 --target-cr 9.15 --seq-len 4096 --sequences 2 \
  --out "$out/w128-mlp.safetensors"
evaluate "$out/w128-mlp.safetensors" w128-mlp
stage stage6 "$out/stage5.safetensors" 4096 32 11.2 1e-4 7 128 --kl teacher-student --lora-mlp
[ -f "$out/w128-mlp64.safetensors" ] || $dms calibrate --model "$model" --adapter "$out/stage6.safetensors" \
  --data "$text/train/debian-reference.txt" --window 128 --target-cr 9.15 --seq-len 4096 --sequences 2 \
  --lora-precision f16 --out "$out/w128-mlp64.safetensors"
evaluate "$out/w128-mlp64.safetensors" w128-mlp64
