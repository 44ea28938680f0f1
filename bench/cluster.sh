#!/usr/bin/env bash
# Cluster mode on one machine (bench/README.md, "Cluster"): delivery throughput, publish latency and CPU per
# delivery of `hooksim serve --cluster` with 1, 2 and 3 nodes on a 3-server NATS JetStream cluster
# (--replicas 3 in every case), and of a single `hooksim serve --data` under the same load, in one run.
#
# The load, per configuration: one `hooksim receiver` (shared by the whole run), SUBS subscriptions created
# through the first node with `hooksim_load subscribe --per-vehicle` (subscription i takes only vehicle v-i),
# then SUBS x EVENTS events published with `hooksim_load publish --vehicles SUBS` (vehicles cycled: each event
# goes to exactly one subscription, EVENTS to each), in batches of BATCH events over CONNECTIONS keep-alive
# connections in all, spread evenly over the nodes (one `hooksim_load publish` per node, CONNECTIONS / nodes
# connections each, EVENTS / nodes events per subscription each, the last node taking the remainder).
# FANOUT=all instead: no filters, EVENTS events in all, each to every subscription (SUBS x EVENTS deliveries
# again, but only EVENTS publishes: the delivery path with next to no publishing).
#   deliveries/s  SUBS x EVENTS / (first publish -> every subscription's "delivered" at EVENTS). Polled every
#                 0.05 s on GET /v1/subscriptions of every node at once, each subscription counted at its
#                 largest figure among the nodes: its owner's, which is exact (other nodes show the
#                 progress bucket's copy, which follows by a watch).
#   publish       events/s acknowledged (all events / the slowest publisher's time), and each publisher's
#                 request p50 / p99 (a POST /v1/events of BATCH events, to the 202), the nodes' side by side.
#   CPU           user + system of the hooksim processes (summed over the nodes) and of the three
#                 nats-servers, from /proc/PID/stat, first publish -> last delivery, per delivery.
# A fresh NATS cluster (scripts/cluster.sh up --nats-only, in the work directory) for each cluster
# configuration; its nodes are started here (--shards SHARDS --replicas 3), and the load starts once every
# shard is owned and the shards are balanced (at most ceil(SHARDS / nodes) per node) and every node lists
# the SUBS subscriptions.
#
# Usage: bench/cluster.sh [ROUNDS] [SUBS] [EVENTS] [CONFIGS]
#   bench/cluster.sh 2 100 100 "serve 1 2 3"     (the defaults: ROUNDS 1, SUBS 100, EVENTS 100)
# CONFIGS: "serve" (single node, RocksDB, fsync before 202) and/or node counts 1..3.
# Environment: HOOKSIM_BIN (default build/cli/hooksim), HOOKSIM_LOAD (default: bench/hooksim_load next to
# HOOKSIM_BIN's cli/), BATCH (50), CONNECTIONS (6), SHARDS (16), REPLICAS (3), TIMEOUT (seconds to wait for
# the deliveries of one configuration, 150), HOOKSIM_BENCH_OUT (raw JSON, node and NATS logs; default
# out/cluster/).
set -euo pipefail
here=$PWD
cd "$(dirname "$0")/.."
absolute() { case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac }
rounds=${1:-1}; subs=${2:-100}; events=${3:-100}; configs=${4:-"serve 1 2 3"}
batch=${BATCH:-50}; conns=${CONNECTIONS:-6}; shards=${SHARDS:-16}; replicas=${REPLICAS:-3}
timeout=${TIMEOUT:-150}; fanout=${FANOUT:-one}
case $fanout in one | all) ;; *) echo "cluster.sh: FANOUT is one or all" >&2; exit 2 ;; esac
hooksim=$(absolute "${HOOKSIM_BIN:-build/cli/hooksim}")
load=$(absolute "${HOOKSIM_LOAD:-$(dirname "$(dirname "$hooksim")")/bench/hooksim_load}")
[ -x "$hooksim" ] || { echo "cluster.sh: no hooksim at $hooksim (HOOKSIM_BIN)" >&2; exit 2; }
[ -x "$load" ] || { echo "cluster.sh: no hooksim_load at $load (HOOKSIM_LOAD)" >&2; exit 2; }
command -v jq >/dev/null || { echo "cluster.sh: needs jq" >&2; exit 2; }
out=$(absolute "${HOOKSIM_BENCH_OUT:-out/cluster}")/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/hooksim-bench-cluster-XXXXXX")
total=$((subs * events))

