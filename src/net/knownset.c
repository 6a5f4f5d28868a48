#include "net/knownset.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"

/* One generation: open addressing with linear probing over 2 × limit slots,
 * so the load factor stays ≤ 1/2. */
typedef struct {
    tc_hash *slot;
    uint8_t *used;
    size_t nslots, n, limit;
} gen;

struct tc_knownset {
    gen g[2];
    int cur;
};

static void gen_init(gen *g, size_t limit)
{
    g->limit = limit;
    g->nslots = limit * 2;
    g->slot = tc_xcalloc(g->nslots, sizeof *g->slot);
    g->used = tc_xcalloc(g->nslots, 1);
    g->n = 0;
}

static void gen_clear(gen *g)
{
    memset(g->used, 0, g->nslots);
    g->n = 0;
}

/* Hashes are BLAKE3 outputs (or a peer's choice: a peer can at worst slow its
 * own filter). */
static size_t start_of(const gen *g, const tc_hash *h)
{
    return (size_t)(tc_get_le64(h->b) % g->nslots);
}

static bool gen_has(const gen *g, const tc_hash *h)
{
    for (size_t i = start_of(g, h), k = 0; k < g->nslots; k++, i = (i + 1) % g->nslots) {
        if (!g->used[i])
            return false;
        if (tc_hash_eq(&g->slot[i], h))
            return true;
    }
    return false;
}

static void gen_put(gen *g, const tc_hash *h)
{
    size_t i = start_of(g, h);
    while (g->used[i])
        i = (i + 1) % g->nslots;
    g->used[i] = 1;
    g->slot[i] = *h;
    g->n++;
}

tc_knownset *tc_knownset_new(size_t cap)
{
    if (cap < 2)
        abort();
    tc_knownset *k = tc_xcalloc(1, sizeof *k);
    gen_init(&k->g[0], cap / 2);
    gen_init(&k->g[1], cap / 2);
    return k;
}

void tc_knownset_free(tc_knownset *k)
{
    if (k == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        free(k->g[i].slot);
        free(k->g[i].used);
    }
    free(k);
}

bool tc_knownset_has(const tc_knownset *k, const tc_hash *h)
{
    return gen_has(&k->g[0], h) || gen_has(&k->g[1], h);
}

bool tc_knownset_add(tc_knownset *k, const tc_hash *h)
{
    if (tc_knownset_has(k, h))
        return false;
    gen *g = &k->g[k->cur];
    if (g->n >= g->limit) {
        k->cur ^= 1;
        g = &k->g[k->cur];
        gen_clear(g);
    }
    gen_put(g, h);
    return true;
}

size_t tc_knownset_size(const tc_knownset *k)
{
    return k->g[0].n + k->g[1].n;
}
