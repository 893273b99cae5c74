# Sourced by the retrofit scripts, from the repository root, with RUN_NAME set: fetches the model
# and the texts, builds dms in release and sets model, text, dms and out (the script's first
# argument, or $DMS_CACHE/runs/RUN_NAME outside the repository, created).
cache="${DMS_CACHE:-$HOME/.cache/swift-dms}"
out="${1:-$cache/runs/$RUN_NAME}"
model="$(scripts/fetch-model.sh)"
text="$(scripts/fetch-text.sh)"
swift build -c release --product dms >&2
dms=.build/release/dms
mkdir -p "$out"
