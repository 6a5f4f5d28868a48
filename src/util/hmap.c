#include "util/hmap.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/mem.h"

struct tc_hmap {
    size_t key_len;
    size_t cap; /* power of two */
    size_t size;
    uint8_t *keys; /* cap * key_len */
    void **vals;   /* NULL marks an empty slot */
    unsigned char sip[crypto_shorthash_KEYBYTES];
};

static size_t slot_of(const tc_hmap *m, const void *key)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, m->key_len, m->sip);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)v & (m->cap - 1);
}

static void alloc_slots(tc_hmap *m, size_t cap)
{
    m->cap = cap;
    m->keys = tc_xcalloc(cap, m->key_len);
    m->vals = tc_xcalloc(cap, sizeof *m->vals);
}

tc_hmap *tc_hmap_new(size_t key_len)
{
    if (key_len == 0 || key_len > 64) {
        fprintf(stderr, "fatal: tc_hmap_new: key length %zu\n", key_len);
        abort();
    }
    if (sodium_init() < 0)
        abort();
    tc_hmap *m = tc_xcalloc(1, sizeof *m);
    m->key_len = key_len;
    crypto_shorthash_keygen(m->sip);
    alloc_slots(m, 16);
    return m;
}

void tc_hmap_free(tc_hmap *m)
{
    if (m == NULL)
        return;
    free(m->keys);
    free(m->vals);
    free(m);
}

size_t tc_hmap_size(const tc_hmap *m)
{
    return m->size;
}

static size_t find(const tc_hmap *m, const void *key, bool *found)
{
    size_t i = slot_of(m, key);
    while (m->vals[i] != NULL) {
        if (memcmp(m->keys + i * m->key_len, key, m->key_len) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & (m->cap - 1);
    }
    *found = false;
    return i;
}

void *tc_hmap_get(const tc_hmap *m, const void *key)
{
    bool found;
    size_t i = find(m, key, &found);
    return found ? m->vals[i] : NULL;
}

static void grow(tc_hmap *m)
{
    uint8_t *keys = m->keys;
    void **vals = m->vals;
    size_t cap = m->cap;
    alloc_slots(m, cap * 2);
    for (size_t i = 0; i < cap; i++) {
        if (vals[i] == NULL)
            continue;
        bool found;
        size_t j = find(m, keys + i * m->key_len, &found);
        memcpy(m->keys + j * m->key_len, keys + i * m->key_len, m->key_len);
        m->vals[j] = vals[i];
    }
    free(keys);
    free(vals);
}

void tc_hmap_put(tc_hmap *m, const void *key, void *value)
{
    if (value == NULL)
        abort(); /* NULL marks empty slots: a caller bug */
    if ((m->size + 1) * 4 > m->cap * 3)
        grow(m);
    bool found;
    size_t i = find(m, key, &found);
    if (!found) {
        memcpy(m->keys + i * m->key_len, key, m->key_len);
        m->size++;
    }
    m->vals[i] = value;
}

void *tc_hmap_del(tc_hmap *m, const void *key)
{
    bool found;
    size_t i = find(m, key, &found);
    if (!found)
        return NULL;
    void *value = m->vals[i];
    m->vals[i] = NULL;
    m->size--;
    /* Backward-shift: move later entries of the probe run into the hole. */
    size_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & (m->cap - 1);
        if (m->vals[j] == NULL)
            break;
        size_t home = slot_of(m, m->keys + j * m->key_len);
        /* j's entry may move to the hole if its home is not in (hole, j]. */
        bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (between)
            continue;
        memcpy(m->keys + hole * m->key_len, m->keys + j * m->key_len, m->key_len);
        m->vals[hole] = m->vals[j];
        m->vals[j] = NULL;
        hole = j;
    }
    return value;
}

void tc_hmap_each(const tc_hmap *m, void (*fn)(void *ctx, const void *key, void *value), void *ctx)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->vals[i] != NULL)
            fn(ctx, m->keys + i * m->key_len, m->vals[i]);
}
