#!/usr/bin/env bash
# Builds hooksim and runs the whole test suite (installing dependencies first on a fresh machine).
# Arguments are passed to ctest (e.g. `-R Engine` to run a subset).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
build_dir=${HOOKSIM_BUILD_DIR:-build}
# The status page tests (tests/status_page_test.cpp) render the page in headless Chromium.
if [ ! -x /usr/bin/chromium ]; then
  echo "test: installing chromium (for the status page tests)" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends chromium
fi
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
