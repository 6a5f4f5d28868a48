/* Writable chain state: what the state-transition function (chain/mnstate.h,
 * chain/transition.h) reads and changes. The store implements it over an LMDB
 * write transaction that records undo data for every write
 * (store/ledger_state.c); the unit tests over memory (test/unit/memstate.c).
 *
 * A tc_state beside tc_view rather than put/del in tc_view: the checks
 * (tc_tx_check_inputs) take a tc_view and so cannot write, and the read-only
 * views (the ledger's tip, the mempool's overlay) have nothing to stub.
 * Writes name the thing written (a UTXO entry, a masternode, ...), never a
 * table, so chain/ knows no layout and an implementation keeps its own.
 *
 * Every function gets view.ctx first and returns 0 or an error of the
 * implementation (passed through by the rules, which then fail the block). */
#ifndef TC_CHAIN_STATE_H
#define TC_CHAIN_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "chain/masternode.h"
#include "chain/utxo.h"
#include "chain/validate.h"
#include "chain/valset.h"

typedef struct {
    tc_view view; /* the reads of tc_tx_check_inputs: UTXOs, masternodes, tx index */
    /* The validator set of `height`: the one recorded at the greatest height
     * ≤ height (TC_ECORRUPT if none). *out initialized by the callee. */
    int (*get_valset)(void *ctx, uint64_t height, tc_valset *out);
    /* Every registered masternode (tc_mn_each_fn). */
    tc_mn_each_fn each_mn;
    /* Creates (or replaces) the unspent output o. The implementation keeps
     * the UTXO commitment (tc_utxo_commit) with every put and del. */
    int (*put_utxo)(void *ctx, const tc_outpoint *o, const tc_utxo *u);
    /* Spends o: TC_ENOTFOUND if it is not unspent. */
    int (*del_utxo)(void *ctx, const tc_outpoint *o);
    /* A new masternode: its record and its operator key's entry. */
    int (*add_mn)(void *ctx, const tc_mn *m);
    /* Replaces the record of a registered masternode (same operator key). */
    int (*put_mn)(void *ctx, const tc_mn *m);
    /* Removes a registered masternode: its record and its operator key's entry. */
    int (*del_mn)(void *ctx, const tc_mn *m);
    /* Records that transaction txid is on chain at (height, index in block). */
    int (*put_tx)(void *ctx, const tc_hash *txid, uint64_t height, uint32_t index);
    /* Records vs as the validator set from `height` on. */
    int (*put_valset)(void *ctx, uint64_t height, const tc_valset *vs);
    /* The UTXO commitment (digest of the LtHash) of the state as it is now. */
    void (*utxo_commitment)(void *ctx, tc_hash *out);
    /* Log rule events (jailings): set for a block that will be committed. */
    bool log_events;
} tc_state;

#endif
