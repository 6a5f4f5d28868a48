/* The deciding parts of a node without its event loop, P2P endpoint or RPC:
 * data dir, genesis, keys, ledger, mempool, pending-transaction journal, sign
 * log, block sync and the consensus driver, reaching the world only through
 * a given tc_nodeio (nodeio.h). The daemon (node.c) opens the same parts over
 * the real io and adds libevent, P2P, RPC and metrics; the deterministic
 * simulator (test/sim/whole.c) opens them over a simulated network and clock
 * and calls in for every event the P2P layer and the loop would deliver.
 *
 * Single-threaded: every call on the thread that runs io's timers. */
#ifndef TC_NODE_NODEPARTS_H
#define TC_NODE_NODEPARTS_H

#include <stdbool.h>
#include <stdint.h>

#include "chain/tx.h"
#include "node/config.h"
#include "node/node.h"
#include "node/nodeio.h"
#include "store/ledger.h"
#include "util/err.h"

/* Opens the parts of the node on cfg->datadir over io (copied; io->ctx must
 * outlive the node). With io->verify_threads false there is no worker pool:
 * every signature check runs inline. Nothing runs until tc_node_parts_start.
 * Errors name what and where in e; *out is NULL then. */
int tc_node_parts_new(tc_node **out, const tc_config *cfg, const tc_nodeio *io, tc_errmsg *e) TC_MUST_CHECK;
/* Closes what tc_node_parts_new opened (every timer freed through io, the
 * store last). NULL is a no-op. */
void tc_node_parts_free(tc_node *n);

/* Starts consensus at tip + 1 (what tc_node_run does first). */
void tc_node_parts_start(tc_node *n);
/* A message from peer, as the P2P layer delivers it: 0, or a protocol error
 * for what proves the peer dishonest (the P2P layer bans for it). */
int tc_node_parts_message(tc_node *n, uint64_t peer, const tc_msg *m);
/* A link to peer came up (established) or went down. */
void tc_node_parts_peer(tc_node *n, uint64_t peer, bool up);
/* The once-a-second tick and the heartbeat timer's work. */
void tc_node_parts_tick(tc_node *n);
void tc_node_parts_heartbeat(tc_node *n);
/* Admits tx as sendrawtransaction does: mempool, journal (durable before it
 * returns 0), relay. 0 with *txid, or the mempool's refusal (e says why). */
int tc_node_parts_submit(tc_node *n, const tc_tx *tx, tc_hash *txid, tc_errmsg *e) TC_MUST_CHECK;

/* The node's ledger (borrowed, lives as long as n). */
tc_ledger *tc_node_parts_ledger(tc_node *n);
/* The operator key, or NULL for a follower. Borrowed. */
const tc_pubkey *tc_node_parts_operator(const tc_node *n);
/* The P2P identity key (what a peer sees as this node's key). Borrowed. */
const tc_pubkey *tc_node_parts_node_key(const tc_node *n);
/* 0 while running; 2 once the node stopped itself (a fatal error). */
int tc_node_parts_exit_code(const tc_node *n);
/* Whether block sync is running (peers claim heights above the tip): what
 * /health reports as syncing. */
bool tc_node_parts_syncing(const tc_node *n);
/* Whether a fork halts commits (two valid certificates at the fork
 * height, node/forkq.h), and the fork height in *height (if not NULL). */
bool tc_node_parts_fork_halted(const tc_node *n, uint64_t *height);
/* The culprit keys the fork query named (tc_forkq_culprits). */
size_t tc_node_parts_fork_culprits(const tc_node *n, const tc_pubkey **out);

#endif
