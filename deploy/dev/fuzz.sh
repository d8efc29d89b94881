#!/usr/bin/env bash
# Runs every Go fuzz target for a bounded time each (default 10s): decoders of untrusted
# input must never panic.
#
# A real finding always writes its input under testdata/fuzz/<target>/ and fails. Go's
# fuzzing engine also fails now and then with a bare "context deadline exceeded" when
# -fuzztime ends while a worker is still minimizing (golang/go#51484, #75804): nothing is
# written and nothing reproduces. Such a run is retried once; a second one fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
time=${1:-10s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# fuzz_once runs one target; it prints "ok", "flake" or "fail" (the log is kept in $log).
fuzz_once() {
  local pkg=$1 dir=$2 target=$3 before after
  before=$(ls "$dir/testdata/fuzz/$target" 2>/dev/null | wc -l)
  if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" -fuzzminimizetime 5s "$pkg" >"$log" 2>&1; then
    echo ok
    return
  fi
  after=$(ls "$dir/testdata/fuzz/$target" 2>/dev/null | wc -l)
  if [ "$after" = "$before" ] && grep -q 'context deadline exceeded' "$log" &&
    ! grep -qiE 'failing input|panic:|_test\.go:[0-9]+:' "$log"; then
    echo flake
  else
    echo fail
  fi
}

for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz: $pkg $target ($time)"
    result=$(fuzz_once "$pkg" "$dir" "$target")
    if [ "$result" = flake ]; then
      echo "fuzz: $target stopped at its deadline without a finding (a known Go fuzzing flake); once more"
      result=$(fuzz_once "$pkg" "$dir" "$target")
    fi
    if [ "$result" != ok ]; then
      cat "$log"
      echo "fuzz: $pkg $target failed" >&2
      exit 1
    fi
  done
done
