#!/usr/bin/env bash
# Runs each cmocka test program; cmocka prints its own summary on stderr.
# Ends with one "unit: N passed, N failed" line over all programs' test cases.
set -u
build=$1; shift
pass=0; fail=0; failed_bins=()
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out"
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
  if [ $rc -ne 0 ]; then
    failed_bins+=("$(basename "$t")")
    [ -z "$f" ] && fail=$((fail + 1))
  fi
done
[ ${#failed_bins[@]} -gt 0 ] && echo "failing programs ($build): ${failed_bins[*]}" >&2
echo "unit: $pass passed, $fail failed"
[ ${#failed_bins[@]} -eq 0 ]
