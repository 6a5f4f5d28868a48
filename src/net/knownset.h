/* A bounded set of inventory hashes a peer is known to have (it announced or
 * sent them, or we sent them to it), so relay never echoes an item back and
 * never announces one twice. Two generations of at most `cap / 2` each: when
 * the current one fills, the older is forgotten. Memory is fixed at creation. */
#ifndef TC_NET_KNOWNSET_H
#define TC_NET_KNOWNSET_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/hash.h"

typedef struct tc_knownset tc_knownset;

/* cap ≥ 2. */
tc_knownset *tc_knownset_new(size_t cap);
void tc_knownset_free(tc_knownset *k); /* NULL is a no-op */
/* Adds h; returns true if it was not known yet. */
bool tc_knownset_add(tc_knownset *k, const tc_hash *h);
bool tc_knownset_has(const tc_knownset *k, const tc_hash *h);
/* Items currently remembered (≤ cap). */
size_t tc_knownset_size(const tc_knownset *k);

#endif
