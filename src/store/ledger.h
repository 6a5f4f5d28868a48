/* The ledger: chain state on the store, advanced one certified block at a
 * time and rolled back one block at a time.
 *
 * apply and rollback are each a single LMDB write transaction (a batch of
 * blocks is one too): after a crash the store is at a block boundary. Every state write of a block is recorded
 * as undo data (previous value or absence), so rollback is an exact replay in
 * reverse. The UTXO-set commitment (LtHash) is updated per output created or
 * spent, never by a scan.
 *
 * Not thread-safe: one thread (the node's event loop) drives a ledger; the
 * signature work inside apply runs on the pool given at open. */
#ifndef TC_STORE_LEDGER_H
#define TC_STORE_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "chain/block.h"
#include "chain/genesis.h"
#include "chain/utxo.h"
#include "chain/validate.h"
#include "crypto/sigcache.h"
#include "store/store.h"
#include "util/pool.h"

typedef struct tc_ledger tc_ledger;

typedef struct {
    uint64_t map_size;  /* store map size (0: default) */
    tc_sigcache *cache; /* may be NULL */
    tc_pool *pool;      /* may be NULL: signatures checked in the caller */
} tc_ledger_opts;

/* Opens the store in dir; an empty store is initialized with the genesis
 * block. A store made for another chain (chain id or genesis hash) is refused
 * with TC_EFOREIGN. The ledger keeps pointers to g's parameters: g must
 * outlive it. */
int tc_ledger_open(tc_ledger **out, const char *dir, const tc_genesis *g, const tc_ledger_opts *opts,
                   tc_errmsg *e) TC_MUST_CHECK;
void tc_ledger_close(tc_ledger *L); /* NULL is a no-op */

uint64_t tc_ledger_height(const tc_ledger *L);
void tc_ledger_tip(const tc_ledger *L, tc_header *hdr, tc_hash *hash);
const tc_hash *tc_ledger_genesis_hash(const tc_ledger *L);
const tc_genesis *tc_ledger_genesis(const tc_ledger *L);
/* The signature cache given at open (may be NULL). */
tc_sigcache *tc_ledger_sigcache(tc_ledger *L);
tc_store *tc_ledger_store(tc_ledger *L);

/* Validates blk as the next block against the tip state; verifies cert (its
 * own commit certificate) against the validator set of its height; then
 * writes block, certificate, state changes and undo data in one transaction.
 * Returns 0 or the first violated rule with detail in e (nothing written). */
int tc_ledger_apply_block(tc_ledger *L, const tc_block *blk, const tc_cert *cert, tc_errmsg *e) TC_MUST_CHECK;
/* Applies n consecutive certified blocks (blks[i] certified by certs[i], the
 * first one after the tip) in one write transaction, one sync to disk for
 * the whole batch, with the validation and undo data of
 * tc_ledger_apply_block, except which certificates' signatures are verified.
 *
 * A batch is proven by checkpoints: the block i whose certificate certs[i] is
 * verified, signatures and all, under the validator set of its height. Block
 * i is one if it is the last, if ends[i] (ends may be NULL: none marked; the
 * sync marks the last block of each peer's range, so a bad block is blamed
 * on the range that holds it), or if the next block names another validator
 * set. Between checkpoints, certificates and the blocks' last commits are
 * checked for everything but their signatures (target, order, signers in the
 * set, quorum). Why that is enough: the validator set of height h is derived
 * from the state after h-1. Blocks h..j that follow a proven tip and derive
 * the same set V at every height are proven by a certificate of j that
 * verifies under V with more than 2/3 of its weight: each block names its
 * parent's hash, and honest validators certify only a block that extends
 * the chain they committed, valid with its last commit. V is trusted because
 * it is derived from the proven state before h; a set derived from unproven
 * blocks never verifies a checkpoint (where the set changes, the block
 * before is a checkpoint). A block followed in the batch by another is stored
 * with that one's last commit (proven with it); the last with certs[n-1].
 * Transaction signatures are all verified. The checkpoints' and the
 * transactions' signatures are first verified across the pool into the
 * signature cache, so the in-order checks are cache hits.
 *
 * Returns 0 (all n applied) or the first error; then nothing is applied (the
 * transaction is aborted: a batch is never committed without its last
 * checkpoint) and, for a rule error, blks[*bad] is the block that broke it
 * or whose certificate failed. */
int tc_ledger_apply_blocks(tc_ledger *L, const tc_block *const *blks, const tc_cert *const *certs, const bool *ends,
                           size_t n, size_t *bad, tc_errmsg *e) TC_MUST_CHECK;
/* Verifies blk's transaction signatures and cert's (may be NULL: none) into
 * the signature cache, so that applying them later finds them there. Decides
 * nothing: a bad signature is simply not cached. Safe from any thread, also
 * while blocks are applied: it reads only what open set. */
void tc_ledger_verify_ahead(const tc_ledger *L, const tc_block *blk, const tc_cert *cert);
/* The same validation without a certificate and without writing anything:
 * the answer a validator needs before it prevotes a proposal. As a live
 * proposal, blk is also held to the clock rule: its time at most the
 * network's max_block_drift_ms ahead of now_ms, the validating node's wall
 * clock (TC_EBLK_TIME otherwise; apply never applies that rule). */
