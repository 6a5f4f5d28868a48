/* Private to src/store/ledger*.c: the ledger's handle, its tip, and the
 * undo-recording tc_state over an LMDB write transaction. Nothing outside
 * the store includes this. */
#ifndef TC_STORE_LEDGER_IMPL_H
#define TC_STORE_LEDGER_IMPL_H

#include "chain/state.h"
#include "chain/transition.h"
#include "crypto/lthash.h"
#include "store/addrindex.h"
#include "store/ledger.h"

#define META_CHAIN_ID "chain_id"
#define META_GENESIS "genesis_hash"
#define META_TIP "tip" /* be64 height | hash32 */
#define META_LTHASH "utxo_lthash"
/* u8 version | hash32 of the tip it was written with | le64 outputs | le64 sat:
 * the UTXO set's totals, and the stamp that says the address index matches
 * that tip (a binary without the index moves the tip but not this). */
#define META_TOTALS "utxo_totals"
#define TOTALS_VERSION 1
#define TOTALS_SIZE 49

/* The tip a block is validated against: the committed one, or inside a batch
 * the last block applied in the open transaction. */
typedef struct {
    uint64_t height;
    tc_hash hash;
    tc_header hdr;
    tc_lthash set;         /* UTXO commitment state */
    tc_utxo_totals totals; /* outputs in the UTXO set and their sum */
} chain_tip;

struct tc_ledger {
    tc_store *store;
    const tc_genesis *g;
    tc_rules rules; /* g, the signature cache and the pool given at open */
    tc_hash genesis_hash;
    chain_tip tip; /* committed: what the store's META_TIP says */
};

/* The chain state inside a write transaction as a tc_state: every write
 * leaves an undo record (u8 table | var key | u8 had_old | [var old]), and
 * every UTXO entry written or removed moves the commitment, the totals and
 * the address index with it. */
typedef struct {
    tc_txn *t;
    tc_buf undo;
    tc_lthash set;
    tc_utxo_totals totals;
    tc_state st;
} ledger_state;

/* A state over t starting from the commitment and totals of *at
 * (log_events off). s->st points into *s: s must not move while it is used. */
void tc_ledger_state_init(ledger_state *s, tc_txn *t, const chain_tip *at);
void tc_ledger_state_release(ledger_state *s);

/* The read view of chain state inside t (any transaction); v->ctx is t. */
void tc_ledger_txn_view(tc_view *v, tc_txn *t);
/* The validator set of `height` inside t (the one recorded at the greatest
 * height ≤ it): 0, TC_ECORRUPT (none, or bad bytes) or a store error. *out
 * is initialized here. */
int tc_ledger_txn_valset(tc_txn *t, uint64_t height, tc_valset *out) TC_MUST_CHECK;
/* Calls fn for every masternode in t in collateral order (tc_mn_each_fn). */
int tc_ledger_txn_each_mn(tc_txn *t, tc_mn_fn fn, void *arg);

/* Writes the tip record, the commitment state and the totals of *at. */
int tc_ledger_write_tip(tc_txn *t, const chain_tip *at) TC_MUST_CHECK;
/* Writes the totals stamped with tip_hash. */
int tc_ledger_write_totals(tc_txn *t, const tc_hash *tip_hash, const tc_utxo_totals *totals) TC_MUST_CHECK;
/* Block, certificate, hash index and undo data of the block at height; the
 * tip record is the caller's, once per transaction. */
int tc_ledger_store_block(tc_txn *t, uint64_t height, const tc_block *blk, const tc_hash *hash, const tc_cert *cert,
                          const tc_buf *undo) TC_MUST_CHECK;

#endif
