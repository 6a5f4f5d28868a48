/* The mempool: transactions waiting for a block, each fully valid against
 * the tip state plus the pool's earlier transactions (a child may spend a
 * pending parent). First seen wins: a transaction spending an outpoint that a
 * pending one already spends, or touching a masternode a pending one already
 * touches, is refused. Bounded by count and bytes; when full, the lowest
 * fee-rate entries (with their descendants) make room for a newcomer that
 * pays a higher fee rate, else the newcomer is refused with the reason.
 * Entries expire after a while. After every committed block, included
 * transactions leave and the rest are re-validated; after a rollback the
 * node re-validates them too (tc_mempool_revalidate).
 *
 * Counters are O(1). Not thread-safe: the node's loop owns it. */
#ifndef TC_MEMPOOL_MEMPOOL_H
#define TC_MEMPOOL_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"
#include "chain/chainview.h"

typedef struct tc_mempool tc_mempool;

typedef struct {
    size_t max_txs;     /* 0: 10,000 */
    size_t max_bytes;   /* 0: 300 MB of encoded transactions */
    uint64_t expiry_ms; /* 0: 72 hours */
} tc_mempool_opts;

typedef struct {
    size_t txs;
    size_t bytes;
    uint64_t fees;     /* sat */
    uint64_t admitted; /* since start */
    uint64_t rejected;
    uint64_t evicted;  /* made room for a better fee rate */
    uint64_t expired;
    uint64_t mined;    /* left because a block included them */
    uint64_t dropped;  /* invalid after a block (conflict, spent input, ...) */
} tc_mempool_stats;

/* A pool over the tip state of chain (copied; its ctx must outlive the pool;
 * timed passes tc_chainstore_view of its ledger). opts may be NULL. */
tc_mempool *tc_mempool_new(tc_chainview chain, const tc_mempool_opts *opts);
void tc_mempool_free(tc_mempool *mp); /* NULL is a no-op */

/* Validates and admits tx (copied). On success *txid (if not NULL) is its id.
 * Errors: TC_EEXIST (already pending), TC_ETX_DOUBLE_SPEND (conflicts with a
 * pending transaction), TC_ELIMIT (full and the fee rate does not beat the
 * lowest), or the transaction rule it breaks; e says what and where. */
int tc_mempool_add(tc_mempool *mp, const tc_tx *tx, uint64_t now_ms, tc_hash *txid, tc_errmsg *e) TC_MUST_CHECK;

/* Call after blk was committed to the ledger: removes its transactions,
 * drops what conflicts with it or is no longer valid, expires old entries. */
void tc_mempool_block_committed(tc_mempool *mp, const tc_block *blk, uint64_t now_ms);
/* Checks every pending transaction again against the tip state (in arrival
 * order, so parents first), as after a block and after a rollback: what no
 * longer validates leaves with its descendants (stats.dropped); one found
 * on chain leaves as mined; old entries expire. Returns how many were
 * dropped as invalid. */
size_t tc_mempool_revalidate(tc_mempool *mp, uint64_t now_ms);

/* Up to max pending transactions by fee rate, highest first, every parent
 * before its children: the order a block is built in. The pointers are valid
 * until the pool changes. Returns the count. */
size_t tc_mempool_select(tc_mempool *mp, const tc_tx **out, size_t max);

bool tc_mempool_has(const tc_mempool *mp, const tc_hash *txid);
/* The pending transaction with this id, or NULL; valid until the pool changes. */
const tc_tx *tc_mempool_get(const tc_mempool *mp, const tc_hash *txid);
/* Ids of up to max pending transactions (arrival order); returns the count. */
size_t tc_mempool_txids(const tc_mempool *mp, tc_hash *out, size_t max);
void tc_mempool_get_stats(const tc_mempool *mp, tc_mempool_stats *out);

#endif
