#!/usr/bin/env bash
# Runs the deterministic consensus simulator over many seeds and every
# profile, two processes at a time (seeds run in-process: no startup cost per
# seed), then the over-threshold check, which must FAIL with an agreement
# violation (the checker can catch a fork). Then the whole-node mode
# (tc-sim --whole: real nodes over the simulated network) over WHOLE_SEEDS
# seeds (default 100) split across its profiles, a replay check (one seed
# run twice must give the same event digest), the broken-node self-test
# (a node that applies a forged block must be reported), lost sign logs
# (the sign hold prevents double signs; without it the checker sees them),
# every Byzantine kind, and the over-1/3 fork the checker must catch.
#
#   scripts/run-sim.sh <tc-sim> [SEEDS]     SEEDS in total (default 250)
#   WHOLE=1 scripts/run-sim.sh <tc-sim> [SEEDS]   the whole-node mode only, SEEDS seeds
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
passed=0; failed=0

# Prints a whole-node range's output ($1) and adds its summary line to
# passed/failed and hours; a range that did not finish counts $3 failures.
tally() {
  local line pp ff hh
  cat "$1"
  line=$(grep '^tc-sim: whole profile=' "$1" | tail -n 1)
  pp=$(printf '%s\n' "$line" | sed -n 's/.* passed=\([0-9]*\).*/\1/p')
  ff=$(printf '%s\n' "$line" | sed -n 's/.* failed=\([0-9]*\).*/\1/p')
  hh=$(printf '%s\n' "$line" | sed -n 's/.* node_hours=\([0-9.]*\).*/\1/p')
  if [ -z "$pp" ]; then
    echo "run-sim: $2 did not finish" >&2; failed=$((failed + $3))
  else
    passed=$((passed + pp)); failed=$((failed + ff)); hours=$(awk -v a="$hours" -v b="$hh" 'BEGIN { print a + b }')
  fi
}

# A checker self-test ($1): whole-node seeds 1..10 with the other arguments
# must every one end with an agreement violation (tc-sim exits 1).
must_catch() {
  local label=$1 out rc caught
  shift
  out=$("$sim" --whole --seeds 1..10 --nodes 4..7 --heights 10 "$@" 2>&1); rc=$?
  caught=$(printf '%s\n' "$out" | grep -c 'violation: .* agreement:')
  if [ $rc -eq 1 ] && [ "$caught" -eq 10 ]; then
    echo "sim: $label: agreement violation caught on 10/10 seeds, as it must"; passed=$((passed + 1))
  else
    printf '%s\n' "$out" | tail -n 3
    echo "sim: $label: checker caught $caught/10 (rc $rc)" >&2; failed=$((failed + 1))
  fi
}

