#!/usr/bin/env bash
# Runs the pytest functional suite with Debian's Python (python3 on PATH may
# be another one without pytest). No tests collected is not a failure.
set -u
if ! ls test/functional/test_*.py >/dev/null 2>&1; then
  echo "functional: no tests yet"
  exit 0
fi
/usr/bin/python3 -m pytest -q test/functional
rc=$?
[ $rc -eq 5 ] && rc=0
exit $rc
