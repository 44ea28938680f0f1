#!/usr/bin/env bash
# ThreadSanitizer stage of CI (docs/hardening.md): builds build-tsan/ (or $HOOKSIM_TSAN_BUILD_DIR) with
# -DHOOKSIM_SANITIZE=thread, only the targets the tests need (hooksim, hooksim_tests, the canary; no bench) and
# of the tests only the files of the suites that run threads (HOOKSIM_THREADED_TESTS_ONLY, tests/CMakeLists.txt),
# and runs with ctest those suites plus the canary (TsanCanary.*: races TSan must still report with the
# project's suppressions in place). An argument replaces the selection (a ctest -R regex) and builds every test.
#   scripts/tsan.sh          # the threaded suites and the canary (CI)
#   scripts/tsan.sh .        # the whole suite
set -euo pipefail
cd "$(dirname "$0")/.."

# The suites that run threads, by gtest suite name: the service on its own thread beside the test's client
# (ServiceTest), `hooksim serve` killed under a publishing thread (CrashAudit, ServeProcess, Soak), libcurl on
# Asio against a mock receiver on another thread (CurlTransport, RunCommand), the HTTP server and client
# (HttpServer, HttpClient), the mock receiver on its thread (MockReceiver) and `hooksim receiver --threads`
# (ReceiverCommand). A suite whose name contains "Shard" or "Thread" (serve and run with several event-loop
# threads) joins by its name, as its test file does by a name containing "shard" or "thread".
suites='^([A-Za-z]+/)?(ServiceTest|CrashAudit|ServeProcess|Soak|CurlTransport|RunCommand|HttpServer|HttpClient|MockReceiver|ReceiverCommand|[A-Za-z]*(Shard|Thread)[A-Za-z]*|TsanCanary)\.'
build_dir=${HOOKSIM_TSAN_BUILD_DIR:-build-tsan}
threaded_only=ON
[ $# -gt 0 ] && threaded_only=OFF

HOOKSIM_BUILD_DIR=$build_dir HOOKSIM_SANITIZE=thread \
  HOOKSIM_CMAKE_ARGS="-DHOOKSIM_BUILD_BENCH=OFF -DHOOKSIM_THREADED_TESTS_ONLY=$threaded_only ${HOOKSIM_CMAKE_ARGS:-}" \
  scripts/build.sh --target hooksim_tests hooksim_tsan_canary
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j "$(nproc)" -R "${1:-$suites}"