# The whole-node mode: $1 seeds over the five profiles, 4..7 nodes, two
# processes at a time; then the replay and broken-node checks. Adds to
# passed/failed and prints simulated node-hours per wall-second.
run_whole() {
  local total=$1 per lo hi p j=0 t0 t1
  local wprofiles=(honest lossy crash-restart partition disk-full)
  per=$(( (total + 3) / 4 ))
  t0=$(date +%s.%N)
  for ((p = 0; p < ${#wprofiles[@]}; p++)); do
    lo=$(( (p + 1) * 1000000 + 1 )); hi=$(( lo + per - 1 ))
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
    ( "$sim" --whole --seeds "$lo..$hi" --nodes 4..7 --heights 10 --profile "${wprofiles[$p]}" \
        >"$tmp/whole$p.out" 2>&1 ) &
  done
  wait
  t1=$(date +%s.%N)
  hours=0
  for ((p = 0; p < ${#wprofiles[@]}; p++)); do
    tally "$tmp/whole$p.out" "whole ${wprofiles[$p]}" "$per"
  done
  awk -v h="$hours" -v a="$t0" -v b="$t1" 'BEGIN { printf "sim: whole: %.2f simulated node-hours in %.1fs wall: %.3f node-hours per wall-second\n", h, b - a, h / (b - a) }'

  run_byz $(( (per + 1) / 2 ))

  # Replay: the same seed twice, the same digest of every event.
  local a b
  a=$("$sim" --whole --seed 4000001 --nodes 5 --heights 10 --profile lossy | sed -n 's/.* digest=\([0-9a-f]*\).*/\1/p')
  b=$("$sim" --whole --seed 4000001 --nodes 5 --heights 10 --profile lossy | sed -n 's/.* digest=\([0-9a-f]*\).*/\1/p')
  if [ -n "$a" ] && [ "$a" = "$b" ]; then
    echo "sim: whole replay: seed 4000001 run twice, digest $a both times"; passed=$((passed + 1))
  else
    echo "sim: whole replay: seed 4000001 gave digests '$a' and '$b'" >&2; failed=$((failed + 1))
  fi

  # Checker self-test: node 1 applies a forged (validly certified) block at
  # height 2. Every seed must end with an agreement violation (exit 1).
  local out rc caught
  must_catch "whole broken node" --break 1

  # Lost sign logs: restarted nodes (under 1/3 of them) come back without
  # consensus.log. With the sign hold no seed may show a double sign; with
  # resume-signing = now (no hold) the checker must catch some.
  out=$("$sim" --whole --seeds 1..40 --nodes 4..7 --heights 10 --profile crash-restart --amnesia 2>&1); rc=$?
  if [ $rc -eq 0 ]; then
    echo "sim: whole amnesia with the sign hold: 40/40 seeds passed, no double sign"; passed=$((passed + 1))
  else
    printf '%s\n' "$out" | grep -A1 '^FAIL' | head -n 4
    echo "sim: whole amnesia with the sign hold: failed (rc $rc)" >&2; failed=$((failed + 1))
  fi
  out=$("$sim" --whole --seeds 1..40 --nodes 4..7 --heights 10 --profile crash-restart --amnesia --resume-now 2>&1)
  caught=$(printf '%s\n' "$out" | grep -c 'violation: .* honest double-sign')
  if [ "$caught" -gt 0 ]; then
    echo "sim: whole amnesia self-test: honest double-sign caught on $caught/40 seeds (no sign hold)"; passed=$((passed + 1))
  else
    echo "sim: whole amnesia self-test: no double-sign caught on 40 seeds" >&2; failed=$((failed + 1))
  fi
}

# Byzantine whole nodes: $1 seeds of every kind (under 1/3 of the nodes,
# honest links), two processes at a time; each must pass (docs/simulator.md
# says what each kind asserts). Then the over-1/3 self-test: with the fork
# kind every seed must end with an agreement violation.
run_byz() {
  local per=$1 lo hi j t0 t1
  # lying-heights runs 40 heights: longer than a refutation (3 stalls of 4 s)
  local kinds=(equivocate double-vote invalid-block bad-time withhold junk-proposals lying-heights bad-sync)
  local heights=(10 10 10 10 10 10 40 10)
  t0=$(date +%s.%N)
  for ((j = 0; j < ${#kinds[@]}; j++)); do
    lo=$(( (j + 11) * 1000000 + 1 )); hi=$(( lo + per - 1 ))
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
    ( "$sim" --whole --seeds "$lo..$hi" --nodes 4..7 --heights "${heights[$j]}" --byz "${kinds[$j]}" \
        >"$tmp/byz$j.out" 2>&1 ) &
  done
  wait
  t1=$(date +%s.%N)
  hours=0
  for ((j = 0; j < ${#kinds[@]}; j++)); do
    tally "$tmp/byz$j.out" "byzantine ${kinds[$j]}" "$per"
  done
  awk -v h="$hours" -v a="$t0" -v b="$t1" -v n="$(( per * ${#kinds[@]} ))" 'BEGIN { printf "sim: byzantine: %d seeds, %.2f simulated node-hours in %.1fs wall: %.3f node-hours per wall-second\n", n, h, b - a, h / (b - a) }'

  must_catch "byzantine over 1/3 (fork)" --byz fork

  # Over 1/3 with the halves joined after the fork: every honest node must
  # halt commits, commit nothing while halted, and name only double signers
  # (DESIGN.md 6; test/sim/wfork.c).
  lo=$(( 19 * 1000000 + 1 )); hi=$(( lo + per - 1 ))
  "$sim" --whole --seeds "$lo..$hi" --nodes 4..7 --heights 10 --byz fork-halt >"$tmp/forkhalt.out" 2>&1
  tally "$tmp/forkhalt.out" "byzantine over 1/3 (fork-halt)" "$per"
}

if [ "${WHOLE:-0}" = 1 ]; then
  run_whole "$total"
  echo "sim: $(( $(date +%s) - start ))s wall"
  echo "sim: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
fi

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

run_whole "${WHOLE_SEEDS:-100}"

echo "sim: $(( $(date +%s) - start ))s wall"
echo "sim: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