int tc_ledger_check_block(tc_ledger *L, const tc_block *blk, uint64_t now_ms, tc_errmsg *e) TC_MUST_CHECK;
/* Undoes the tip block (never genesis: TC_ETIP). */
int tc_ledger_rollback_tip(tc_ledger *L, tc_errmsg *e) TC_MUST_CHECK;

/* Builds the next block proposed by `proposer` whose wall clock reads
 * time_ms from candidate transactions in the given order: invalid ones and
 * ones that would exceed the size limit are skipped (their count in *skipped
 * if not NULL). The block is dated max(time_ms, tip time + 1)
 * (tc_block_next_time): TC_EBLK_TIME if no date passes
 * tc_ledger_check_block at time_ms (the tip is dated UINT64_MAX, or too far
 * ahead of time_ms). last_commit certifies the tip (empty at height 1).
 * Nothing is written. */
int tc_ledger_build_block(tc_ledger *L, const tc_tx *const *txs, size_t n, uint64_t time_ms, const tc_pubkey *proposer,
                          const tc_cert *last_commit, tc_block *out, size_t *skipped, tc_errmsg *e) TC_MUST_CHECK;

/* Validator set of any height from 1 to tip + 1. */
int tc_ledger_valset(tc_ledger *L, uint64_t height, tc_valset *out) TC_MUST_CHECK;
int tc_ledger_get_block(tc_ledger *L, uint64_t height, tc_block *out) TC_MUST_CHECK;
int tc_ledger_get_cert(tc_ledger *L, uint64_t height, tc_cert *out) TC_MUST_CHECK;
/* Appends the stored encodings of block `height` and of its certificate
 * (read in one transaction) to block and cert: serving them needs no decode. */
int tc_ledger_get_raw(tc_ledger *L, uint64_t height, tc_buf *block, tc_buf *cert) TC_MUST_CHECK;
int tc_ledger_height_of(tc_ledger *L, const tc_hash *block, uint64_t *height) TC_MUST_CHECK;
int tc_ledger_get_utxo(tc_ledger *L, const tc_outpoint *o, tc_utxo *out) TC_MUST_CHECK;
int tc_ledger_get_mn(tc_ledger *L, const tc_outpoint *collateral, tc_mn *out) TC_MUST_CHECK;

/* A read view of the tip state for tc_tx_check_inputs and friends, valid
 * until tc_ledger_view_end. Safe from any thread while no block is applied or
 * rolled back. */
int tc_ledger_view_begin(tc_ledger *L, tc_view *out) TC_MUST_CHECK;
void tc_ledger_view_end(tc_view *v);

/* Where a transaction is on chain: its block height and index in the block.
 * TC_ENOTFOUND if it is not. */
int tc_ledger_tx_location(tc_ledger *L, const tc_hash *txid, uint64_t *height, uint32_t *index) TC_MUST_CHECK;

/* Calls fn for every registered masternode (collateral order) until fn
 * returns non-zero, which is then returned. */
int tc_ledger_each_mn(tc_ledger *L, int (*fn)(void *ctx, const tc_mn *m), void *ctx);

/* Calls fn for every unspent output until fn returns non-zero (returned).
 * A full scan of the UTXO set: for checks and tests, never on a request path
 * (tc_ledger_each_address_utxo is the index's answer). */
int tc_ledger_each_utxo(tc_ledger *L, int (*fn)(void *ctx, const tc_outpoint *o, const tc_utxo *u), void *ctx);

/* Outputs in the UTXO set at the tip and their total value: counters kept
 * with the set by apply and rollback (O(1)), of the same tip as
 * tc_ledger_tip. */
void tc_ledger_utxo_totals(const tc_ledger *L, uint64_t *count, uint64_t *sat);
/* Unspent outputs of address a and their total at the tip, from the address
 * index (one lookup); zeros for an address with none. */
int tc_ledger_address_totals(tc_ledger *L, const tc_address *a, uint64_t *count, uint64_t *sat) TC_MUST_CHECK;
/* Calls fn for the unspent outputs of a in outpoint order (txid, then vout),
 * from the first after *after (NULL: from the first), until fn returns
 * non-zero (returned) or there are no more (0). locked: the output is a
 * masternode's collateral that the next block may not spend (bonded, or
 * unbonding past it). One read transaction that reads only
 * what it hands to fn, so a page of k outputs costs O(k log n), whatever the
 * size of the set. u and o are valid during the call only. */
int tc_ledger_each_address_utxo(tc_ledger *L, const tc_address *a, const tc_outpoint *after,
                                int (*fn)(void *ctx, const tc_outpoint *o, const tc_utxo *u, int locked), void *ctx);

/* Full check of a loose transaction against the tip state (as if included in
 * the next block): basic rules, signatures, inputs. *fee on success. */
int tc_ledger_check_tx(tc_ledger *L, const tc_tx *tx, uint64_t *fee, tc_errmsg *e) TC_MUST_CHECK;

/* The UTXO commitment kept incrementally, and the same recomputed by a full
 * scan of the UTXO table (for consistency checks and tests). */
void tc_ledger_utxo_commitment(const tc_ledger *L, tc_hash *out);
int tc_ledger_scan_utxo_commitment(tc_ledger *L, tc_hash *out) TC_MUST_CHECK;

#endif
