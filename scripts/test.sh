#!/usr/bin/env bash
# Builds hooksim and runs the whole test suite (installing dependencies first on a fresh machine).
# Arguments are passed to ctest (e.g. `-R Engine` to run a subset).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
build_dir=${HOOKSIM_BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
