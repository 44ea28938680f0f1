#!/usr/bin/env bash
# Installs dependencies (scripts/setup.sh) and builds hooksim into build/ (or $HOOKSIM_BUILD_DIR).
# Extra arguments are passed to `cmake --build` (e.g. `--target hooksim`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${HOOKSIM_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$build_dir" -j "$(nproc)" "$@"
