#!/usr/bin/env bash
# Measures `dms bench` against llama.cpp on the same GGUF, same threads, in one run, and prints a
# Markdown table of tokens/s and ratios (ours / llama.cpp) for BENCHMARKS.md.
# llama.cpp comes from PyPI's llama-cpp-python, built into a throwaway venv in the cache.
#   scripts/bench/compare-llama-cpp.sh [MODEL.gguf] [THREADS]
# DMS_BENCH_ARGS adds arguments to every `dms bench` (e.g. "--activations int8").
set -euo pipefail
cd "$(dirname "$0")/../.."
model="${1:-$(scripts/fetch-model.sh)}"
threads="${2:-2}"
reps="${REPETITIONS:-3}"
venv="${DMS_CACHE:-$HOME/.cache/swift-dms}/llama-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet llama-cpp-python >&2
fi
swift build -c release --product dms >&2
dms=.build/release/dms

# name | dms bench arguments | peer arguments (llama.cpp always keeps its full f16 cache)
dms_synthetic="--kv dms --synthetic-eviction 0.875 --dms-window 64"
configs=(
  "pp512|--prompt-tokens 512 --gen-tokens 0|--prompt-tokens 512 --gen-tokens 0"
  "tg128|--prompt-tokens 0 --gen-tokens 128|--prompt-tokens 0 --gen-tokens 128"
  "tg128 @ d4096|--prompt-tokens 0 --gen-tokens 128 --depth 4096|--prompt-tokens 0 --gen-tokens 128 --depth 4096"
  "tg64 @ d8000|--prompt-tokens 0 --gen-tokens 64 --depth 8000|--prompt-tokens 0 --gen-tokens 64 --depth 8000"
  "tg64 @ d8000, DMS synthetic F=0.875 w=64|--prompt-tokens 0 --gen-tokens 64 --depth 8000 $dms_synthetic|--prompt-tokens 0 --gen-tokens 64 --depth 8000"
)

echo "model: $(basename "$model"), threads: $threads, repetitions: $reps, dms bench args: ${DMS_BENCH_ARGS:-none}, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
echo
echo "| test | dms tokens/s | llama.cpp tokens/s | ratio | dms KV compression | dms peak KV MiB |"
echo "|---|---:|---:|---:|---:|---:|"
for config in "${configs[@]}"; do
  IFS='|' read -r name ours theirs <<< "$config"
  peer=$("$venv/bin/python" scripts/bench/llama_cpp_peer.py --model "$model" --threads "$threads" --repetitions "$reps" $theirs)
  mine=$($dms bench --model "$model" --threads "$threads" --repetitions "$reps" --json $ours ${DMS_BENCH_ARGS:-})
  python3 - "$name" "$mine" "$peer" <<'PY'
import json, sys
name, mine, peer = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
key = "prefill_tokens_per_s" if name.startswith("pp") else "decode_tokens_per_s"
a, b = mine[key], peer[key]
kv = mine.get("kv") or {}
ratio = f"{kv['compression_ratio']:.2f}" if kv else "-"
peak = f"{kv['peak_bytes'] / 1048576:.1f}" if kv else "-"
print(f"| {name} | {a:.1f} | {b:.1f} | {a / b:.2f}x | {ratio} | {peak} |")
PY
done
