/* BLAKE3-256 with domain separation: every use has its own derive-key context
 * string, so a hash computed for one purpose can never be replayed as another. */
#ifndef TC_CRYPTO_HASH_H
#define TC_CRYPTO_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blake3.h"

typedef struct {
    uint8_t b[32];
} tc_hash;

/* One domain per use. The context strings live in hash.c and never change. */
enum tc_hash_domain {
    TC_H_TXID = 0,   /* transaction id (no signatures) */
    TC_H_SIGHASH,    /* what inputs sign: chain id + txid */
    TC_H_BLOCK,      /* block header */
    TC_H_MERKLE,     /* merkle interior node */
    TC_H_ADDRESS,    /* public key -> address hash */
    TC_H_VOTE,       /* prevote / precommit sign bytes */
    TC_H_PROPOSAL,   /* proposal sign bytes */
    TC_H_CERT,       /* commit certificate (last-commit hash) */
    TC_H_VALSET,     /* validator set */
    TC_H_UTXO_ELEM,  /* LtHash element expansion (XOF) */
    TC_H_UTXO_SET,   /* LtHash state -> 32-byte commitment */
    TC_H_HEARTBEAT,  /* masternode heartbeat sign bytes */
    TC_H_HANDSHAKE,  /* P2P version message channel binding */
    TC_H_GENESIS,    /* genesis document */
    TC_H_SIGCACHE,   /* signature-cache entry key */
    TC_H_WAL,        /* consensus durable-state record check */
    TC_H_MNAUTH,     /* masternode link attestation (mnauth) */
    TC_H_DOMAIN_COUNT
};

typedef struct {
    blake3_hasher h;
} tc_hasher;

/* Starts a BLAKE3 hash in domain (a hasher in caller storage; no cleanup).
 * Inputs of different domains never hash alike. */
void tc_hasher_init(tc_hasher *h, enum tc_hash_domain domain);
/* Feeds n bytes at p (n may be 0). */
void tc_hasher_update(tc_hasher *h, const void *p, size_t n);
/* The 32-byte digest of everything fed so far; h is unchanged and may be
 * fed further. */
void tc_hasher_final(const tc_hasher *h, tc_hash *out);
/* Extendable output of any length (LtHash expansion). */
void tc_hasher_final_xof(const tc_hasher *h, uint8_t *out, size_t n);

/* Hash of one buffer in one domain. */
void tc_hash_once(enum tc_hash_domain domain, const void *p, size_t n, tc_hash *out);
/* The context string of a domain (for docs and tests). */
const char *tc_hash_context(enum tc_hash_domain domain);

/* Whether a and b are the same 32 bytes (not constant-time: hashes are public). */
static inline bool tc_hash_eq(const tc_hash *a, const tc_hash *b)
{
    for (int i = 0; i < 32; i++)
        if (a->b[i] != b->b[i])
            return false;
    return true;
}

/* Whether every byte of a is zero (the "none" value of hash fields). */
static inline bool tc_hash_is_zero(const tc_hash *a)
{
    uint8_t acc = 0;
    for (int i = 0; i < 32; i++)
        acc |= a->b[i];
    return acc == 0;
}

#endif
