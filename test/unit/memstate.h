/* Test fixture: chain state in memory, implementing tc_state
 * (chain/state.h) with no store at all, so the rules of chain/transition.h
 * and chain/mnstate.h run in a unit test without LMDB. Sorted arrays with
 * linear search: a few hundred entries at most. Aborts on misuse. */
#ifndef TC_TEST_MEMSTATE_H
#define TC_TEST_MEMSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "chain/state.h"
#include "crypto/lthash.h"

typedef struct {
    tc_outpoint o;
    tc_utxo u;
} memstate_utxo;

typedef struct {
    tc_hash txid;
    uint64_t height;
    uint32_t index;
} memstate_tx;

typedef struct {
    uint64_t height; /* first height it is the set of */
    tc_valset vs;
} memstate_valset;

typedef struct {
    size_t n_utxo, n_mn, n_tx, n_vs;
    memstate_utxo *utxo; /* by UTXO key */
    tc_mn *mn;           /* by collateral key */
    memstate_tx *tx;     /* by txid */
    memstate_valset *vs; /* by height */
    tc_lthash set;       /* the UTXO commitment, kept with every put and del */
    size_t writes;       /* state writes so far (any kind) */
    tc_state st;         /* points into this memstate: it must not move */
} memstate;

/* An empty state (commitment of the empty set). */
void memstate_init(memstate *m);
void memstate_release(memstate *m);
/* dst (uninitialized) becomes a copy of src. */
void memstate_copy(memstate *dst, const memstate *src);
/* 1 if a and b hold the same entries and commitment, 0 if not. */
int memstate_equal(const memstate *a, const memstate *b);

#endif
