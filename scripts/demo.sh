#!/usr/bin/env bash
# The main job on a fresh machine: fetch SmolLM2-135M-Instruct, build `dms` in release, and
# generate a chat answer with DMS on, printing the text and the KV cache statistics.
#
# SmolLM2 has no trained DMS adapter yet (the retrofit issue ships one), so its eviction
# decisions here are random (--synthetic-eviction): the run shows the mechanism — slots reused,
# memory freed, fewer KV reads — not DMS's quality. A DMS checkpoint or `--adapter FILE` uses
# the model's own decisions instead.
set -euo pipefail
cd "$(dirname "$0")/.."
model="$(scripts/fetch-model.sh)"
swift build -c release --product dms
prompt="${1:-Explain in three sentences why the KV cache limits LLM inference on a CPU.}"
for kv in "full" "dms --synthetic-eviction 0.5 --dms-window 64"; do
  echo "== --kv $kv"
  .build/release/dms generate --model "$model" --chat --temperature 0 --max-tokens 160 --json \
    --prompt "$prompt" --kv $kv | python3 -c '
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
