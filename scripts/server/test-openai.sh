#!/usr/bin/env bash
# The OpenAI-client integration test: installs `openai` and `requests` if missing, then runs
# test_openai_client.py against a fresh `dms serve` (see with-server.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c "import openai, requests" 2>/dev/null || python3 -m pip install --quiet openai requests
exec scripts/server/with-server.sh python3 scripts/server/test_openai_client.py
