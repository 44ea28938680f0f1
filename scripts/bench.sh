#!/usr/bin/env bash
# End-to-end benchmark (issue 6; bench/README.md explains every figure). Builds Release binaries into
# build-bench/ (or $HOOKSIM_BENCH_DIR), then measures, in one run, on loopback:
#   1. wrk against `hooksim receiver` (the ceiling of this machine's loopback HTTP), then delivery throughput of
#      `hooksim serve` (durable RocksDB queues, synced publishes) to the same receiver with 1, 100 and 1000
#      subscriptions, and the ratio of the two;
#   2. publish throughput through the API (batched, acknowledged after fsync);
#   3. publish-to-delivery latency (p50/p99) at half the 1-subscription delivery rate;
#   4. simulation speed (`hooksim simulate`): attempts per wall second, and a week of a 1,000-vehicle fleet;
#   5. memory (RSS) and restart to first delivery with 100k subscriptions x 100 queued events;
#   6. publish throughput with 100 and with 100,000 subscriptions (one vehicle each), delivery running;
#   7. one 3 MiB event to 500 subscriptions: time to 202, serve's peak RSS, store growth (bench/large-body.sh).
# Usage: scripts/bench.sh [--quick] [SECTION...]
#   --quick: smaller sizes, for checking the script itself; SECTION: run only these (1-7; default all).
# Output: a human summary on stdout; the raw JSON of each step in $HOOKSIM_BENCH_OUT (default out/bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1 && shift
sections=${*:-1 2 3 4 5 6 7}
want() { [[ " $sections " == *" $1 "* ]]; }

scripts/setup.sh
if ! command -v wrk >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends wrk
fi
bdir=${HOOKSIM_BENCH_DIR:-build-bench}
cmake -S . -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOOKSIM_BUILD_TESTS=OFF >/dev/null
cmake --build "$bdir" -j "$(nproc)" --target hooksim hooksim_load >/dev/null
hooksim=$bdir/cli/hooksim
load=$bdir/bench/hooksim_load
out=${HOOKSIM_BENCH_OUT:-out/bench}
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/hooksim-bench-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# calc, cpu_ticks, ticks, json
. scripts/bench-helpers.sh
# start NAME CMD...: runs CMD in the background; waits for its "listening on URL" first line; sets $url.
start() {
  local name=$1
  shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 1 500); do
    url=$(grep -o 'http://[0-9.:]*' "$work/$name.out" 2>/dev/null | head -1 || true)
    [ -n "$url" ] && return 0
    sleep 0.02
  done
  echo "bench: $name did not start:" >&2
  cat "$work/$name.err" >&2
  exit 1
}
stop_last() {
  kill "${pids[-1]}"
  wait "${pids[-1]}" 2>/dev/null || true
  unset 'pids[-1]'
}

echo "hooksim end-to-end benchmark, $(date -u +%FT%TZ), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 1. delivery vs wrk ----------------------------------------------------------------------------------------
if want 1; then
start receiver "$hooksim" receiver --listen 127.0.0.1:0
receiver=$url
wrk_seconds=$([ $quick = 1 ] && echo 2 || echo 5)
wrk -t1 -c64 -d"${wrk_seconds}s" -s bench/wrk-delivery.lua "$receiver/" >"$out/wrk.txt"
wrk_rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
echo
echo "1. delivery throughput to hooksim receiver ($receiver)"
printf '   wrk -t1 -c64 (same receiver, same headers and body): %.0f req/s\n' "$wrk_rps"
for subs in 1 100 1000; do
  case $subs in
    1) events=$([ $quick = 1 ] && echo 2000 || echo 20000) ;;
    100) events=$([ $quick = 1 ] && echo 100 || echo 1000) ;;
    1000) events=$([ $quick = 1 ] && echo 20 || echo 200) ;;
  esac
  start "serve-$subs" "$hooksim" serve --data "$work/serve-$subs" --listen 127.0.0.1:0
  api=$url
  "$load" subscribe --api "$api" --count "$subs" --target "$receiver/" >"$out/subscribe-$subs.json"
  c0=$(cpu_ticks "${pids[-1]}")
  t0=$(date +%s.%N)
  "$load" publish --api "$api" --events "$events" --batch 100 --connections 2 --prefix "d$subs" >"$out/publish-$subs.json"
  "$load" wait --api "$api" --delivered $((events * subs)) >"$out/wait-$subs.json"
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "${pids[-1]}")
  stop_last
  total=$((events * subs))
  rate=$(calc "$total / ($t1 - $t0)")
  printf '   %4d subscriptions: %7d deliveries in %6.2f s (publish %.2f s) = %7.0f deliveries/s = %.2f x wrk; serve CPU %.1f us/delivery\n' \
    "$subs" "$total" "$(calc "$t1 - $t0")" "$(json "$out/publish-$subs.json" seconds)" "$rate" \
    "$(calc "$rate / $wrk_rps")" "$(calc "($c1 - $c0) / $ticks / $total * 1000000")"
  [ "$subs" = 1 ] && one_sub_rate=$rate
