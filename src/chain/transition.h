/* The state-transition function of the chain (docs/chain.md, "Block rules",
 * "Where the rules live"): whether a block may follow its parent, and what it
 * does to the chain state, written against a tc_state. The store hosts it
 * (store/ledger.h: apply, check, build); the unit tests run it over memory.
 *
 * On failure a tc_state may hold part of a block's effects: the caller
 * discards them (the store aborts its transaction). Rejections return their
 * TC_E* code with what and where in *e; a state error passes through with
 * "store:" in the message. */
#ifndef TC_CHAIN_TRANSITION_H
#define TC_CHAIN_TRANSITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"
#include "chain/genesis.h"
#include "chain/state.h"
#include "crypto/sigcache.h"
#include "util/pool.h"

/* The chain a block is checked for and where its signature work goes. */
typedef struct {
    const tc_genesis *g; /* chain id, consensus and network parameters */
    tc_sigcache *cache;  /* may be NULL */
    tc_pool *pool;       /* may be NULL: signatures checked in the caller */
    /* true: a block's last commit is checked (hash, target, signers,
     * quorum) but its signatures are not. Only for a block that a later
     * certificate, verified under the same validator set, proves with the
     * hash links between them (store/ledger.h's batches). */
    bool lazy_last_commit;
} tc_rules;

/* Writes the state the genesis block of g creates into st (empty before):
 * its outputs, its coinbase in the tx index, the genesis masternodes, the
 * validator set of height 1. TC_ECORRUPT if the resulting UTXO commitment is
 * not the genesis header's. */
int tc_genesis_apply(const tc_state *st, const tc_genesis *g) TC_MUST_CHECK;

/* The header rules of blk as the child of the block (parent, parent_hash)
 * against st (the parent's state): version, chain id, height, previous hash,
 * the parent rule of time and, with now_ms (NULL for a certified block), the
 * clock rule; size, one coinbase and first, proposer in the validator set of
 * the height and its hash in the header, last commit: its hash, empty at
 * height 1, else a valid certificate of the parent. On success *vs is the
 * validator set of blk's height (initialized here; the caller releases it). */
int tc_block_check_header(const tc_rules *r, const tc_state *st, const tc_header *parent, const tc_hash *parent_hash,
                          const tc_block *blk, const uint64_t *now_ms, tc_valset *vs, tc_errmsg *e) TC_MUST_CHECK;

/* The validator set whose signers the coinbase of block `height` pays:
 * height − 1's, or at height 1 the set of height 1. *out initialized here. */
int tc_block_reward_set(const tc_state *st, uint64_t height, tc_valset *out) TC_MUST_CHECK;

/* The effects of a non-coinbase tx at (height, index) that passed
 * tc_tx_check_inputs against st: its inputs spent (spending a collateral
 * deregisters the masternode), its outputs created, its masternode
 * transition, its id in the tx index. 0 or the state's error. */
int tc_tx_apply(const tc_state *st, const tc_consensus_params *cp, uint64_t height, const tc_tx *tx,
                const tc_hash *txid, uint32_t index) TC_MUST_CHECK;

/* The end of block `height`, the same whether it is applied or built: the
 * coinbase's outputs (flagged TC_UTXO_COINBASE) and its id in the tx index,
 * proof of service over last_commit, and the validator set of height + 1
 * derived from the masternode table, recorded when it differs from
 * height's. 0 or the state's error (TC_ECORRUPT for an empty set). */
int tc_block_finish(const tc_state *st, const tc_consensus_params *cp, uint64_t height, const tc_tx *coinbase,
                    const tc_hash *coinbase_id, const tc_cert *last_commit) TC_MUST_CHECK;

/* Validates blk as the child of (parent, parent_hash) and applies it to st
 * (the parent's state): the header rules, the merkle root, every
 * transaction's basic rules and signatures (across r->pool), each one's
 * inputs in order (a later one may spend an earlier one's outputs), the
 * coinbase paying exactly the reward and fees, then tc_block_finish, and the
 * UTXO commitment after it all equal to the header's. now_ms as for
 * tc_block_check_header. On success *vs is the validator set of blk's height,
 * for its certificate (initialized here; the caller releases it). */
int tc_block_apply(const tc_rules *r, const tc_state *st, const tc_header *parent, const tc_hash *parent_hash,
                   const tc_block *blk, const uint64_t *now_ms, tc_valset *vs, tc_errmsg *e) TC_MUST_CHECK;

/* Builds into *out the child of (parent, parent_hash) that `proposer`, whose
 * wall clock reads time_ms, proposes from the candidates txs[0..n) in that
 * order, applying it to st as it goes (tc_tx_apply, then tc_block_finish:
 * st ends as tc_block_apply of *out would leave it). Invalid candidates and
 * ones past the size limit are skipped (count in *skipped if not NULL). The
 * block is dated tc_block_next_time (TC_EBLK_TIME if none passes the clock
 * rule at time_ms). last_commit certifies the parent (empty at height 1).
 * *out is released on failure. */
int tc_block_build(const tc_rules *r, const tc_state *st, const tc_header *parent, const tc_hash *parent_hash,
                   const tc_tx *const *txs, size_t n, uint64_t time_ms, const tc_pubkey *proposer,
                   const tc_cert *last_commit, tc_block *out, size_t *skipped, tc_errmsg *e) TC_MUST_CHECK;

#endif
