#!/usr/bin/env bash
# Sender efficiency, two builds side by side (bench/README.md, "Sender efficiency"): one `hooksim receiver`,
# wrk on it (the ceiling), then `hooksim serve` of build BEFORE and of build AFTER alternately, 100
# subscriptions x 300 events and 1000 x 30, each publish batched (100 events a request), fsynced before its
# 202. Per run: deliveries/s, x wrk, and serve's CPU (user + system, /proc/PID/stat) per delivery, its
# enqueue included. Both builds are Release build directories (e.g. build-bench/ of two worktrees); the
# load generator is AFTER's. THREADS (e.g. "1 2") runs AFTER once per value, as `serve --threads N`; BEFORE
# runs without the flag (a build before the shards has none; BEFORE_THREADS gives it one).
# Usage: bench/sender-cpu.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [ROUNDS] [THREADS]
set -euo pipefail
command -v wrk >/dev/null || { echo "sender-cpu.sh: needs wrk (scripts/bench.sh installs it)" >&2; exit 2; }
B=$1; A=$2; rounds=${3:-3}; threads=${4:-}
cd "$(dirname "$0")/.."
load=$A/bench/hooksim_load
work=$(mktemp -d "${TMPDIR:-/tmp}/hooksim-sender-cpu-XXXXXX")
$A/cli/hooksim receiver --listen 127.0.0.1:0 >$work/r.out 2>$work/r.err & rp=$!
for _ in $(seq 500); do rurl=$(grep -o 'http://[0-9.:]*' $work/r.out | head -1 || true); [ -n "$rurl" ] && break; sleep 0.02; done
echo "commit $(git rev-parse --short HEAD), load at start $(cut -d' ' -f1-3 /proc/loadavg)"
wrk_rps=$(wrk -t1 -c64 -d5s -s bench/wrk-delivery.lua "$rurl/" | awk '/Requests\/sec/ {print $2}')
echo "wrk -t1 -c64: $wrk_rps req/s"
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
one() { # BIN SUBS EVENTS [THREADS]
  local bin=$1 subs=$2 events=$3 n=$(( $2 * $3 )) flag=()
  [ -n "${4:-}" ] && flag=(--threads $4)
  $bin/cli/hooksim serve --data $work/d-$RANDOM --listen 127.0.0.1:0 "${flag[@]}" >$work/s.out 2>$work/s.err & local sp=$!
  local api=""; for _ in $(seq 500); do api=$(grep -o 'http://[0-9.:]*' $work/s.out | head -1 || true); [ -n "$api" ] && break; sleep 0.02; done
  $load subscribe --api $api --count $subs --target $rurl/ >/dev/null
  local c0=$(cpu $sp) t0=$(date +%s.%N)
  $load publish --api $api --events $events --batch 100 --connections 2 --prefix x >/dev/null
  $load wait --api $api --delivered $n >/dev/null
  local t1=$(date +%s.%N) c1=$(cpu $sp)
  kill $sp; wait $sp 2>/dev/null || true
  # awk for the arithmetic: it is on every Debian, bc is not (as in scripts/bench.sh).
  awk -v c=$((c1-c0)) -v n=$n -v t0="$t0" -v t1="$t1" -v k="$(getconf CLK_TCK)" -v w="$wrk_rps" \
    'BEGIN{t=t1-t0; printf "%6.0f deliveries/s = %.2f x wrk, %5.1f us CPU/delivery", n/t, n/t/w, c/k/n*1e6}'
}
for r in $(seq $rounds); do
  for cfg in "100 300" "1000 30"; do
    set -- $cfg
    line="round $r, $1 subs x $2 events: before $(one $B $1 $2 ${BEFORE_THREADS:-})"
    if [ -z "$threads" ]; then
      line+=" | after $(one $A $1 $2)"
    else
      for t in $threads; do line+=" | after N=$t $(one $A $1 $2 $t)"; done
    fi
    echo "$line"
  done
done
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
kill $rp; rm -rf $work
