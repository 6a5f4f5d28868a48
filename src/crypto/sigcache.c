#include "crypto/sigcache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "util/buf.h"
#include "util/mem.h"

#define NIL ((size_t)-1)

/* Entries live in a ring in insertion order, so the oldest is always the next
 * slot to overwrite; buckets chain entries by key for lookup. Keys are BLAKE3
 * outputs, so their first bytes are already a uniform bucket index. */
struct entry {
    tc_hash key;
    size_t next; /* next entry in the same bucket, or NIL */
};

struct tc_sigcache {
    pthread_mutex_t mu;
    size_t capacity;
    size_t count;
    size_t oldest; /* ring index of the next entry to evict once full */
    size_t bucket_mask;
    size_t *buckets;
    struct entry *entries;
    uint64_t hits;
    uint64_t verifies;
};

tc_sigcache *tc_sigcache_new(size_t capacity)
{
    tc_sigcache *c = tc_xcalloc(1, sizeof *c);
    size_t nbuckets = 1;
    while (nbuckets < capacity && nbuckets < ((size_t)-1 >> 2))
        nbuckets <<= 1;
    c->capacity = capacity;
    c->bucket_mask = nbuckets - 1;
    c->buckets = tc_xcalloc(nbuckets, sizeof *c->buckets);
    for (size_t i = 0; i < nbuckets; i++)
        c->buckets[i] = NIL;
    c->entries = tc_xcalloc(capacity, sizeof *c->entries);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void tc_sigcache_free(tc_sigcache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->buckets);
    free(c->entries);
    free(c);
}

static size_t bucket_of(const tc_sigcache *c, const tc_hash *key)
{
    return (size_t)tc_get_le64(key->b) & c->bucket_mask;
}

static bool lookup(const tc_sigcache *c, const tc_hash *key)
{
    for (size_t i = c->buckets[bucket_of(c, key)]; i != NIL; i = c->entries[i].next)
        if (tc_hash_eq(&c->entries[i].key, key))
            return true;
    return false;
}

static void unlink_entry(tc_sigcache *c, size_t idx)
{
    size_t *link = &c->buckets[bucket_of(c, &c->entries[idx].key)];
    while (*link != idx)
        link = &c->entries[*link].next;
    *link = c->entries[idx].next;
}

static void insert(tc_sigcache *c, const tc_hash *key)
{
    size_t idx;
    if (c->capacity == 0 || lookup(c, key))
        return;
    if (c->count < c->capacity) {
        idx = c->count++;
    } else {
        idx = c->oldest;
        unlink_entry(c, idx);
        c->oldest = (c->oldest + 1) % c->capacity;
    }
    size_t b = bucket_of(c, key);
    c->entries[idx].key = *key;
    c->entries[idx].next = c->buckets[b];
    c->buckets[b] = idx;
}

static void entry_key(tc_hash *key, const tc_pubkey *pk, const void *msg, size_t n,
                      const tc_sig *sig)
{
    tc_hasher h;
    tc_hasher_init(&h, TC_H_SIGCACHE);
    tc_hasher_update(&h, pk->b, sizeof pk->b);
    tc_hasher_update(&h, sig->b, sizeof sig->b);
    tc_hasher_update(&h, msg, n);
    tc_hasher_final(&h, key);
}

int tc_sigcache_verify(tc_sigcache *c, const tc_pubkey *pk, const void *msg, size_t n,
                       const tc_sig *sig)
{
    tc_hash key;
    bool hit;
    int rc;

    if (c == NULL)
        return tc_verify(pk, msg, n, sig);

    entry_key(&key, pk, msg, n, sig);
    pthread_mutex_lock(&c->mu);
    hit = lookup(c, &key);
    if (hit)
        c->hits++;
    pthread_mutex_unlock(&c->mu);
    if (hit)
        return 0;

    /* Verify unlocked so threads check different signatures in parallel; two
     * threads racing on the same one both verify and insert() dedups. */
    rc = tc_verify(pk, msg, n, sig);

    pthread_mutex_lock(&c->mu);
    c->verifies++;
    if (rc == 0)
        insert(c, &key);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void tc_sigcache_get_stats(tc_sigcache *c, tc_sigcache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    out->hits = c->hits;
    out->verifies = c->verifies;
    out->entries = c->count;
    pthread_mutex_unlock(&c->mu);
}
