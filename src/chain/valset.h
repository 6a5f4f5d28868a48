/* A validator set: validators sorted by public key, each with its weight and
 * reward address. Quorum is more than 2/3 of the total weight:
 * q = floor(2W/3) + 1. */
#ifndef TC_CHAIN_VALSET_H
#define TC_CHAIN_VALSET_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/address.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct {
    tc_pubkey key; /* operator (consensus) key */
    uint64_t weight;
    tc_address reward;
} tc_validator;

typedef struct {
    size_t n;
    tc_validator *v; /* sorted by key, unique */
    uint64_t total;  /* sum of weights */
} tc_valset;

/* Caller storage: _init makes an empty set, _release frees it, _copy makes
 * dst (initialized or released) an independent copy of src. */
void tc_valset_init(tc_valset *s);
void tc_valset_release(tc_valset *s);
void tc_valset_copy(tc_valset *dst, const tc_valset *src);
/* Adds a validator keeping the order; TC_EEXIST for a duplicate key,
 * TC_ELIMIT past TC_MAX_VALIDATORS, TC_EINVAL for weight 0. */
int tc_valset_add(tc_valset *s, const tc_pubkey *key, uint64_t weight,
                  const tc_address *reward) TC_MUST_CHECK;
/* Index of key, or -1. O(log n). */
long tc_valset_find(const tc_valset *s, const tc_pubkey *key);
/* floor(2 * total / 3) + 1. */
uint64_t tc_valset_quorum(const tc_valset *s);
/* More than 1/3 of the total weight (round-skip threshold): floor(W/3) + 1. */
uint64_t tc_valset_one_third(const tc_valset *s);
/* BLAKE3 (TC_H_VALSET) of the encoding. */
void tc_valset_hash(const tc_valset *s, tc_hash *out);
/* Appends the set's canonical encoding (what tc_valset_hash hashes) to b. */
void tc_valset_encode(const tc_valset *s, tc_buf *b);
/* Decodes and checks order, uniqueness and weights; *s is released on failure. */
int tc_valset_decode(tc_valset *s, const uint8_t *p, size_t len) TC_MUST_CHECK;

#endif
