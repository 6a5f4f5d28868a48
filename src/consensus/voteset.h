/* Vote sets of one height, keyed by (round, type): at most one vote per
 * validator per key, weight tallies per value (nil included), and the first
 * conflicting vote kept as double-sign evidence.
 *
 * Memory is bounded: at most TC_VOTESET_MAX_ROUNDS rounds are held. A vote for
 * a new round when the table is full evicts the lowest unprotected round below
 * it, or is refused (TC_ELIMIT). The caller admits only rounds it cares about
 * and protects the ones the algorithm still needs (current, locked, valid). */
#ifndef TC_CONSENSUS_VOTESET_H
#define TC_CONSENSUS_VOTESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/valset.h"
#include "chain/vote.h"

#define TC_VOTESET_MAX_ROUNDS 32
#define TC_VOTESET_MAX_PROTECT 4

typedef struct tc_voteset tc_voteset;

/* A set for `height` over vs, which is borrowed and must outlive the set. */
tc_voteset *tc_voteset_new(const tc_valset *vs, uint64_t height);
void tc_voteset_free(tc_voteset *s); /* NULL is a no-op */

/* Adds v cast by validator idx (the caller checked height, membership and
 * signature). Returns 0 when stored; TC_ECONS_DUP for the same vote again or
 * a third value; TC_ECONS_CONFLICT for the first vote that conflicts with the
 * stored one, which is copied to *prev (the conflicting vote is kept and
 * counted for its value too: a quorum for v is a quorum of senders of v);
 * TC_ELIMIT when the round table is full. */
int tc_voteset_add(tc_voteset *s, const tc_vote *v, size_t idx, tc_vote *prev);

/* The vote of validator idx at (round, type), or NULL. Valid until the next add. */
const tc_vote *tc_voteset_get(const tc_voteset *s, uint32_t round, uint8_t type, size_t idx);
/* The vote of validator idx at (round, type) for value (first or conflicting), or NULL. */
const tc_vote *tc_voteset_get_for(const tc_voteset *s, uint32_t round, uint8_t type, size_t idx,
                                  const tc_hash *value);
/* Weight voting for value (all-zero: nil) at (round, type). */
uint64_t tc_voteset_weight(const tc_voteset *s, uint32_t round, uint8_t type, const tc_hash *value);
/* Weight of all votes at (round, type), whatever the value. */
uint64_t tc_voteset_weight_any(const tc_voteset *s, uint32_t round, uint8_t type);

/* Rounds that are never evicted (up to TC_VOTESET_MAX_PROTECT; extra ignored). */
void tc_voteset_protect(tc_voteset *s, const uint32_t *rounds, size_t n);
/* Number of rounds held and of votes held, conflicting ones included. */
size_t tc_voteset_rounds(const tc_voteset *s);
size_t tc_voteset_votes(const tc_voteset *s);

#endif
