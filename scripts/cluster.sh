#!/usr/bin/env bash
# A local hooksim cluster in one command: 3 nats-server nodes (JetStream, clustered) and 3 `hooksim serve
# --cluster` nodes, all on 127.0.0.1, on free ports, in the background.
#
# Usage:
#   scripts/cluster.sh up [--nats-only] [SERVE_ARGS...]   start it; SERVE_ARGS go to each `hooksim serve`
#                                                        (e.g. --shards 8 --lease-ttl 5s)
#   scripts/cluster.sh down                              stop it (hooksim nodes first, then NATS) and remove
#                                                        its state directory
#   scripts/cluster.sh status                            which processes are alive, and the URLs (exit
#                                                        status 0: all alive, 1: not all, 2: no cluster)
#   scripts/cluster.sh --help                            this text
#
#   --nats-only   start the 3 NATS servers only (for running hooksim nodes by hand, or a debugger): `up` prints
#                 the --cluster URLs to give them.
#
# `up` waits until every NATS server answers /healthz and the JetStream meta leader is elected
# (/healthz?js-server-only=true), then starts node-1..3 as
#   $HOOKSIM_BIN serve --cluster nats://127.0.0.1:P1,nats://127.0.0.1:P2,nats://127.0.0.1:P3 \
#     --node node-K --listen 127.0.0.1:PORT_K SERVE_ARGS...
# and waits until each answers GET /status with 200 (sent with HOOKSIM_ADMIN_TOKEN or --admin-token, if
# given). It refuses to start over a running cluster; a failed `up` stops what it started and keeps the logs.
# A fail-over by hand: kill "$(cat DIR/nats-2.pid)" (or node-2.pid), then setsid nats-server -c DIR/nats-2.conf
# brings that NATS node back with its data (`status` follows it: nats-server rewrites its pid file).
#
# Environment:
#   HOOKSIM_CLUSTER_DIR   state directory: configs, JetStream stores, logs, pid files
#                         (default ${TMPDIR:-/tmp}/hooksim-cluster)
#   HOOKSIM_BIN           the hooksim binary (default ${HOOKSIM_BUILD_DIR:-build}/cli/hooksim, built first
#                         with scripts/build.sh --target hooksim)
#   HOOKSIM_NATS_SERVER   the nats-server binary (default: nats-server on PATH or in /usr/sbin)
#
# Ports are picked at random from 20000-29999 (below Linux's ephemeral range) among those no socket uses
# (/proc/net/tcp*). The NATS configs are rendered from scripts/cluster/nats-node.conf.in.
set -euo pipefail
here=$PWD
cd "$(dirname "$0")/.."

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() {
  echo "cluster: $*" >&2
  exit 1
}
absolute() { case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac }

state=$(absolute "${HOOKSIM_CLUSTER_DIR:-${TMPDIR:-/tmp}/hooksim-cluster}")
marker=$state/cluster.env  # written by `up`: what `status` and `down` read
nodes=(1 2 3)
up_limit=20 # seconds for each wait

# --- processes ---

# alive PIDFILE [NAME]: the pid in PIDFILE is a running process and, if NAME is given, runs NAME (one of its
# first three arguments is NAME or ends in /NAME: a script's interpreter comes first), so that a pid reused
# by another program after the cluster's processes are gone is not taken for one of them.
alive() {
  local pid arg i=0
  [ -s "$1" ] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  [ -z "${2:-}" ] && return 0
  while IFS= read -r -d '' arg && [ $((i++)) -lt 3 ]; do
    [ "${arg##*/}" = "$2" ] && return 0
  done 2>/dev/null <"/proc/$pid/cmdline"
  return 1
}

