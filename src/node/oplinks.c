#include "node/oplinks.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

typedef struct {
    uint64_t peer;
    tc_pubkey key;
} link;

typedef struct {
    tc_pubkey key;
    uint64_t height; /* the consensus height when its last link closed */
} gone_key;

struct tc_oplinks {
    link *v;
    size_t n, cap;
    gone_key gone[TC_OPLINKS_GONE_MAX]; /* oldest first */
    size_t n_gone;
};

tc_oplinks *tc_oplinks_new(void)
{
    return tc_xcalloc(1, sizeof(tc_oplinks));
}

void tc_oplinks_free(tc_oplinks *o)
{
    if (o == NULL)
        return;
    free(o->v);
    free(o);
}

static long find_gone(const tc_oplinks *o, const tc_pubkey *key)
{
    for (size_t i = 0; i < o->n_gone; i++)
        if (tc_pubkey_eq(&o->gone[i].key, key))
            return (long)i;
    return -1;
}

static void ungone(tc_oplinks *o, const tc_pubkey *key)
{
    long i = find_gone(o, key);
    if (i < 0)
        return;
    memmove(&o->gone[i], &o->gone[i + 1], (o->n_gone - (size_t)i - 1) * sizeof o->gone[0]);
    o->n_gone--;
}

int tc_oplinks_attest(tc_oplinks *o, uint64_t peer, const tc_pubkey *key)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->v[i].peer == peer)
            return tc_pubkey_eq(&o->v[i].key, key) ? 0 : TC_EEXIST;
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 16;
        o->v = tc_xrealloc(o->v, o->cap * sizeof *o->v);
    }
    o->v[o->n++] = (link){peer, *key};
    ungone(o, key);
    return 0;
}

bool tc_oplinks_down(tc_oplinks *o, uint64_t peer, uint64_t height, tc_pubkey *key)
{
    size_t i = 0;
    while (i < o->n && o->v[i].peer != peer)
        i++;
    if (i == o->n)
        return false;
    *key = o->v[i].key;
    o->v[i] = o->v[--o->n];
    if (tc_oplinks_count(o, key) > 0)
        return false;
    if (o->n_gone == TC_OPLINKS_GONE_MAX) { /* forget the oldest */
        memmove(&o->gone[0], &o->gone[1], (TC_OPLINKS_GONE_MAX - 1) * sizeof o->gone[0]);
        o->n_gone--;
    }
    o->gone[o->n_gone++] = (gone_key){*key, height};
    return true;
}

bool tc_oplinks_operator(const tc_oplinks *o, uint64_t peer, tc_pubkey *key)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->v[i].peer == peer) {
            *key = o->v[i].key;
            return true;
        }
    return false;
}

size_t tc_oplinks_count(const tc_oplinks *o, const tc_pubkey *key)
{
    size_t k = 0;
    for (size_t i = 0; i < o->n; i++)
        k += tc_pubkey_eq(&o->v[i].key, key);
    return k;
}

bool tc_oplinks_gone(const tc_oplinks *o, const tc_pubkey *key)
{
    return find_gone(o, key) >= 0;
}

bool tc_oplinks_heard(tc_oplinks *o, const tc_pubkey *key, uint64_t height)
{
    long i = find_gone(o, key);
    if (i < 0 || height <= o->gone[i].height + 1)
        return false;
    ungone(o, key);
    return true;
}
