#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, AddressSanitizer and UndefinedBehaviorSanitizer in
# build-fuzz/ (or $HOOKSIM_FUZZ_BUILD_DIR) and runs each on its committed corpus (fuzz/corpus/<target>) for
# $FUZZ_SECONDS seconds (default 5: the CI smoke run). A finding stops with a non-zero exit and leaves the
# crashing input in build-fuzz/findings/. Long runs: see docs/hardening.md.
#   scripts/fuzz.sh                 # every target, 5 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh api
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${HOOKSIM_FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-5}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(scenario policy api record signature)

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DHOOKSIM_BUILD_FUZZ=ON -DHOOKSIM_BUILD_TESTS=OFF -DHOOKSIM_BUILD_BENCH=OFF \
  -DHOOKSIM_SANITIZE=address,undefined,fuzzer-no-link ${HOOKSIM_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

mkdir -p "$build_dir/findings"
for t in "${targets[@]}"; do
  # New inputs go to a scratch directory, so the committed corpus only changes by hand (docs/hardening.md).
  scratch="$build_dir/corpus-$t"
  mkdir -p "$scratch"
  echo "fuzz: $t for ${seconds}s" >&2
  "$build_dir/fuzz/fuzz_$t" "$scratch" "fuzz/corpus/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build_dir/findings/$t-" -print_final_stats=1 2>"$build_dir/fuzz-$t.log" || {
    tail -n 60 "$build_dir/fuzz-$t.log" >&2
    echo "fuzz: $t found a problem; the input is in $build_dir/findings/" >&2
    exit 1
  }
  grep -E "^stat::number_of_executed_units|^Done" "$build_dir/fuzz-$t.log" >&2 || true
done
echo "fuzz: ${#targets[@]} passed, 0 failed"
