/* A bounded, thread-safe cache of signatures already verified, so a
 * transaction checked on mempool admission is not verified again when its
 * block is applied. Only successes are cached. Keys are BLAKE3
 * (TC_H_SIGCACHE) of public key, signature and message. */
#ifndef TC_CRYPTO_SIGCACHE_H
#define TC_CRYPTO_SIGCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ed25519.h"

typedef struct tc_sigcache tc_sigcache;

/* A cache holding up to capacity entries (oldest evicted first). */
tc_sigcache *tc_sigcache_new(size_t capacity);
void tc_sigcache_free(tc_sigcache *c); /* NULL is a no-op */

/* Verifies like tc_verify, consulting and filling the cache. c may be NULL
 * (plain verify). Returns 0 or TC_ESIG. Safe from any thread. */
int tc_sigcache_verify(tc_sigcache *c, const tc_pubkey *pk, const void *msg, size_t n,
                       const tc_sig *sig) TC_MUST_CHECK;

typedef struct {
    uint64_t hits;     /* answered from the cache */
    uint64_t verifies; /* real Ed25519 verifications */
    uint64_t entries;
} tc_sigcache_stats;

/* The counters so far into *out (all zero for a NULL c). Any thread. */
void tc_sigcache_get_stats(tc_sigcache *c, tc_sigcache_stats *out);

#endif
