#!/usr/bin/env bash
# Runs every test: fetches the real model (tests that need it then must pass, not skip),
# builds in release (the C kernels are unoptimised in debug builds) and runs `swift test`; without
# arguments (a full run) it then runs the server's OpenAI-client integration test (about 10 s)
# and its load test (2,000 requests, 32 at a time, in a 64 MiB KV budget: a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
export DMS_SMOLLM2_GGUF="${DMS_SMOLLM2_GGUF:-$(scripts/fetch-model.sh)}"
export DMS_REQUIRE_MODEL=1
swift build -c release -Xswiftc -enable-testing --product dms
swift test -c release -Xswiftc -enable-testing "$@"
if [ $# -eq 0 ]; then
  scripts/server/test-openai.sh
  DMS_SERVE_ARGS="--kv-budget 64MiB" scripts/server/with-server.sh python3 scripts/server/load_test.py
fi
