#!/usr/bin/env bash
# Fails (exit 1) when a tracked C++ file differs from what clang-format makes of it with the repository's
# .clang-format, listing each such file. Run by .ci/run. To fix: `scripts/check-format.sh --fix`, which
# formats them in place. clang-format comes from Debian (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mapfile -t files < <(git ls-files -- '*.cpp' '*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! clang-format --dry-run --Werror "${files[@]}" 2>"$log"; then
  grep -o '^[^:]*:[0-9]*:[0-9]*' "$log" | cut -d: -f1 | sort -u | sed 's/^/check-format: not formatted: /' >&2
  echo "check-format: files differ from clang-format ($(clang-format --version)); scripts/check-format.sh --fix formats them" >&2
  exit 1
fi
echo "check-format: ok (${#files[@]} files)"