pids=()  # every process started here that may still run (the NATS servers are scripts/cluster.sh's)
nats_dir=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "$nats_dir" ] || HOOKSIM_CLUSTER_DIR=$nats_dir scripts/cluster.sh down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# calc, cpu_ticks, ticks, json
. scripts/bench-helpers.sh
# launch NAME CMD...: runs CMD in the background (its output in $out/NAME.out, .err); sets $pid.
# wait_url NAME PID: waits for NAME's "listening on URL" line; sets $url.
# start NAME CMD...: both.
launch() {
  local name=$1
  shift
  "$@" >"$out/$name.out" 2>"$out/$name.err" &
  pid=$!
  pids+=("$pid")
}
wait_url() {
  for _ in $(seq 1 1500); do
    url=$(grep -o 'http://[0-9.:]*' "$out/$1.out" 2>/dev/null | head -1 || true)
    [ -n "$url" ] && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.02
  done
  echo "cluster.sh: $1 did not start:" >&2
  cat "$out/$1.err" >&2
  exit 1
}
start() {
  launch "$@"
  wait_url "$1" "$pid"
}
stop() {  # PID...: SIGTERM, then wait (a cluster node hands its shards over)
  local p
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
  local keep=() q
  for q in "${pids[@]}"; do [[ " $* " == *" $q "* ]] || keep+=("$q"); done
  pids=("${keep[@]}")
}
sum_cpu() { local s=0 p; for p in "$@"; do s=$((s + $(cpu_ticks "$p"))); done; echo $s; }
# delivered URL...: "SUM MIN COUNT": each subscription's largest "delivered" among the nodes' GET
# /v1/subscriptions, summed, its minimum, and how many subscriptions (a node that does not answer is left
# out of this poll).
delivered() {
  local u args=()
  for u in "$@"; do args+=("$u/v1/subscriptions"); done
  curl -s --max-time 5 "${args[@]}" 2>/dev/null |
    jq -rs '[.[].subscriptions[]?] | group_by(.id) | map(map(.delivered) | max)
            | "\(add // 0) \(if length == 0 then 0 else min end) \(length)"' 2>/dev/null || echo "0 0 0"
}

echo "hooksim cluster benchmark, $(date -u +%FT%TZ), $(nproc) cores, commit $(git rev-parse --short HEAD)"
echo "binary $hooksim ($(date -u -r "$hooksim" +%FT%TZ)); nats-server $(nats-server --version 2>/dev/null | sed 's/.* v//')"
if [ "$fanout" = one ]; then
  echo "load: $subs subscriptions x $events events = $total events, each to one subscription (filter by vehicle);"
else
  echo "load: $subs subscriptions x $events events = $events events, each to every subscription (no filter);"
fi
echo "      batches of $batch over $conns connections spread over the nodes; $shards shards, --replicas $replicas"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw output and logs: $out"

start receiver "$hooksim" receiver --listen 127.0.0.1:0
receiver=$url

