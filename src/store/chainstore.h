/* What of the chain store (the ledger and its LMDB environment) other modules
 * may see without being handed the ledger or the environment itself: the
 * chain view the mempool works over, the store's size for metrics and the
 * bans older versions kept in its `bans` table, for the one-time import into
 * the peers store (node/peerstore.c). Outside src/store/, only tests
 * and benchmarks still use tc_ledger_store. */
#ifndef TC_STORE_CHAINSTORE_H
#define TC_STORE_CHAINSTORE_H

#include <stdint.h>

#include "chain/chainview.h"
#include "store/ledger.h"
#include "store/store.h"

/* The chain view over L's tip (tc_ledger_height, tc_ledger_view_begin/_end,
 * the genesis chain id, L's signature cache); L must outlive every user. */
tc_chainview tc_chainstore_view(tc_ledger *L);

/* Bytes the ledger's store uses on disk (tc_store_size of its environment).
 * Any thread; L must be open. */
uint64_t tc_chainstore_bytes(tc_ledger *L);

/* tc_store_damaged of the ledger's store: NULL, or why it is damaged. */
const char *tc_chainstore_damaged(tc_ledger *L);

/* A reader of legacy ban rows: each calls fn (key, ban record) for every row
 * of src's `bans` table in key order, in one read transaction, until fn
 * returns non-zero (returned); read only, the rows stay; the pointers passed
 * to fn live until fn returns. 0, fn's value, or the store's error. src must
 * outlive every use of the reader. */
typedef struct {
    int (*each)(void *src, tc_store_each_fn fn, void *ctx);
    void *src;
} tc_legacy_bans;

/* The reader over the chain store of L (what timed passes). */
tc_legacy_bans tc_chainstore_legacy_bans(tc_ledger *L);
/* The reader over a bare store holding a `bans` table (tests). */
tc_legacy_bans tc_store_legacy_bans(tc_store *s);

#endif
