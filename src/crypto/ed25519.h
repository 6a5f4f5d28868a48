/* Ed25519 over libsodium: keypair from a 32-byte seed, sign, strict verify.
 * Secret keys are wiped with tc_keypair_wipe on every path that drops them. */
#ifndef TC_CRYPTO_ED25519_H
#define TC_CRYPTO_ED25519_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/err.h"

typedef struct {
    uint8_t b[32];
} tc_pubkey;

/* Same key (public data: no constant time needed). */
static inline bool tc_pubkey_eq(const tc_pubkey *a, const tc_pubkey *b)
{
    return memcmp(a->b, b->b, sizeof a->b) == 0;
}

typedef struct {
    uint8_t b[64];
} tc_sig;

typedef struct {
    uint8_t sk[64]; /* libsodium layout: seed || public key */
    tc_pubkey pk;
} tc_keypair;

/* Calls sodium_init once; returns 0 or TC_ECRYPTO. Safe from any thread. */
int tc_crypto_init(void) TC_MUST_CHECK;

/* The keypair of a 32-byte seed (deterministic). The caller wipes seed and,
 * after use, kp (tc_keypair_wipe). */
void tc_keypair_from_seed(tc_keypair *kp, const uint8_t seed[32]);
/* Fresh random keypair from libsodium's CSPRNG. */
void tc_keypair_generate(tc_keypair *kp);
/* The 32-byte seed of kp (the secret to store). */
void tc_keypair_seed(const tc_keypair *kp, uint8_t seed[32]);
/* Zeroes kp (secret included) so that no copy of the key stays in memory. */
void tc_keypair_wipe(tc_keypair *kp);

/* The Ed25519 signature of (msg, n) by kp into *sig (deterministic). */
void tc_sign(const tc_keypair *kp, const void *msg, size_t n, tc_sig *sig);
/* Strict verification (canonical s, no small-order keys). 0 or TC_ESIG. */
int tc_verify(const tc_pubkey *pk, const void *msg, size_t n, const tc_sig *sig) TC_MUST_CHECK;

#endif