results=()
one() {  # ROUND CONFIG
  local round=$1 cfg=$2 tag="r$1-$2" apis=() hpids=() npids=() k nodes la0
  la0=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$cfg" = serve ]; then
    nodes=1
    start "$tag-serve" "$hooksim" serve --data "$work/$tag-data" --listen 127.0.0.1:0
    apis=("$url"); hpids=("$pid")
  else
    nodes=$cfg
    nats_dir=$work/$tag-nats
    HOOKSIM_CLUSTER_DIR=$nats_dir scripts/cluster.sh up --nats-only >"$out/$tag-nats-up.txt" 2>&1 ||
      { cat "$out/$tag-nats-up.txt" >&2; exit 1; }
    local nats_urls
    nats_urls=$(sed -n 's/^nats_urls=//p' "$nats_dir/cluster.env")
    for k in 1 2 3; do npids+=("$(<"$nats_dir/nats-$k.pid")"); done
    # All at once: a node that starts alone takes every shard and hands one back per lease round.
    for ((k = 1; k <= nodes; k++)); do
      launch "$tag-node-$k" "$hooksim" serve --cluster "$nats_urls" --node "node-$k" --listen 127.0.0.1:0 \
        --shards "$shards" --replicas "$replicas"
      hpids+=("$pid")
    done
    for ((k = 1; k <= nodes; k++)); do
      wait_url "$tag-node-$k" "${hpids[k - 1]}"
      apis+=("$url")
    done
    # Every shard owned, at most ceil(S / nodes) per node, by `nodes` different nodes.
    local t_up=$SECONDS balanced=""
    while [ $((SECONDS - t_up)) -lt 60 ]; do
      balanced=$(curl -s --max-time 5 "${apis[0]}/status" | jq -r --argjson s "$shards" --argjson n "$nodes" '
        [.shards[].owner] as $o | ($o | map(select(. != null)) | group_by(.) | map(length)) as $per
        | if ($o | length) == $s and ($o | all(. != null)) and ($per | length) == $n
             and ($per | max) <= (($s + $n - 1) / $n | floor) then "yes" else "no" end' 2>/dev/null || echo no)
      [ "$balanced" = yes ] && break
      sleep 0.2
    done
    [ "$balanced" = yes ] || echo "cluster.sh: $tag: shards not balanced after 60 s" >&2
    echo "$tag: shards balanced $((SECONDS - t_up)) s after the nodes started" >>"$out/notes.txt"
  fi
  local filter=(--per-vehicle) mult=$subs
  [ "$fanout" = one ] || { filter=(); mult=1; }
  "$load" subscribe --api "${apis[0]}" --count "$subs" --target "$receiver/" "${filter[@]}" \
    >"$out/$tag-subscribe.json"
  for api in "${apis[@]}"; do  # every node knows every subscription before the first event
    for _ in $(seq 1 250); do
      [ "$(curl -s "$api/v1/subscriptions" | jq '.subscriptions | length')" = "$subs" ] && break
      sleep 0.02
    done
  done

  local h0 n0 t0 t1 h1 n1
  h0=$(sum_cpu "${hpids[@]}"); n0=$( [ ${#npids[@]} -gt 0 ] && sum_cpu "${npids[@]}" || echo 0)
  local each0=() p
  for p in "${hpids[@]}" "${npids[@]}"; do each0+=("$(cpu_ticks "$p")"); done
  t0=$EPOCHREALTIME
  local ppids=() per=$((events / nodes)) c=$((conns / nodes))
  [ $c -ge 1 ] || c=1
  for ((k = 0; k < nodes; k++)); do
    local e=$per
    [ $k -eq $((nodes - 1)) ] && e=$((events - per * (nodes - 1)))
    "$load" publish --api "${apis[k]}" --events $((e * mult)) --batch "$batch" --connections "$c" \
      --vehicles "$subs" --prefix "$tag-$k" >"$out/$tag-publish-$k.json" 2>"$out/$tag-publish-$k.err" &
    ppids+=($!)
  done
  local got="0 0 0" dsum=0 dmin=0 dcount=0 deadline=$((SECONDS + timeout))
  while :; do
    got=$(delivered "${apis[@]}")
    read -r dsum dmin dcount <<<"$got"
    echo "$EPOCHREALTIME $got" >>"$out/$tag-poll.txt"
    [ "$dmin" -ge "$events" ] && [ "$dcount" = "$subs" ] && break
    [ $SECONDS -lt $deadline ] || break
    sleep 0.05
  done
  t1=$EPOCHREALTIME
  h1=$(sum_cpu "${hpids[@]}"); n1=$( [ ${#npids[@]} -gt 0 ] && sum_cpu "${npids[@]}" || echo 0)
  # Each process's share (us per delivery); which NATS server leads the events' stream and the progress
  # bucket, and how many messages each got (the progress bucket's: its puts, all the nodes' together).
  local each="" i=0 name
  for p in "${hpids[@]}" "${npids[@]}"; do
    if [ $i -lt ${#hpids[@]} ]; then name=node-$((i + 1)); else name=nats-$((i - ${#hpids[@]} + 1)); fi
    [ "$cfg" = serve ] && name=serve
    each+="${each:+ }$name $(printf '%.0f' "$(calc "($(cpu_ticks "$p") - ${each0[i]}) / $ticks / $total * 1000000")")"
    i=$((i + 1))
  done
  if [ "$cfg" != serve ]; then
    local monitor
    monitor=$(sed -n 's/^nats_1=.*monitor=//p' "$nats_dir/cluster.env")
    each+="; $(curl -s "$monitor/jsz?accounts=true&streams=true" | jq -r '[.account_details[].stream_detail[]
      | select(.name == "HOOKSIM_EVENTS" or .name == "KV_hooksim_progress")
      | "\(.name) led by \(.cluster.leader), \(.state.last_seq) messages"] | join("; ")')"
  fi
  echo "$tag: CPU us per delivery by process: $each" >>"$out/notes.txt"
  # How long the polls' GET /v1/subscriptions took (one per node, at once) while the load ran: the API
  # runs on the thread that publishes and writes progress.
  awk -v tag="$tag" 'NR == 1 { f = $1 } { l = $1; n = NR }
    END { if (n > 1) printf "%s: %d polls, %.3f s apart on average (0.05 s of it the pause between polls)\n", tag, n, (l - f) / (n - 1) }' \
    "$out/$tag-poll.txt" >>"$out/notes.txt"
  local pub_ok=1
  for p in "${ppids[@]}"; do wait "$p" || pub_ok=0; done
  local done_n=$dsum

  # Publishers: all events / the slowest one's time; each one's request p50 / p99.
  local slowest=0 lat="" f
  for ((k = 0; k < nodes; k++)); do
    f=$out/$tag-publish-$k.json
    if [ -s "$f" ]; then
      slowest=$(calc "($(json "$f" seconds) > $slowest) ? $(json "$f" seconds) : $slowest")
      lat+="${lat:+, }$(printf '%.0f/%.0f' "$(json "$f" request_p50_ms)" "$(json "$f" request_p99_ms)")"
    else
      lat+="${lat:+, }failed"
    fi
  done
  local label
  if [ "$cfg" = serve ]; then label="serve --data"; else label="$cfg node$([ "$cfg" = 1 ] || echo s)"; fi
  local line
  if [ "$done_n" -ge "$total" ] && [ $pub_ok = 1 ]; then
    line=$(printf '%-12s %8.0f %7.2f %8.0f %6.2f  %-24s %7.1f %7.1f %7.1f  %5s' "$label" \
      "$(calc "$total / ($t1 - $t0)")" "$(calc "$t1 - $t0")" "$(calc "$events * $mult / $slowest")" "$slowest" "$lat" \
      "$(calc "($h1 - $h0) / $ticks / $total * 1000000")" "$(calc "($n1 - $n0) / $ticks / $total * 1000000")" \
      "$(calc "($h1 - $h0 + $n1 - $n0) / $ticks / $total * 1000000")" "$la0")
  else
    line=$(printf '%-12s FAILED: %s of %s delivered after %.0f s; publishers %s (%s)' "$label" "$done_n" "$total" \
      "$(calc "$t1 - $t0")" "$([ $pub_ok = 1 ] && echo ok || echo failed)" "$lat")
  fi
  line=$(printf '%5s  %s' "$round" "$line")
  echo "$line"
  results+=("$line")

  stop "${hpids[@]}"
  if [ "$cfg" != serve ]; then
    # What the nodes logged beyond taking and handing over shards.
    local odd
    odd=$(cat "$out/$tag"-node-*.err | grep -c -v -e ': took shard ' -e ': dropped shard .* (handed over)' \
      -e ': dropped shard .* (handed to a joining node)' -e 'hooksim serve: stopped' || true)
    [ "$odd" = 0 ] || echo "         $tag: $odd other lines in the nodes' logs ($out/$tag-node-*.err)"
    for k in 1 2 3; do cp "$nats_dir/nats-$k.log" "$out/$tag-nats-$k.log" 2>/dev/null || true; done
    HOOKSIM_CLUSTER_DIR=$nats_dir scripts/cluster.sh down >/dev/null
    nats_dir=""
  fi
}

header() {
  printf '%5s  %-12s %8s %7s %8s %6s  %-24s %-23s  %5s\n' "" "" "" "" "publish" "" "publish request" \
    "CPU us per delivery" "load"
  printf '%5s  %-12s %8s %7s %8s %6s  %-24s %7s %7s %7s  %5s\n' round config deliv/s drain_s events/s pub_s \
    "p50/p99 ms, per node" hooksim nats total "start"
}
echo
header
for r in $(seq "$rounds"); do
  for cfg in $configs; do one "$r" "$cfg"; done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ ! -s "$out/notes.txt" ] || cat "$out/notes.txt"
if [ ${#results[@]} -gt 1 ]; then
  echo
  header
  printf '%s\n' "${results[@]}"
fi
