#!/usr/bin/env bash
# `hooksim run --threads N` against one `hooksim receiver` (bench/README.md, "run --threads"): wrk on the
# receiver first (the ceiling), then `hooksim run` of a generated scenario, SUBS subscriptions to the
# receiver (url RECEIVER/sNNNN, bearer token) and EVENTS events published at t = 0 to all of them, so that
# SUBS x EVENTS deliveries drain as fast as the sender and the receiver allow, in memory (no --data). Once per
# N in THREADS, ROUNDS times. Per run: deliveries/s (from the summary's wall_ms, the whole run), x wrk, and
# run's CPU (user + system, from the shell's `times`) per delivery.
# Usage: bench/run-threads.sh BUILD_DIR [ROUNDS] [THREADS] [SUBS] [EVENTS]
#   bench/run-threads.sh build-bench 3 "1 2" 1000 30
set -euo pipefail
command -v wrk >/dev/null || { echo "run-threads.sh: needs wrk (scripts/bench.sh installs it)" >&2; exit 2; }
build=$1; rounds=${2:-3}; threads=${3:-"1 2"}; subs=${4:-1000}; events=${5:-30}
cd "$(dirname "$0")/.."
bin=$build/cli/hooksim
work=$(mktemp -d "${TMPDIR:-/tmp}/hooksim-run-threads-XXXXXX")
$bin receiver --listen 127.0.0.1:0 >$work/r.out 2>$work/r.err & rp=$!
trap 'kill $rp 2>/dev/null; rm -rf $work' EXIT
for _ in $(seq 500); do rurl=$(grep -o 'http://[0-9.:]*' $work/r.out | head -1 || true); [ -n "$rurl" ] && break; sleep 0.02; done
awk -v subs=$subs -v events=$events -v url=$rurl 'BEGIN {
  printf "{\"duration\": \"1h\", \"subscriptions\": ["
  for (i = 1; i <= subs; i++) printf "%s{\"id\": \"s%04d\", \"url\": \"%s/s%04d\", \"token\": \"t\"}", (i > 1 ? "," : ""), i, url, i
  printf "], \"events\": ["
  for (i = 1; i <= events; i++) printf "%s{\"at\": \"0s\", \"type\": \"tracking\", \"account\": \"a\", \"vehicle\": \"v\"}", (i > 1 ? "," : "")
  printf "]}\n"
}' >$work/scenario.json
echo "commit $(git rev-parse --short HEAD), load at start $(cut -d' ' -f1-3 /proc/loadavg)"
wrk_rps=$(wrk -t1 -c64 -d5s -s bench/wrk-delivery.lua "$rurl/" | awk '/Requests\/sec/ {print $2}')
echo "wrk -t1 -c64: $wrk_rps req/s"
n=$((subs * events))
one() { # THREADS
  # `times` in the subshell: its second line is the CPU of the subshell's children, i.e. of this run alone.
  local cpu
  cpu=$( (
    $bin run $work/scenario.json --threads $1 >$work/summary.json
    times
  ) | awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
  local wall_ms delivered
  wall_ms=$(grep -o '"wall_ms": *[0-9]*' $work/summary.json | grep -o '[0-9]*$')
  delivered=$(grep -o '"delivered": *[0-9]*' $work/summary.json | head -1 | grep -o '[0-9]*$')
  [ "$delivered" = "$n" ] || { echo "run-threads.sh: delivered $delivered of $n" >&2; exit 1; }
  awk -v n=$n -v ms=$wall_ms -v c=$cpu -v w=$wrk_rps \
    'BEGIN { printf "%6.0f deliveries/s = %.2f x wrk, %5.1f us CPU/delivery", n / ms * 1000, n / ms * 1000 / w, c / n * 1e6 }'
}
for r in $(seq $rounds); do
  line="round $r, $subs subs x $events events:"
  for t in $threads; do line+=" | N=$t $(one $t)"; done
  echo "$line"
done
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
