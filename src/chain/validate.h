/* Transaction rules (DESIGN.md §3, §4), in three layers:
 *   basic   — context-free structure and amounts;
 *   sigs    — every signature (inputs, extra signatures, evidence votes);
 *   inputs  — against chain state through a tc_view (the store, or the
 *             mempool's overlay of it), at the height that would include it.
 * and, at the end, the block time rules a header must keep (docs/chain.md).
 * Every rejection returns its TC_E* code and says what and where in *e. */
#ifndef TC_CHAIN_VALIDATE_H
#define TC_CHAIN_VALIDATE_H

#include <stdint.h>

#include "chain/masternode.h"
#include "chain/tx.h"
#include "chain/utxo.h"
#include "crypto/sigcache.h"
#include "util/err.h"

/* Read access to chain state. Each lookup returns 0 and fills *out, or
 * TC_ENOTFOUND, or another error (a store failure, passed through). */
typedef struct {
    void *ctx;
    int (*get_utxo)(void *ctx, const tc_outpoint *o, tc_utxo *out);
    int (*get_mn)(void *ctx, const tc_outpoint *collateral, tc_mn *out);
    int (*get_mn_by_operator)(void *ctx, const tc_pubkey *op, tc_mn *out);
    /* 1 if a transaction with this id is already on chain, 0 if not, <0 on error. */
    int (*has_tx)(void *ctx, const tc_hash *txid);
} tc_view;

/* The checks of a transaction that need no chain state: version, kind, size,
 * the input and output counts its kind needs, registration and update
 * payloads, conflicting votes of evidence, no input spent twice, and the
 * outputs (check_outputs). 0, or the error (TC_ETX_*, TC_EMN_TIER,
 * TC_EADDR_VERSION, TC_EEVIDENCE) named in e. */
int tc_tx_check_basic(const tc_tx *tx, tc_errmsg *e) TC_MUST_CHECK;

/* txid must be tc_tx_txid(tx). cache may be NULL. */
int tc_tx_check_sigs(const tc_tx *tx, const tc_hash *txid, uint32_t chain_id, tc_sigcache *cache,
                     tc_errmsg *e) TC_MUST_CHECK;

/* Contextual rules for a non-coinbase transaction included at `height`:
 * inputs exist and are owned by their keys, none is a masternode collateral
 * still bonded or unbonding (TC_ETX_LOCKED), no overflow, inputs ≥ outputs,
 * fee ≥ the schedule, lock time reached, kind payload consistent with the
 * masternode table, not already on chain. On success *fee is inputs − outputs. */
int tc_tx_check_inputs(const tc_tx *tx, const tc_hash *txid, const tc_view *v, uint64_t height,
                       uint64_t *fee, tc_errmsg *e) TC_MUST_CHECK;

/* The amount a transaction sends for the fee schedule: outputs that do not pay
 * back to an address of one of its own inputs (change is not "sent"). */
uint64_t tc_tx_sent_amount(const tc_tx *tx);

/* ---- block time (docs/chain.md, "Block time"); no sum here ever wraps ---- */

/* The parent rule, for every block, certified or proposed: time_ms is
 * strictly after parent_ms. TC_EBLK_TIME if not; a parent dated UINT64_MAX
 * can have no child at all, which the message says. */
int tc_block_check_time(uint64_t time_ms, uint64_t parent_ms, tc_errmsg *e) TC_MUST_CHECK;

/* The clock rule, only for a proposal validated live (never for a certified
 * block, which is final): time_ms is at most max_drift_ms ahead of now_ms,
 * the validating node's wall clock; now_ms + max_drift_ms saturates at
 * UINT64_MAX. TC_EBLK_TIME if the block is further ahead. */
int tc_block_check_drift(uint64_t time_ms, uint64_t now_ms, uint32_t max_drift_ms, tc_errmsg *e) TC_MUST_CHECK;

/* The time a proposer whose wall clock reads now_ms gives the child of a
 * block dated parent_ms: max(now_ms, parent_ms + 1) in *out, a time that
 * passes both rules above at now_ms. TC_EBLK_TIME (and *out untouched) if
 * there is none: the parent is dated UINT64_MAX, or it is so far ahead of
 * now_ms that its successor would break the clock rule. */
int tc_block_next_time(uint64_t parent_ms, uint64_t now_ms, uint32_t max_drift_ms, uint64_t *out,
                       tc_errmsg *e) TC_MUST_CHECK;

#endif
