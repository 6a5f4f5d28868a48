/* LtHash (Bellare–Micciancio; Lewi et al., "Securing update propagation with
 * homomorphic hashing", 2019): a multiset hash that is updated in O(1) per
 * element, so the UTXO-set commitment never needs a full scan.
 *
 * State: 1024 lanes of 16 bits. An element is expanded with BLAKE3's XOF
 * (domain TC_H_UTXO_ELEM) to 2048 bytes and added (or subtracted) lane-wise
 * mod 2^16. The 32-byte commitment is BLAKE3 (domain TC_H_UTXO_SET) of the
 * state serialized little-endian. */
#ifndef TC_CRYPTO_LTHASH_H
#define TC_CRYPTO_LTHASH_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"

#define TC_LTHASH_LANES 1024
#define TC_LTHASH_BYTES (TC_LTHASH_LANES * 2)

typedef struct {
    uint16_t lane[TC_LTHASH_LANES];
} tc_lthash;

/* The empty multiset (all lanes zero). */
void tc_lthash_init(tc_lthash *s);
/* Adds / removes one element (n bytes, expanded by BLAKE3 XOF in
 * TC_H_UTXO_ELEM) lane-wise mod 2^16: order does not matter, and removing
 * what was added restores the state exactly. */
void tc_lthash_add(tc_lthash *s, const void *elem, size_t n);
void tc_lthash_sub(tc_lthash *s, const void *elem, size_t n);
/* The 32-byte commitment: BLAKE3 (TC_H_UTXO_SET) of the serialized lanes. */
void tc_lthash_digest(const tc_lthash *s, tc_hash *out);
/* Little-endian serialization (TC_LTHASH_BYTES) for the store, and back. */
void tc_lthash_serialize(const tc_lthash *s, uint8_t out[TC_LTHASH_BYTES]);
void tc_lthash_deserialize(tc_lthash *s, const uint8_t in[TC_LTHASH_BYTES]);

#endif
