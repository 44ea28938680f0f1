#!/usr/bin/env bash
# Installs dependencies (scripts/setup.sh) and builds hooksim into build/ (or $HOOKSIM_BUILD_DIR).
# Extra arguments are passed to `cmake --build` (e.g. `--target hooksim`).
# HOOKSIM_SANITIZE=address,undefined (or thread) builds with those sanitizers (docs/hardening.md);
# HOOKSIM_CMAKE_ARGS adds configure options (e.g. -DHOOKSIM_BUILD_BENCH=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${HOOKSIM_BUILD_DIR:-build}
# shellcheck disable=SC2086  # HOOKSIM_CMAKE_ARGS is a list of options
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} \
  -DHOOKSIM_SANITIZE="${HOOKSIM_SANITIZE:-}" ${HOOKSIM_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j "$(nproc)" "$@"
