/* The chain state a consumer outside the chain's own code (the mempool) sees:
 * the tip height, a read view of the tip state (tc_view, chain/validate.h),
 * and what signature checks need (chain id, signature cache). Whoever owns
 * the chain state fills it (the ledger: tc_chainstore_view in
 * store/chainstore.h), so that the consumer depends on chain/ only. */
#ifndef TC_CHAIN_CHAINVIEW_H
#define TC_CHAIN_CHAINVIEW_H

#include <stdint.h>

#include "chain/validate.h"
#include "crypto/sigcache.h"

typedef struct {
    void *ctx; /* passed to every function; outlives every user of the view */
    /* Height of the tip (0: only genesis). */
    uint64_t (*height)(void *ctx);
    /* Opens a read view of the tip state in *out: 0, or a store error. Every
     * successful call is paired with view_end(out) on the same thread. */
    int (*view_begin)(void *ctx, tc_view *out);
    void (*view_end)(tc_view *v);
    uint32_t chain_id;     /* of the genesis, for signature checks */
    tc_sigcache *sigcache; /* may be NULL; lives as long as ctx */
} tc_chainview;

#endif
