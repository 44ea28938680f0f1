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
# The signature tests (tests/signature_libraries_test.cpp) verify hooksim's signatures with the senders' own
# npm libraries, pinned in tests/signatures/package-lock.json: Node from Debian, the libraries from npm.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "test: installing nodejs and npm (for the signature library tests)" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends nodejs npm
fi
libraries=tests/signatures
if ! cmp -s "$libraries/package-lock.json" "$libraries/node_modules/.installed-lock.json"; then
  echo "test: installing the senders' signature libraries (npm ci in $libraries)" >&2
  # Without the registry (no network, or a TLS-intercepting proxy whose CA this machine lacks) the suite still
  # runs: SignatureLibraries.* is then reported as skipped, with the reason, not passed.
  if npm ci --prefix "$libraries" --no-audit --no-fund --loglevel=error; then
    cp "$libraries/package-lock.json" "$libraries/node_modules/.installed-lock.json"
  else
    echo "test: WARNING: npm could not install the signature libraries; SignatureLibraries.* will be skipped" >&2
  fi
fi
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
