#!/usr/bin/env bash
# One large event to many subscriptions, two builds side by side (bench/README.md, "Publish at scale: one
# large event"): one `hooksim receiver`, then `hooksim serve` (RocksDB) of build BEFORE and of build AFTER
# alternately, each fresh: SUBS subscriptions with no filter, then one event whose data is a MIB-MiB string,
# published in one request (fsynced before its 202). Per run: the time to the 202 (curl's time_total), the
# time until every subscription has it delivered, serve's peak RSS (VmHWM in /proc/PID/status), and the
# growth of the data directory (du) at the 202 and once delivered. Both builds are build directories (e.g.
# build-bench/ of two worktrees); the load generator is AFTER's. BEFORE "-" runs AFTER alone (scripts/bench.sh
# section 7).
# Usage: bench/large-body.sh BEFORE_BUILD_DIR|- AFTER_BUILD_DIR [ROUNDS] [SUBS] [MIB]
set -euo pipefail
B=$1; A=$2; rounds=${3:-2}; subs=${4:-500}; mib=${5:-3}
cd "$(dirname "$0")/.."
load=$A/bench/hooksim_load
work=$(mktemp -d "${TMPDIR:-/tmp}/hooksim-large-body-XXXXXX")
$A/cli/hooksim receiver --listen 127.0.0.1:0 >$work/r.out 2>$work/r.err & rp=$!
trap 'kill $rp 2>/dev/null || true; rm -rf $work' EXIT
for _ in $(seq 500); do rurl=$(grep -o 'http://[0-9.:]*' $work/r.out | head -1 || true); [ -n "$rurl" ] && break; sleep 0.02; done
# The event: {"id":"big","type":"tracking",...,"data":{"blob":"xxx..."}}, MIB MiB in all.
awk -v n=$((mib * 1048576 - 100)) 'BEGIN { printf "{\"id\":\"big\",\"type\":\"tracking\",\"account\":\"a\",\"vehicle\":\"v\",\"data\":{\"blob\":\""; s = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; for (i = 0; i < n / 64; i++) printf "%s", s; printf "\"}}" }' >$work/event.json
echo "commit $(git rev-parse --short HEAD), load at start $(cut -d' ' -f1-3 /proc/loadavg); event $(stat -c %s $work/event.json) bytes to $subs subscriptions"
one() { # BIN
  local bin=$1 data=$work/d-$RANDOM
  $bin/cli/hooksim serve --data $data --listen 127.0.0.1:0 >$work/s.out 2>$work/s.err & local sp=$!
  local api=""; for _ in $(seq 500); do api=$(grep -o 'http://[0-9.:]*' $work/s.out | head -1 || true); [ -n "$api" ] && break; sleep 0.02; done
  $load subscribe --api $api --count $subs --target $rurl/ >/dev/null
  local du0=$(du -sb $data | cut -f1) t0=$(date +%s.%N)
  local answer=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST -H 'content-type: application/json' \
    --data-binary @$work/event.json $api/v1/events)
  local du1=$(du -sb $data | cut -f1)
  $load wait --api $api --delivered $subs >/dev/null
  local t1=$(date +%s.%N) du2=$(du -sb $data | cut -f1)
  local hwm=$(awk '/VmHWM/ {print $2}' /proc/$sp/status)
  kill $sp; wait $sp 2>/dev/null || true
  set -- $answer
  awk -v code=$1 -v t=$2 -v d=$(echo "$t1 - $t0" | awk '{print $1 - $3}') -v hwm=$hwm -v g1=$((du1 - du0)) -v g2=$((du2 - du0)) \
    'BEGIN { printf "%s in %6.3f s, all delivered %6.2f s, peak RSS %5.0f MiB, store +%6.1f MiB at 202 (+%6.1f MiB delivered)", code, t, d, hwm/1024, g1/1048576, g2/1048576 }'
}
for r in $(seq $rounds); do
  [ "$B" != - ] && echo "round $r before: $(one $B)"
  echo "round $r after:  $(one $A)"
done
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
