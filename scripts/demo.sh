#!/usr/bin/env bash
# The main job on a fresh machine: fetch SmolLM2-135M-Instruct, build `dms` in release, and
# generate a chat answer with DMS on, printing the text and the KV cache statistics.
#
# DMS uses the adapter trained for SmolLM2 with `dms retrofit --lora-rank 8`
# (adapters/smollm2-135m-instruct, see its MODEL_CARD.md): the model's own learned decisions flag
# tokens, flagged tokens leave after the window and their slots are reused, and the adapter's
# LoRA updates apply. The full-cache run beside it is the unchanged base model.
set -euo pipefail
cd "$(dirname "$0")/.."
model="$(scripts/fetch-model.sh)"
swift build -c release --product dms
prompt="${1:-Explain in three sentences why the KV cache limits LLM inference on a CPU.}"
adapter=adapters/smollm2-135m-instruct/dms-lora-adapter.safetensors
for kv in "full" "dms"; do
  echo "== --kv $kv"
  .build/release/dms generate --model "$model" --chat --temperature 0 --max-tokens 160 --json \
    --prompt "$prompt" --adapter "$adapter" --kv $kv | python3 -c '
import json, sys
r = json.load(sys.stdin)
kv, t = r["kv"], r["timing"]
print(r["text"].strip())
policy, seen, slots = kv["policy"], kv["tokens_seen"], kv["slots_in_use"]["mean"]
ratio, reads, peak, speed = kv["compression_ratio"], kv["token_reads"], kv["peak_bytes"] / 1024, t["decode_tokens_per_s"]
print(f"[{policy}: {seen} tokens seen, {slots:.1f} slots per head, compression {ratio:.2f}x, "
      f"{reads} KV token reads, peak {peak:.0f} KiB; decode {speed:.1f} tokens/s]")
'
done
