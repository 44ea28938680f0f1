#!/usr/bin/env bash
# Enforces the layering of docs/design.md ("Layers") on the production sources, from their #include lines,
# and a few rules that keep the layers honest. Prints every violation as FILE:LINE: why, and exits 1 if
# there is any. Run by .ci/run; takes well under a second.
#   scripts/check-layers.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Which project folders each production folder may include (besides itself). A folder missing from this
# table is an error: a new folder must be placed in the layering first.
declare -A may_include=(
  [util]=""
  [engine]=""
  [protocol]="engine util"
  [storage]="engine protocol util"
  [net]="engine protocol util"
  [receiver]="engine protocol net util"
  [sim]="engine protocol util"
  [check]="engine protocol net util"
  [service]="engine protocol storage net util"
  [cluster]="engine protocol storage net service util"
  [cli]="engine protocol storage net receiver sim check service cluster util"
)
# System libraries a folder must not include (a prefix of the <...> path).
declare -A forbidden_system=(
  [util]="boost/ curl/ rocksdb/ openssl/ nlohmann/ fmt/"
  [engine]="boost/ curl/ rocksdb/ openssl/ nlohmann/"
  [protocol]="boost/ curl/ rocksdb/"
  [storage]="boost/ curl/"
  [sim]="boost/ curl/"
  [check]="boost/ rocksdb/"
)
project_dirs=$(printf '%s ' "${!may_include[@]}")
max_lines=700

failures=0
fail() {
  echo "$1" >&2
  failures=$((failures + 1))
}

# Every top-level folder holding C++ sources is either production (in the table) or known not to be.
for dir in $(git ls-files -- '*.cpp' '*.h' | cut -d/ -f1 | sort -u); do
  case $dir in
    tests | bench | fuzz) ;;
    *) [[ -v may_include[$dir] ]] || fail "$dir/: a folder of C++ sources that is not in scripts/check-layers.sh (and docs/design.md)" ;;
  esac
done

mapfile -t files < <(for dir in $project_dirs; do git ls-files -- "$dir/*.cpp" "$dir/*.h"; done)

# One pass over every production file: includes against the table, curl in headers (only in net/curl_easy.h,
# which only net/'s .cpp files include, so that curl reaches no folder outside net/), the wire format's
# header names outside protocol/.
rules=$(for dir in $project_dirs; do echo "$dir|${may_include[$dir]}|${forbidden_system[$dir]:-}"; done)
while IFS= read -r violation; do
  fail "$violation"
done < <(awk -v rules="$rules" '
  BEGIN {
    n = split(rules, lines, "\n")
    for (i = 1; i <= n; i++) {
      split(lines[i], f, "|")
      allowed[f[1]] = " " f[1] " " f[2] " "
      forbidden[f[1]] = f[3]
      project[f[1]] = 1
    }
  }
  {
    dir = FILENAME; sub(/\/.*/, "", dir)
  }
  /^#include "/ {
    target = $0; sub(/^#include "/, "", target); sub(/".*/, "", target)
    folder = target; sub(/\/.*/, "", folder)
    if (index(target, "/") && (folder in project) && index(allowed[dir], " " folder " ") == 0)
      printf "%s:%d: %s/ may not include %s (allowed:%s)\n", FILENAME, FNR, dir, target, substr(allowed[dir], length(dir) + 2)
    if (target == "net/curl_easy.h" && (dir != "net" || FILENAME ~ /\.h$/))
      printf "%s:%d: net/curl_easy.h is internal to net/: only its .cpp files include it\n", FILENAME, FNR
  }
  /^#include </ {
    target = $0; sub(/^#include </, "", target)
    m = split(forbidden[dir], prefixes, " ")
    for (i = 1; i <= m; i++)
      if (index(target, prefixes[i]) == 1) printf "%s:%d: %s/ may not include <%s...>\n", FILENAME, FNR, dir, prefixes[i]
    if (FILENAME ~ /\.h$/ && FILENAME != "net/curl_easy.h" && index(target, "curl/") == 1)
      printf "%s:%d: only net/curl_easy.h (internal to net/) may include <curl/curl.h> in a header\n", FILENAME, FNR
  }
  dir != "protocol" && tolower($0) ~ /webhook-signature|hooksim-sequence/ {
    printf "%s:%d: names a delivery header (webhook-signature / hooksim-sequence): use protocol/ constants\n", FILENAME, FNR
  }
  FNR == 1 && NR > 1 { check_length(prev_file, prev_lines) }
  { prev_file = FILENAME; prev_lines = FNR }
  END { check_length(prev_file, prev_lines) }
  function check_length(file, count) {
    if (count > '"$max_lines"') printf "%s: %d lines (a production source file has at most '"$max_lines"')\n", file, count
  }
' "${files[@]}")

# The libraries link as the folders include.
link_rule() {  # FILE TARGET FORBIDDEN_LIBRARY
  if tr '\n' ' ' <"$1" | grep -o 'target_link_libraries([^)]*)' | grep -q "$3"; then
    fail "$1: $2 must not link $3"
  fi
}
link_rule sim/CMakeLists.txt hooksim_sim hooksim_net
link_rule sim/CMakeLists.txt hooksim_sim hooksim_storage
link_rule service/CMakeLists.txt hooksim_service hooksim_sim
link_rule engine/CMakeLists.txt hooksim_engine nlohmann_json
link_rule engine/CMakeLists.txt hooksim_engine OpenSSL

if [ "$failures" -gt 0 ]; then
  echo "check-layers: $failures violation(s); the layers are described in docs/design.md" >&2
  exit 1
fi
echo "check-layers: ok (${#files[@]} files in $(echo "$project_dirs" | wc -w) folders)"
