#include "crypto/hash.h"

#include <stdio.h>
#include <stdlib.h>

/* Consensus-critical: changing any of these strings is a hard fork. */
static const char *const contexts[TC_H_DOMAIN_COUNT] = {
    [TC_H_TXID] = "TimeCoin v1 txid",
    [TC_H_SIGHASH] = "TimeCoin v1 sighash",
    [TC_H_BLOCK] = "TimeCoin v1 block header",
    [TC_H_MERKLE] = "TimeCoin v1 merkle node",
    [TC_H_ADDRESS] = "TimeCoin v1 address",
    [TC_H_VOTE] = "TimeCoin v1 vote",
    [TC_H_PROPOSAL] = "TimeCoin v1 proposal",
    [TC_H_CERT] = "TimeCoin v1 commit certificate",
    [TC_H_VALSET] = "TimeCoin v1 validator set",
    [TC_H_UTXO_ELEM] = "TimeCoin v1 utxo element",
    [TC_H_UTXO_SET] = "TimeCoin v1 utxo set",
    [TC_H_HEARTBEAT] = "TimeCoin v1 heartbeat",
    [TC_H_HANDSHAKE] = "TimeCoin v1 handshake",
    [TC_H_GENESIS] = "TimeCoin v1 genesis",
    [TC_H_SIGCACHE] = "TimeCoin v1 sigcache",
    [TC_H_WAL] = "TimeCoin v1 consensus wal",
    [TC_H_MNAUTH] = "TimeCoin v1 mnauth",
};

const char *tc_hash_context(enum tc_hash_domain domain)
{
    /* An unknown domain is a programming error, never data from outside. */
    if ((unsigned)domain >= TC_H_DOMAIN_COUNT || contexts[domain] == NULL) {
        fprintf(stderr, "fatal: tc_hash: unknown domain %d\n", (int)domain);
        abort();
    }
    return contexts[domain];
}

void tc_hasher_init(tc_hasher *h, enum tc_hash_domain domain)
{
    blake3_hasher_init_derive_key(&h->h, tc_hash_context(domain));
}

void tc_hasher_update(tc_hasher *h, const void *p, size_t n)
{
    if (n > 0)
        blake3_hasher_update(&h->h, p, n);
}

void tc_hasher_final(const tc_hasher *h, tc_hash *out)
{
    blake3_hasher_finalize(&h->h, out->b, sizeof out->b);
}

void tc_hasher_final_xof(const tc_hasher *h, uint8_t *out, size_t n)
{
    blake3_hasher_finalize(&h->h, out, n);
}

void tc_hash_once(enum tc_hash_domain domain, const void *p, size_t n, tc_hash *out)
{
    tc_hasher h;
    tc_hasher_init(&h, domain);
    tc_hasher_update(&h, p, n);
    tc_hasher_final(&h, out);
}
