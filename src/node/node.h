/* The node: one event loop joining the data dir, ledger, mempool, P2P
 * endpoint and consensus core (DESIGN.md §5–§8).
 *
 * Everything runs on the loop thread; signature batches run on the worker
 * pool. A validator (its operator key is in the validator set of the height)
 * proposes and votes; every other node follows by verifying certificates. A
 * node behind its peers block-syncs, then rejoins consensus by itself.
 * SIGINT/SIGTERM stop the loop between events, so nothing is half-done. */
#ifndef TC_NODE_NODE_H
#define TC_NODE_NODE_H

#include "node/config.h"
#include "util/err.h"

typedef struct tc_node tc_node;

/* Builds a node from cfg: locks the data dir, reads genesis, opens the store,
 * loads (or creates) the node key and, if present, the operator key, opens
 * the sign log, starts listening. Errors name what and where in e. */
int tc_node_new(tc_node **out, const tc_config *cfg, tc_errmsg *e) TC_MUST_CHECK;
/* Runs until SIGINT/SIGTERM or a fatal error; 0 on a clean stop. */
int tc_node_run(tc_node *n) TC_MUST_CHECK;
/* Closes everything (store last). NULL is a no-op. */
void tc_node_free(tc_node *n);

#endif
