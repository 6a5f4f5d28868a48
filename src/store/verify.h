/* Checks of a store against itself: a cheap one at every start (the tip)
 * and the full one of `timed --verify-store` (every block). Both name the
 * file and the remedy in their message; neither writes. */
#ifndef TC_STORE_VERIFY_H
#define TC_STORE_VERIFY_H

#include <stddef.h>

#include "store/ledger.h"
#include "util/err.h"

/* tc_ledger_open, then tc_verify_tip: a store that is truncated, whose tip
 * disagrees with its header or UTXO state, or whose tip certificate does not
 * verify is refused with TC_ECORRUPT, the file and the remedy (resync or
 * restore) in e. The node's start and --verify-store open through this. */
int tc_verify_open(tc_ledger **out, const char *dir, const tc_genesis *g, const tc_ledger_opts *opts,
                   tc_errmsg *e) TC_MUST_CHECK;

/* The tip's certificate decodes and certifies the tip block under the
 * validator set of its height (tc_ledger_open already checked the tip's
 * header hash against the stored one and the kept UTXO commitment against
 * the header). dir is the store's directory, for the message. 0, or
 * TC_ECORRUPT with the file, the height and the remedy in e. */
int tc_verify_tip(tc_ledger *L, const char *dir, tc_errmsg *e) TC_MUST_CHECK;

/* Every block from 1 to the tip: decodes, its header hash is indexed at its
 * height, it links to the one below (genesis for 1), its certificate
 * certifies it under its height's validator set, every transaction's index
 * entry names it; then the UTXO commitment recomputed from the UTXO table
 * equals the tip header's. 0 with a one-line summary in summary (cap bytes),
 * or TC_ECORRUPT (or the store's error) naming the first damage and the
 * remedy in e. Reads the whole chain: minutes on a long one. */
int tc_verify_store(tc_ledger *L, const char *dir, char *summary, size_t cap, tc_errmsg *e) TC_MUST_CHECK;

#endif
