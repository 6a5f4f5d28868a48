#!/usr/bin/env bash
# Runs the deterministic consensus simulator over many seeds and every
# profile, two processes at a time (seeds run in-process: no startup cost per
# seed), then the over-threshold check, which must FAIL with an agreement
# violation (the checker can catch a fork).
#
#   scripts/run-sim.sh <tc-sim> [SEEDS]     SEEDS in total (default 250)
#
# Ends with "sim: N passed, N failed" (seeds, plus one per over-threshold
# configuration and one for the amnesia self-test) and exits non-zero on any failure. A failing seed's line says
# how to replay it.
set -u
sim=${1:?usage: run-sim.sh <tc-sim> [SEEDS]}
total=${2:-250}
[ "$total" -ge 10 ] 2>/dev/null || { echo "run-sim: SEEDS must be a number >= 10" >&2; exit 2; }
tmp=$(mktemp -d /tmp/tc-sim.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)

# profile, validators, byzantine; each profile gets total/5 seeds in two halves
profiles=("none 4..10 0" "lossy 4..10 0" "partition 4..10 0" "crash-restart 4..10 0"
          "byzantine 4..10 max")
per=$((total / 5)); half=$((per / 2))
njobs=0
for ((p = 0; p < ${#profiles[@]}; p++)); do
  set -- ${profiles[$p]}
  base=$(( (p + 1) * 1000000 ))
  for part in 0 1; do
    if [ $part -eq 0 ]; then lo=$((base + 1)); hi=$((base + half)); else lo=$((base + half + 1)); hi=$((base + per)); fi
    [ $hi -ge $lo ] || continue
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
    ( "$sim" --seeds "$lo..$hi" --validators "$2" --byzantine "$3" --heights 10 --profile "$1" \
        >"$tmp/job$njobs.out" 2>&1 ) &
    echo "$lo..$hi $1" >"$tmp/job$njobs.what"
    njobs=$((njobs + 1))
  done
done
wait

passed=0; failed=0
for ((i = 0; i < njobs; i++)); do
  cat "$tmp/job$i.out"
  line=$(grep '^tc-sim: profile=' "$tmp/job$i.out" | tail -n 1)
  p=$(printf '%s\n' "$line" | sed -n 's/.* passed=\([0-9]*\).*/\1/p')
  f=$(printf '%s\n' "$line" | sed -n 's/.* failed=\([0-9]*\).*/\1/p')
  if [ -z "$p" ]; then
    read -r range _ <"$tmp/job$i.what"
    echo "run-sim: seeds $(cat "$tmp/job$i.what") did not finish" >&2
    failed=$((failed + ${range#*..} - ${range%..*} + 1))
  else
    passed=$((passed + p)); failed=$((failed + f))
  fi
done

# Over the threshold: Byzantine validators holding 1/2, 3/7 and 4/10 of the
# weight split the honest ones. On every seed the checker must report an
# agreement violation (tc-sim exits 1); each configuration counts as one check.
for cfg in "4 2" "7 3" "10 4"; do
  set -- $cfg
  out=$("$sim" --seeds 1..20 --validators "$1" --byzantine "$2" --heights 10 --profile fork 2>&1); rc=$?
  caught=$(printf '%s\n' "$out" | grep -c 'violation: .* agreement:')
  if [ $rc -eq 1 ] && [ "$caught" -eq 20 ]; then
    echo "sim: over-threshold $2 of $1 Byzantine: agreement violation caught on 20/20 seeds, as it must"
    passed=$((passed + 1))
  else
    printf '%s\n' "$out" | tail -n 3
    echo "sim: over-threshold $2 of $1 Byzantine: checker caught $caught/20 (rc $rc)" >&2
    failed=$((failed + 1))
  fi
done

# Checker self-test: restarted nodes forget their sign state (--amnesia). Some
# of them then sign conflicting votes, and the checker must say so.
out=$("$sim" --seeds 1..100 --validators 4..7 --heights 10 --profile crash-restart --amnesia 2>&1)
caught=$(printf '%s\n' "$out" | grep -c 'violation: .* honest double-sign')
if [ "$caught" -gt 0 ]; then
  echo "sim: amnesia self-test: honest double-sign caught on $caught/100 seeds (sign log off)"
  passed=$((passed + 1))
else
  echo "sim: amnesia self-test: no double-sign caught on 100 seeds" >&2
  failed=$((failed + 1))
fi

echo "sim: $(( $(date +%s) - start ))s wall"
echo "sim: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
