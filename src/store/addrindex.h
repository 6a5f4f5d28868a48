/* The address index: every unspent output's key once more under its
 * address, and per address the number of outputs and their total, so a
 * balance is one lookup and a list of outputs reads only what it returns.
 *
 *   addr_utxo: address (u8 version | hash32) | UTXO key (36) -> empty
 *   addr_sum:  address -> le64 outputs | le64 sat   (absent at zero outputs)
 *
 * An entry carries no record: listing reads it from the UTXO table, and
 * apply writes half the bytes (with the record in it the index made a warm
 * block apply in bench/ledger ~30 % slower, without it ~15 %).
 *
 * The ledger changes it in the write transaction that changes the UTXO table,
 * entry for entry (apply, batched apply, rollback), so the two never disagree
 * after a crash. These functions only touch those two tables; the set-wide
 * totals they also maintain are the caller's to store. */
#ifndef TC_STORE_ADDRINDEX_H
#define TC_STORE_ADDRINDEX_H

#include <stdint.h>

#include "chain/utxo.h"
#include "store/store.h"

#define TC_ADDRINDEX_ADDR_SIZE 33
#define TC_ADDRINDEX_KEY_SIZE (TC_ADDRINDEX_ADDR_SIZE + TC_UTXO_KEY_SIZE)

/* Outputs and their total value (of one address, or of the whole set). */
typedef struct {
    uint64_t count;
    uint64_t sat;
} tc_utxo_totals;

/* Adds (sign > 0) or removes (sign < 0) the unspent output (key, rec) from
 * the index in t (a write transaction) and from *totals. rec is the stored
 * UTXO record of len bytes. 0, TC_ECORRUPT (a record of another size, an
 * entry to remove that is not indexed, totals that would go below zero or
 * overflow), or a store error. */
int tc_addrindex_update(tc_txn *t, const uint8_t key[TC_UTXO_KEY_SIZE], const uint8_t *rec, size_t len, int sign,
                        tc_utxo_totals *totals) TC_MUST_CHECK;

/* Empties both tables and indexes every entry of the UTXO table again; the
 * whole set's totals in *totals. For a store that has no index yet (or a
 * stale one). 0, TC_ECORRUPT or a store error (then t must be aborted). */
int tc_addrindex_rebuild(tc_txn *t, tc_utxo_totals *totals) TC_MUST_CHECK;

/* The outputs and total of address a (zeros when it has none). */
int tc_addrindex_totals(tc_txn *t, const tc_address *a, tc_utxo_totals *out) TC_MUST_CHECK;

/* Calls fn for the unspent outputs of a in outpoint order (txid, then vout),
 * from the first one after *after (NULL: from the first), until fn returns
 * non-zero (returned) or the address has no more (0). Reads only the entries
 * it hands to fn (and one more). */
int tc_addrindex_each(tc_txn *t, const tc_address *a, const tc_outpoint *after,
                      int (*fn)(void *ctx, const tc_outpoint *o, const tc_utxo *u), void *ctx);

#endif
