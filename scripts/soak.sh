#!/usr/bin/env bash
# The soak (docs/faults-and-security.md#the-soak): `hooksim serve` under a steady publish load with a
# flapping receiver and a SIGKILL/restart every KILL_EVERY seconds, for SECONDS seconds, then the full
# delivery audit and the RSS figures. Not part of CI (the suite runs a 25-second version).
#   scripts/soak.sh [SECONDS [KILL_EVERY [BATCHES_PER_SECOND]]]     default: 600 60 100
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
kill_every=${2:-60}
rate=${3:-100}
scripts/build.sh
build_dir=${HOOKSIM_BUILD_DIR:-build}
mkdir -p out
echo "soak: ${seconds}s, a SIGKILL every ${kill_every}s, ${rate} batches/s; figures in out/soak.json" >&2
HOOKSIM_SOAK_SECONDS=$seconds HOOKSIM_SOAK_KILL_EVERY=$kill_every HOOKSIM_SOAK_BATCHES_PER_SECOND=$rate \
HOOKSIM_SOAK_REPORT=out/soak.json \
  "$build_dir/tests/hooksim_tests" --gtest_filter='Soak.*'
