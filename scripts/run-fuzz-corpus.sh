#!/usr/bin/env bash
# Runs each libFuzzer harness once over every file of its seed corpus
# (fuzz/corpus/<harness>/). A crash, leak or sanitizer report fails the run.
set -u
pass=0; fail=0
for h in "$@"; do
  name=$(basename "$h")
  dir=fuzz/corpus/$name
  if [ ! -d "$dir" ] || [ -z "$(ls -A "$dir")" ]; then
    echo "fuzz: $name has no seed corpus in $dir" >&2; fail=$((fail + 1)); continue
  fi
  if "$h" -runs=0 "$dir"/* >/tmp/tc-fuzz-$$.log 2>&1; then
    pass=$((pass + 1))
  else
    echo "fuzz: $name failed on its corpus:" >&2; tail -n 30 /tmp/tc-fuzz-$$.log >&2
    fail=$((fail + 1))
  fi
done
rm -f /tmp/tc-fuzz-$$.log
echo "fuzz corpora: $pass passed, $fail failed"
[ $fail -eq 0 ]
