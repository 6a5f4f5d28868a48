/* The node's JSON-RPC methods (DESIGN.md §8): chain, mempool, peers,
 * consensus and masternode queries, transaction submission, stop. They run on
 * the node's loop thread and read the node's parts through this context. */
#ifndef TC_NODE_NODERPC_H
#define TC_NODE_NODERPC_H

#include <event2/event.h>

#include "chain/genesis.h"
#include "consensus/core.h"
#include "mempool/mempool.h"
#include "net/p2p.h"
#include "node/forkq.h"
#include "node/signhold.h"
#include "node/oplinks.h"
#include "node/txdurable.h"
#include "rpc/rpc.h"
#include "store/ledger.h"

typedef struct {
    tc_ledger *L;
    tc_mempool *mp;
    tc_p2p *p2p;
    tc_core *core;
    const tc_genesis *g;
    struct event_base *base; /* stop ends its loop */
    uint64_t started_ms;     /* wall clock, for uptime */
    const tc_pubkey *operator_key; /* this node's consensus key, NULL for a follower */
    const tc_signhold *hold;       /* the sign hold (node/signhold.h) */
    tc_txdurable *txd;             /* an admitted submission is durable before it is answered */
    const tc_oplinks *oplinks;     /* which operator each link attested (mnauth) */
    tc_forkq *const *forkq;        /* the fork query, once the node made it (NULL until then) */
    void *node;                    /* for fork_rollback and fork_choose */
    /* The operator's rollback of a lost fork to height `to` (tc_node's). */
    int (*fork_rollback)(void *node, uint64_t to, tc_errmsg *e);
    /* The operator's pick of a branch while a fork halts commits (tc_node's). */
    int (*fork_choose)(void *node, const tc_hash *hash, uint64_t *fork_height, bool *ours, tc_errmsg *e);
} tc_noderpc;

/* Registers every method on rpc; ctx must outlive rpc. 0 or the first
 * tc_rpc_register error. */
int tc_noderpc_register(tc_rpc *rpc, tc_noderpc *ctx) TC_MUST_CHECK;

#endif