# terminate NAME PIDFILE...: SIGTERM to each of these processes (if it is a running NAME; any process if NAME
# is empty), then waits until they have all ended (SIGKILL to those still running after 30 s).
terminate() {
  local name=$1 pidfile pid pids=() i left
  shift
  for pidfile in "$@"; do
    alive "$pidfile" "$name" || continue
    pid=$(<"$pidfile")
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for ((i = 0; i < 300; i++)); do
    left=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
    [ ${#left[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  echo "cluster: ${name:-process} (pid ${left[*]}) still running 30 s after SIGTERM; SIGKILL" >&2
  kill -KILL "${left[@]}" 2>/dev/null || true
}

any_alive() {
  local n
  for n in "${nodes[@]}"; do
    alive "$state/nats-$n.pid" nats-server && return 0
    alive "$state/node-$n.pid" "$hooksim_name" && return 0
  done
  return 1
}

# stop_all checked|ours: the hooksim nodes first (they may still write to NATS as they stop), then the NATS
# servers. ours: every pid in the pid files was started by this run of the script (no check of the program:
# it may not have exec'ed yet); checked: only processes that run hooksim or nats-server.
stop_all() {
  local n hooksim=() nats=() hooksim_check=$hooksim_name nats_check=nats-server
  [ "$1" = ours ] && hooksim_check="" && nats_check=""
  for n in "${nodes[@]}"; do
    hooksim+=("$state/node-$n.pid")
    nats+=("$state/nats-$n.pid")
  done
  terminate "$hooksim_check" "${hooksim[@]}"
  terminate "$nats_check" "${nats[@]}"
}

# --- HTTP, without curl: bash's /dev/tcp ---

# http_status PORT PATH [TOKEN]: the status code of GET http://127.0.0.1:PORT/PATH (with the bearer TOKEN),
# 000 if nothing answers.
http_status() (
  exec 3<>"/dev/tcp/127.0.0.1/$1" || {
    echo 000
    exit 0
  }
  auth=""
  [ -n "${3:-}" ] && auth="Authorization: Bearer $3"$'\r\n'
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s\r\n' "$2" "$auth" >&3
  code=""
  IFS=' ' read -r -t 5 _ code _ <&3 || true
  code=${code%$'\r'}
  if [[ $code =~ ^[0-9]{3}$ ]]; then echo "$code"; else echo 000; fi
) 2>/dev/null

# wait_http WHAT PIDFILE PORT PATH [TOKEN]: until GET answers 200; fails early if the process ends.
wait_http() {
  local what=$1 pidfile=$2 port=$3 path=$4 token=${5:-} deadline=$((SECONDS + up_limit))
  while [ "$(http_status "$port" "$path" "$token")" != 200 ]; do
    alive "$pidfile" || {
      echo "cluster: $what exited" >&2
      return 1
    }
    [ $SECONDS -lt $deadline ] || {
      echo "cluster: $what: no 200 from http://127.0.0.1:$port$path within ${up_limit}s" >&2
      return 1
    }
    sleep 0.05
  done
}

# --- ports ---

# free_ports N: N distinct ports in 20000-29999 that no TCP socket uses now (a port that shows up in
# /proc/net/tcp* as either end of a socket is skipped).
free_ports() {
  local port picked=" " count=0 tries=0
  while [ $count -lt "$1" ]; do
    ((++tries < 1000)) || die "no free ports in 20000-29999"
    port=$((20000 + RANDOM % 10000))
    [[ $picked == *" $port "* ]] && continue
    grep -qi ":$(printf '%04X' "$port") " /proc/net/tcp /proc/net/tcp6 2>/dev/null && continue
    picked+="$port "
    echo "$port"
    count=$((count + 1))
  done
}

# sed_escape TEXT: TEXT as a literal sed replacement (delimiter |).
sed_escape() { printf '%s' "$1" | sed 's/[\\|&]/\\&/g'; }

nats_binary() {
  if [ -n "${HOOKSIM_NATS_SERVER:-}" ]; then
    [ -x "$HOOKSIM_NATS_SERVER" ] || die "HOOKSIM_NATS_SERVER=$HOOKSIM_NATS_SERVER is not executable"
    echo "$HOOKSIM_NATS_SERVER"
  elif command -v nats-server >/dev/null; then
    command -v nats-server
  else
    local d
    for d in /usr/sbin /usr/local/sbin /sbin; do
      [ -x "$d/nats-server" ] && echo "$d/nats-server" && return
    done
    return 1
  fi
}

if [ -n "${HOOKSIM_BIN:-}" ]; then
  hooksim_bin=$(absolute "$HOOKSIM_BIN")
else
  hooksim_bin=$PWD/${HOOKSIM_BUILD_DIR:-build}/cli/hooksim
fi
hooksim_name=${hooksim_bin##*/}
# The binary of the cluster in $state (status, down and the running check of up use it).
if [ -f "$marker" ]; then
  recorded=$(sed -n 's/^hooksim_bin=//p' "$marker")
  [ -z "$recorded" ] || hooksim_name=${recorded##*/}
fi

# --- commands ---

up() {
  local nats_only=0
  [ "${1:-}" = "--nats-only" ] && nats_only=1 && shift
  local serve_args=("$@") token=${HOOKSIM_ADMIN_TOKEN:-} i
  for ((i = 0; i < ${#serve_args[@]}; i++)); do
    case ${serve_args[i]} in
      --admin-token) token=${serve_args[i + 1]:-} ;;
      --admin-token=*) token=${serve_args[i]#--admin-token=} ;;
    esac
  done

  if [ -e "$state" ]; then
    [ -f "$marker" ] || die "$state exists and is not a cluster's state directory; set HOOKSIM_CLUSTER_DIR"
    any_alive && die "a cluster is already running in $state (scripts/cluster.sh status; scripts/cluster.sh down)"
    echo "cluster: removing the stale state of a cluster that is no longer running ($state)" >&2
    rm -rf "$state"
  fi
  hooksim_name=${hooksim_bin##*/}

  scripts/setup.sh
  local nats
  nats=$(nats_binary) || die "no nats-server (scripts/setup.sh installs it)"
  if [ $nats_only -eq 0 ]; then
    if [ -z "${HOOKSIM_BIN:-}" ]; then
      echo "cluster: building hooksim (scripts/build.sh --target hooksim)" >&2
      scripts/build.sh --target hooksim >/dev/null
    fi
    [ -x "$hooksim_bin" ] || die "no hooksim binary at $hooksim_bin (HOOKSIM_BIN)"
  fi

  mkdir -p "$state"
  local ports
  mapfile -t ports < <(free_ports 12)
  [ ${#ports[@]} -eq 12 ] || die "could not pick ports"
  local client=() route=() monitor=() http=() n
  for n in "${nodes[@]}"; do
    client[n]=${ports[(n - 1) * 4]}
    route[n]=${ports[(n - 1) * 4 + 1]}
    monitor[n]=${ports[(n - 1) * 4 + 2]}
    http[n]=${ports[(n - 1) * 4 + 3]}
  done
  local urls="" m
  for n in "${nodes[@]}"; do urls+="${urls:+,}nats://127.0.0.1:${client[n]}"; done
  {
    echo "# scripts/cluster.sh up, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nats_urls=$urls"
    echo "nats_only=$nats_only"
    echo "hooksim_bin=$hooksim_bin"
    for n in "${nodes[@]}"; do
      echo "nats_$n=nats://127.0.0.1:${client[n]} monitor=http://127.0.0.1:${monitor[n]}"
      [ $nats_only -eq 1 ] || echo "node_$n=http://127.0.0.1:${http[n]}"
    done
  } >"$marker"

  # A failure from here on stops what was started and keeps the logs.
  trap 'echo "cluster: up failed; logs in $state (scripts/cluster.sh down removes it)" >&2; stop_all ours' EXIT

  for n in "${nodes[@]}"; do
    local routes=""
    for m in "${nodes[@]}"; do
      [ "$m" = "$n" ] || routes+="${routes:+, }nats-route://127.0.0.1:${route[m]}"
    done
    sed -e "s|@NAME@|nats-$n|g" \
      -e "s|@CLIENT_PORT@|${client[n]}|g" \
      -e "s|@MONITOR_PORT@|${monitor[n]}|g" \
      -e "s|@CLUSTER_PORT@|${route[n]}|g" \
      -e "s|@CLUSTER_NAME@|hooksim-local|g" \
      -e "s|@ROUTES@|$routes|g" \
      -e "s|@STORE_DIR@|$(sed_escape "$state/nats-$n")|g" \
      -e "s|@PID_FILE@|$(sed_escape "$state/nats-$n.pid")|g" \
      scripts/cluster/nats-node.conf.in >"$state/nats-$n.conf"
    ! grep -q '@[A-Z_]*@' "$state/nats-$n.conf" || die "unsubstituted placeholder in $state/nats-$n.conf"
    # setsid: the servers outlive this script and a Ctrl-C in its terminal.
    setsid "$nats" -c "$state/nats-$n.conf" </dev/null >"$state/nats-$n.log" 2>&1 &
    # nats-server writes it too (pid_file), so it stays right for a node restarted by hand with -c.
    echo $! >"$state/nats-$n.pid"
  done
  local start=$SECONDS
  for n in "${nodes[@]}"; do
    wait_http "nats-$n (log $state/nats-$n.log)" "$state/nats-$n.pid" "${monitor[n]}" \
      "/healthz?js-enabled-only=true" || { tail -n 20 "$state/nats-$n.log" >&2; false; }
  done
  for n in "${nodes[@]}"; do
    wait_http "nats-$n: JetStream meta leader" "$state/nats-$n.pid" "${monitor[n]}" \
      "/healthz?js-server-only=true" || { tail -n 20 "$state/nats-$n.log" >&2; false; }
  done
  echo "cluster: NATS JetStream cluster ready in $((SECONDS - start)) s" >&2

  if [ $nats_only -eq 0 ]; then
    for n in "${nodes[@]}"; do
      setsid "$hooksim_bin" serve --cluster "$urls" --node "node-$n" --listen "127.0.0.1:${http[n]}" \
        "${serve_args[@]}" </dev/null >"$state/node-$n.log" 2>&1 &
      echo $! >"$state/node-$n.pid"
    done
    for n in "${nodes[@]}"; do
      wait_http "node-$n (log $state/node-$n.log)" "$state/node-$n.pid" "${http[n]}" /status \
        "$token" || { tail -n 20 "$state/node-$n.log" >&2; false; }
    done
  fi
  trap - EXIT

  echo "cluster: up (state, logs: $state; scripts/cluster.sh down stops it)"
  echo "  NATS (--cluster): $urls"
  for n in "${nodes[@]}"; do
    echo "  nats-$n: nats://127.0.0.1:${client[n]}  monitor http://127.0.0.1:${monitor[n]}" \
      " pid $(<"$state/nats-$n.pid")  log $state/nats-$n.log"
  done
  [ $nats_only -eq 1 ] && return 0
  for n in "${nodes[@]}"; do
    echo "  node-$n: http://127.0.0.1:${http[n]}  pid $(<"$state/node-$n.pid")  log $state/node-$n.log"
  done
}

down() {
  if [ ! -f "$marker" ]; then
    echo "cluster: no cluster in $state"
    return 0
  fi
  stop_all checked
  rm -rf "$state"
  echo "cluster: down"
}

status() {
  [ -f "$marker" ] || {
    echo "cluster: no cluster in $state"
    return 2
  }
  local all=0 n url pidfile name program
  echo "cluster: $state"
  echo "  NATS (--cluster): $(sed -n 's/^nats_urls=//p' "$marker")"
  for name in nats node; do
    for n in "${nodes[@]}"; do
      pidfile=$state/$name-$n.pid
      url=$(sed -n "s/^${name}_$n=//p" "$marker" | sed 's/ monitor=/  monitor /')
      [ -n "$url" ] || continue
      program=$hooksim_name
      [ $name = nats ] && program="nats-server"
      if alive "$pidfile" "$program"; then
        echo "  $name-$n: running (pid $(<"$pidfile"))  $url"
      else
        echo "  $name-$n: NOT RUNNING  $url  (log $state/$name-$n.log)"
        all=1
      fi
    done
  done
  return $all
}

case ${1:-} in
  up) shift && up "$@" ;;
  down) down ;;
  status) status ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac
