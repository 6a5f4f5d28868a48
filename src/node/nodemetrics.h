/* The node's Prometheus metrics, /health and the status page's
 * /status.json (DESIGN.md §8): families are registered once; sampled values
 * (heights, peers, mempool, store, RSS, P2P counters) are refreshed just
 * before each scrape; commit timings are observed by the node as blocks are
 * committed, and the last TC_NODEMETRICS_RECENT blocks are kept for the
 * status page. Loop thread only. */
#ifndef TC_NODE_NODEMETRICS_H
#define TC_NODE_NODEMETRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus/core.h"
#include "crypto/sigcache.h"
#include "mempool/mempool.h"
#include "net/p2p.h"
#include "node/forkq.h"
#include "rpc/metrics.h"
#include "store/ledger.h"

#define TC_NODEMETRICS_RECENT 20          /* blocks in /status.json */
#define TC_NODEMETRICS_MAX_VALIDATORS 100 /* masternodes listed in /status.json */

/* What only the node knows, asked for at each scrape and /health. */
typedef struct {
    uint64_t last_commit_age_ms;
    uint64_t health_limit_ms; /* no commit for longer: unhealthy */
    bool syncing;
    uint64_t sync_target;
    bool validator;           /* its operator key is in the current set */
    uint64_t proposer_gone;   /* propose timeouts not waited for: the proposer's links had closed */
    tc_forkq_status fork;     /* the fork query (node/forkq.h) */
} tc_node_status;

typedef struct {
    tc_ledger *L;
    tc_mempool *mp;
    tc_p2p *p2p;
    tc_core *core;
    tc_sigcache *cache;
    void *node;
    void (*status)(void *node, tc_node_status *out);
    /* The last heartbeat heard from the operator key: true with *age_ms
     * since it arrived; false if none was. *self: it is this node's own key
     * (which it does not hear from itself). NULL: none known. */
    bool (*heartbeat)(void *node, const tc_pubkey *key, uint64_t *age_ms, bool *self);
    unsigned max_connections; /* of the listener; 0: TC_METRICS_DEFAULT_MAX_CONNECTIONS */
} tc_nodemetrics_ctx;

typedef struct tc_nodemetrics tc_nodemetrics;

/* Registers every family on a new registry and serves it with /health on
 * listen. NULL with *err on failure (TC_ENET_ADDR, TC_EIO, TC_EINVAL). */
tc_nodemetrics *tc_nodemetrics_new(struct event_base *base, const char *listen, const tc_nodemetrics_ctx *ctx,
                                   int *err);
void tc_nodemetrics_free(tc_nodemetrics *m); /* NULL is a no-op */

/* The three on_ calls below are no-ops on m NULL (a node without metrics:
 * the simulator's whole nodes). */
/* A vote of type (TC_VOTE_PREVOTE / TC_VOTE_PRECOMMIT) arrived from a peer
 * and the core answered rc (0 taken; duplicate, old, invalid otherwise). */
void tc_nodemetrics_on_vote(tc_nodemetrics *m, uint8_t type, int rc);

/* A proposal arrived from a peer and the node answered rc (0 taken;
 * TC_ECONS_EQUIVOCATION: a second signed proposal of the proposer for one
 * round; TC_ECONS_PROPOSER: signed by a key not scheduled to propose). */
void tc_nodemetrics_on_proposal(tc_nodemetrics *m, int rc);

/* blk was committed (it is the ledger's tip now): the time since the
 * previous commit, the time the height took from its start, and the round it
 * was decided in. */
void tc_nodemetrics_on_commit(tc_nodemetrics *m, const tc_block *blk, uint64_t interval_ms, uint64_t latency_ms,
                              uint32_t round);

#endif
