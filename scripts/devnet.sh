#!/usr/bin/env bash
# make devnet / make devnet-stop: a local network of four masternodes.
#
#   scripts/devnet.sh start   init (if needed), start 4 timed, demo payments,
#                             a live line per node until Ctrl-C (then stops them)
#   scripts/devnet.sh stop    stop the nodes (SIGTERM, then wait)
#
# DEVNET_DIR (default ./devnet) holds genesis, node dirs, logs and wallets.
# DEVNET_SECONDS=N ends the live view after N seconds (non-interactive use).
set -u
cd "$(dirname "$0")/.."
DIR=${DEVNET_DIR:-$PWD/devnet}
NODES=4
CLI=build/time-cli
TIMED=build/timed
PY=/usr/bin/python3

die() { echo "devnet: $*" >&2; exit 1; }
pidfile() { echo "$DIR/node$1/timed.pid"; }
running() { local p; p=$(cat "$(pidfile "$1")" 2>/dev/null) && kill -0 "$p" 2>/dev/null; }
cli() { "$CLI" --datadir "$DIR/node$1" "${@:2}"; }

stop_nodes() {
  local pids=() p
  for i in $(seq 0 $((NODES - 1))); do
    # 2>/dev/null: after a Ctrl-C the nodes got the SIGINT too and may be gone already
    if running "$i"; then p=$(cat "$(pidfile "$i")"); kill -TERM "$p" 2>/dev/null; pids+=("$p"); fi
  done
  for _ in $(seq 1 100); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && { echo "devnet: pid $p did not stop in 10 s; killing" >&2; kill -KILL "$p"; }; done
  rm -f "$DIR"/node*/timed.pid
  [ ${#pids[@]} -gt 0 ] && echo "devnet: stopped ${#pids[@]} node(s); logs in $DIR/node<i>/timed.log"
  return 0
}

wait_rpc() {
  for _ in $(seq 1 100); do
    cli "$1" getblockcount >/dev/null 2>&1 && return 0
    running "$1" || { tail -n 20 "$DIR/node$1/timed.log" >&2; die "node $1 exited; see $DIR/node$1/timed.log"; }
    sleep 0.2
  done
  die "node $1 does not answer RPC after 20 s; see $DIR/node$1/timed.log"
}

# Waits until node 0's tip is past height $1.
wait_height() {
  for _ in $(seq 1 100); do
    h=$(cli 0 getblockcount 2>/dev/null) && [ "$h" -gt "$1" ] && return 0
    sleep 0.1
  done
  die "no new block after 10 s"
}

demo_payments() {
  [ -f "$DIR/demo.wallet" ] || "$CLI" wallet create --wallet "$DIR/demo.wallet" --unencrypted >/dev/null ||
    die "cannot create $DIR/demo.wallet"
  local to amount txid h
  to=$("$CLI" wallet address --wallet "$DIR/demo.wallet") || die "cannot derive a demo address"
  for amount in 25 10.5 0.75; do
    h=$(cli 0 getblockcount)
    txid=$(cli 0 --wallet "$DIR/faucet.wallet" wallet send "$to" "$amount" 2>/dev/null) ||
      die "demo payment of $amount TIME failed: $(cli 0 --wallet "$DIR/faucet.wallet" wallet send "$to" "$amount" 2>&1 >/dev/null)"
    wait_height "$h"
    echo "devnet: paid $amount TIME to $to (tx ${txid:0:16}...), final at height $(cli 0 getblockcount)"
  done
  echo "devnet: demo wallet: $(cli 1 --wallet "$DIR/demo.wallet" wallet balance)"
}

# One row per node from its RPC: height, round, step, peers, mempool, last
# block age, and how many masternodes its ledger holds jailed.
HEADER=$(printf '%-6s %8s %6s %-10s %6s %8s %11s %7s' node height round step peers mempool "last block" jailed)
status_lines() {
  for i in $(seq 0 $((NODES - 1))); do
    if ! running "$i"; then printf '%-6s %s\n' "node$i" "down"; continue; fi
    {
      cli "$i" getconsensusinfo; echo ";"
      cli "$i" getblockchaininfo; echo ";"
      cli "$i" getpeerinfo; echo ";"
      cli "$i" getmempoolinfo; echo ";"
      cli "$i" listmasternodes
    } 2>/dev/null | "$PY" -c '
import json, sys
parts = sys.stdin.read().split(";\n")
try:
    c, b, p, m, mn = (json.loads(x) for x in parts)
    print("%-6s %8d %6d %-10s %6d %8d %9.1f s %7d"
          % ("node" + sys.argv[1], b["blocks"], c["round"], c["step"], len(p), m["size"],
             b["last_block_age_ms"] / 1000, sum(1 for x in mn if x.get("jailed"))))
except Exception:
    print("%-6s (no answer)" % ("node" + sys.argv[1]))
' "$i"
  done
}

start() {
  [ -x "$TIMED" ] && [ -x "$CLI" ] || die "build first: make"
  if [ ! -f "$DIR/genesis.json" ]; then
    "$CLI" devnet init --nodes $NODES --dir "$DIR" || die "devnet init failed"
  fi
  for i in $(seq 0 $((NODES - 1))); do
    running "$i" && die "node $i is already running (make devnet-stop first)"
  done
  for i in $(seq 0 $((NODES - 1))); do
    nohup "$TIMED" --config "$DIR/node$i/time.conf" >>"$DIR/node$i/timed.log" 2>&1 &
    echo $! >"$(pidfile "$i")"
  done
  trap 'echo; stop_nodes; exit 0' INT TERM
  for i in $(seq 0 $((NODES - 1))); do wait_rpc "$i"; done
  echo "devnet: $NODES masternodes running from $DIR"
  wait_height "$(cli 0 getblockcount)"
  demo_payments
  local until=0
  [ -n "${DEVNET_SECONDS:-}" ] && until=$(($(date +%s) + DEVNET_SECONDS))
  echo "devnet: live view (Ctrl-C stops the nodes)"
  local drawn=0
  while :; do
    out=$(status_lines)
    if [ -t 1 ]; then # one table, redrawn in place
      [ $drawn -eq 1 ] && printf '\033[%dA\033[J' "$((NODES + 1))"
      printf '%s\n%s\n' "$HEADER" "$out"
    else # a log: the header once, then rows
      [ $drawn -eq 0 ] && printf '%s\n' "$HEADER"
      printf '%s\n' "$out"
    fi
    drawn=1
    all_down=1
    for i in $(seq 0 $((NODES - 1))); do running "$i" && all_down=0; done
    [ $all_down -eq 1 ] && { echo "devnet: every node is down (make devnet-stop, or see $DIR/node<i>/timed.log); leaving the live view"; exit 0; }
    [ $until -gt 0 ] && [ "$(date +%s)" -ge $until ] && { stop_nodes; exit 0; }
    sleep 1
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop_nodes ;;
  *) echo "usage: scripts/devnet.sh start|stop" >&2; exit 1 ;;
esac
