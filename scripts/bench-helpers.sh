# Shell helpers shared by the benchmark scripts (scripts/bench.sh, bench/cluster.sh); sourced, not run.
# They read the repository root as the working directory.

# calc EXPR: floating-point arithmetic (awk is on every Debian; bc is not).
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
# cpu_ticks PID: user + system CPU time the process has used so far, in clock ticks (/proc/PID/stat fields
# 14 and 15; the command name in field 2 has no spaces here).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks=$(getconf CLK_TCK)
# json FILE KEY: the first number named KEY in a JSON file (no jq on a fresh machine).
json() { grep -o "\"$2\": *[-0-9.e+]*" "$1" | head -1 | sed 's/.*: *//'; }
