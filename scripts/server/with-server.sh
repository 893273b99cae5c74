#!/usr/bin/env bash
# Starts `dms serve` on a free loopback port with SmolLM2-135M-Instruct and its DMS adapter, waits
# for /health, runs the given command with DMS_SERVER_URL and DMS_MODEL_ID set, and always stops
# the server. Extra server options come from DMS_SERVE_ARGS (e.g. "--kv-budget 64MiB").
#   scripts/server/with-server.sh python3 scripts/server/test_openai_client.py
set -euo pipefail
cd "$(dirname "$0")/../.."
model=$(scripts/fetch-model.sh)
dms=.build/release/dms
[ -x "$dms" ] || swift build -c release -Xswiftc -enable-testing --product dms
export DMS_MODEL_ID=smollm2
log=$(mktemp)
# shellcheck disable=SC2086 # DMS_SERVE_ARGS is a list of options
"$dms" serve --model "$model" --adapter adapters/smollm2-135m-instruct/dms-lora-adapter.safetensors \
  --host 127.0.0.1 --port 0 --model-id "$DMS_MODEL_ID" ${DMS_SERVE_ARGS:-} 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT

# Port 0 lets the kernel pick a free port; the server prints the address it got.
url=""
for _ in $(seq 1 600); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1 || true)
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "dms serve exited before listening" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$log" >&2; echo "dms serve did not start listening" >&2; exit 1; }
for _ in $(seq 1 100); do
  python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/health', timeout=2)" "$url" 2>/dev/null && break
  sleep 0.1
done
echo "dms serve is up at $url" >&2
DMS_SERVER_URL="$url" "$@"