done
stop_last  # the receiver
fi

# --- 2. publish throughput ---------------------------------------------------------------------------------------
if want 2; then
echo
echo "2. publish throughput through the API (202 after fsync; one subscription whose receiver is down)"
pub_seconds=$([ $quick = 1 ] && echo 2 || echo 10)
for batch in 1 100; do
  start "serve-pub-$batch" "$hooksim" serve --data "$work/serve-pub-$batch" --listen 127.0.0.1:0
  api=$url
  "$load" subscribe --api "$api" --count 1 --target "http://127.0.0.1:9/" >/dev/null
  "$load" publish --api "$api" --seconds "$pub_seconds" --batch "$batch" --connections 8 --prefix "p$batch" \
    >"$out/publish-throughput-$batch.json"
  stop_last
  printf '   batch %3d, 8 connections: %8.0f events/s (request p50 %.2f ms, p99 %.2f ms)\n' "$batch" \
    "$(json "$out/publish-throughput-$batch.json" events_per_s)" \
    "$(json "$out/publish-throughput-$batch.json" request_p50_ms)" \
    "$(json "$out/publish-throughput-$batch.json" request_p99_ms)"
done
fi

# --- 3. latency at half load ---------------------------------------------------------------------------------
if want 3; then
echo
one_sub_rate=${one_sub_rate:-${HOOKSIM_BENCH_ONE_SUB_RATE:-5000}}  # section 1 measures it
half=$(printf '%.0f' "$(calc "$one_sub_rate / 2")")
echo "3. publish-to-delivery latency, one event per publish request at $half events/s (half of the 1-subscription rate)"
start serve-lat "$hooksim" serve --data "$work/serve-lat" --listen 127.0.0.1:0
"$load" latency --api "$url" --rate "$half" --seconds "$([ $quick = 1 ] && echo 2 || echo 10)" >"$out/latency.json"
stop_last
printf '   offered %.0f/s: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n' \
  "$(json "$out/latency.json" offered_per_s)" "$(json "$out/latency.json" p50_ms)" \
  "$(json "$out/latency.json" p90_ms)" "$(json "$out/latency.json" p99_ms)" "$(json "$out/latency.json" max_ms)"
fi

