#!/usr/bin/env bash
# The main job: builds hooksim and simulates scenarios/demo.json (or the scenario given as $1): an outage,
# the documented retries, and the in-order recovery, as a readable timeline. The attempt log goes to
# out/demo.jsonl and the run's summary (JSON) to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh --target hooksim >/dev/null
scenario=${1:-scenarios/demo.json}
mkdir -p out
echo "== hooksim simulate $scenario (timeline on stderr, log in out/demo.jsonl)" >&2
"${HOOKSIM_BUILD_DIR:-build}/cli/hooksim" simulate "$scenario" --timeline --log out/demo.jsonl
