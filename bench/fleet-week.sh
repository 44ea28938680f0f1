#!/usr/bin/env bash
# The fleet week, two builds side by side (bench/README.md, "Fleet week (issue 14 target 4)"):
# `hooksim simulate bench/scenarios/fleet-week.json` of build BEFORE and of build AFTER alternately, ROUNDS
# times each, timed by /usr/bin/time -v (wall, user, system, peak RSS); then each build once more with
# `--log` into a pipe to sha256sum: the two attempt logs must be the same byte for byte (they are 2.3 GB, so
# they are hashed, never written). Both are hooksim binaries of Release builds.
# Usage: bench/fleet-week.sh BEFORE_HOOKSIM AFTER_HOOKSIM [ROUNDS]
set -euo pipefail
B=$1; A=$2; rounds=${3:-3}
cd "$(dirname "$0")/.."
scenario=bench/scenarios/fleet-week.json
work=$(mktemp -d "${TMPDIR:-/tmp}/hooksim-fleet-week-XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "commit $(git rev-parse --short HEAD), $(date -u +%FT%TZ), load at start $(cut -d' ' -f1-3 /proc/loadavg)"
seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }'; }
one() { # NAME BIN
  /usr/bin/time -v "$2" simulate "$scenario" >/dev/null 2>"$work/time"
  local wall user sys rss
  wall=$(awk -F': ' '/Elapsed/ {print $2}' "$work/time" | seconds)
  user=$(awk -F': ' '/User time/ {print $2}' "$work/time")
  sys=$(awk -F': ' '/System time/ {print $2}' "$work/time")
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$work/time")
  printf '%-6s wall %6.2f s  user %6.2f s  sys %5.2f s  peak RSS %5d MiB  (load %s)\n' \
    "$1" "$wall" "$user" "$sys" "$rss" "$(cut -d' ' -f1 /proc/loadavg)"
}
for _ in $(seq "$rounds"); do
  one before "$B"
  one after "$A"
done
for which in before after; do
  bin=$B; [ $which = after ] && bin=$A
  mkfifo "$work/log"
  sha256sum <"$work/log" >"$work/$which.sha" & hp=$!
  "$bin" simulate "$scenario" --log "$work/log" >/dev/null
  wait $hp
  rm "$work/log"
  echo "$which attempt log sha256 $(cut -d' ' -f1 "$work/$which.sha")"
done
if [ "$(cut -d' ' -f1 "$work/before.sha")" = "$(cut -d' ' -f1 "$work/after.sha")" ]; then
  echo "attempt logs: the same"
else
  echo "attempt logs: DIFFER"; exit 1
fi
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