# --- 4. simulation speed ---------------------------------------------------------------------------------------
if want 4; then
echo
echo "4. simulation speed (hooksim simulate, virtual clock, queues in memory)"
for sc in bench/scenarios/*.json; do
  "$hooksim" simulate "$sc" >"$out/simulate-$(basename "$sc" .json).json"
  f=$out/simulate-$(basename "$sc" .json).json
  attempts=$(json "$f" attempts)
  wall_ms=$(json "$f" wall_ms)
  printf '   %-28s %9d events, %9d attempts in %6.2f s wall = %9.0f attempts/s\n' "$(basename "$sc" .json)" \
    "$(json "$f" events_published)" "$attempts" "$(calc "$wall_ms / 1000")" \
    "$(calc "$attempts * 1000 / ($wall_ms + 0.001)")"
done
fi

# --- 5. memory and restart -------------------------------------------------------------------------------------
if want 5; then
echo
subs=$([ $quick = 1 ] && echo 10000 || echo 100000)
per=$([ $quick = 1 ] && echo 10 || echo 100)
echo "5. $subs subscriptions x $per queued events: RSS of serve and restart to first delivery"
port=$("$load" free-port)
"$load" fill --data "$work/big" --subs "$subs" --per-sub "$per" --target "http://127.0.0.1:$port/" >"$out/fill.json"
printf '   filled %d events (%.1f MiB of envelopes) in %.1f s; store on disk: %s\n' "$(json "$out/fill.json" events)" \
  "$(calc "$(json "$out/fill.json" body_bytes) / 1048576")" "$(json "$out/fill.json" seconds)" \
  "$(du -sh "$work/big" | cut -f1)"
# 1: the filled store (closed cleanly); stopped with SIGKILL. 2: after that crash (RocksDB replays its log);
# stopped with SIGTERM. 3: after a clean shutdown.
for run in 1 2 3; do
  crash=$([ $run = 1 ] && echo --crash || true)
  "$load" restart --hooksim "$hooksim" --data "$work/big" --port "$port" --seconds 8 $crash >"$out/restart-$run.json"
  printf '   start %d (%s): first delivery after %.0f ms; RSS peak %.0f MiB; %d delivered in 8 s\n' "$run" \
    "$(case $run in 1) echo "filled store" ;; 2) echo "after SIGKILL" ;; 3) echo "after SIGTERM" ;; esac)" \
    "$(json "$out/restart-$run.json" first_delivery_ms)" "$(json "$out/restart-$run.json" rss_peak_mib)" \
    "$(json "$out/restart-$run.json" delivered)"
done
fi

# --- 6. publish at scale ----------------------------------------------------------------------------------------
if want 6; then
echo
many=$([ $quick = 1 ] && echo 10000 || echo 100000)
echo "6. publish throughput by number of subscriptions (one vehicle each; each event matches one; batches of 100"
echo "   over 4 connections for 10 s; 202 after fsync; delivery to hooksim receiver running)"
start receiver-6 "$hooksim" receiver --listen 127.0.0.1:0
receiver=$url
for subs in 100 "$many"; do
  "$load" fill --data "$work/scale-$subs" --subs "$subs" --per-sub 0 --target "$receiver/" >/dev/null
  start "serve-scale-$subs" "$hooksim" serve --data "$work/scale-$subs" --listen 127.0.0.1:0
  "$load" publish --api "$url" --seconds "$([ $quick = 1 ] && echo 2 || echo 10)" --batch 100 --connections 4 \
    --vehicles "$subs" --prefix "s$subs" >"$out/publish-scale-$subs.json"
  stop_last
  printf '   %6d subscriptions: %8.0f events/s (request p50 %.2f ms, p99 %.2f ms)\n' "$subs" \
    "$(json "$out/publish-scale-$subs.json" events_per_s)" "$(json "$out/publish-scale-$subs.json" request_p50_ms)" \
    "$(json "$out/publish-scale-$subs.json" request_p99_ms)"
done
stop_last  # the receiver
printf '   %d vs 100 subscriptions: %.2f x the events/s, %.2f x the request p99\n' "$many" \
  "$(calc "$(json "$out/publish-scale-$many.json" events_per_s) / $(json "$out/publish-scale-100.json" events_per_s)")" \
  "$(calc "$(json "$out/publish-scale-$many.json" request_p99_ms) / $(json "$out/publish-scale-100.json" request_p99_ms)")"
fi

# --- 7. one large event to many subscriptions -------------------------------------------------------------------
if want 7; then
echo
n=$([ $quick = 1 ] && echo 50 || echo 500)
echo "7. one 3 MiB event to $n subscriptions (serve, RocksDB): time to 202, peak RSS, store growth"
bench/large-body.sh - "$bdir" 1 "$n" 3 | sed 's/^/   /'
fi

echo
echo "raw results: $out/"
