/* Transaction requests (txreq.h). */
#include "node/txreq.h"

#include <stdlib.h>
#include <string.h>

#include "util/hmap.h"
#include "util/mem.h"

typedef struct {
    tc_hash h;
    uint64_t asked;    /* the peer asked */
    uint64_t asked_at; /* when */
    uint64_t alts[TC_TXREQ_ALTS];
    size_t n_alts;
} entry;

typedef struct {
    size_t n; /* requests outstanding to this peer */
} peer_count;

struct tc_txreq {
    tc_hmap *byhash; /* tc_hash -> entry */
    tc_hmap *bypeer; /* uint64_t -> peer_count, present while n > 0 */
    size_t max_hashes, max_per_peer;
    uint64_t timeout_ms;
};

tc_txreq *tc_txreq_new(size_t max_hashes, size_t max_per_peer, uint64_t timeout_ms)
{
    tc_txreq *q = tc_xcalloc(1, sizeof *q);
    q->byhash = tc_hmap_new(sizeof(tc_hash));
    q->bypeer = tc_hmap_new(sizeof(uint64_t));
    q->max_hashes = max_hashes;
    q->max_per_peer = max_per_peer;
    q->timeout_ms = timeout_ms;
    return q;
}

static void free_value(void *ctx, const void *key, void *value)
{
    (void)ctx;
    (void)key;
    free(value);
}

void tc_txreq_free(tc_txreq *q)
{
    if (q == NULL)
        return;
    tc_hmap_each(q->byhash, free_value, NULL);
    tc_hmap_each(q->bypeer, free_value, NULL);
    tc_hmap_free(q->byhash);
    tc_hmap_free(q->bypeer);
    free(q);
}

size_t tc_txreq_size(const tc_txreq *q)
{
    return tc_hmap_size(q->byhash);
}

size_t tc_txreq_outstanding(const tc_txreq *q, uint64_t peer)
{
    const peer_count *c = tc_hmap_get(q->bypeer, &peer);
    return c ? c->n : 0;
}

static void count_up(tc_txreq *q, uint64_t peer)
{
    peer_count *c = tc_hmap_get(q->bypeer, &peer);
    if (c == NULL) {
        c = tc_xcalloc(1, sizeof *c);
        tc_hmap_put(q->bypeer, &peer, c);
    }
    c->n++;
}

static void count_down(tc_txreq *q, uint64_t peer)
{
    peer_count *c = tc_hmap_get(q->bypeer, &peer);
    if (c && --c->n == 0)
        free(tc_hmap_del(q->bypeer, &peer));
}

static void ask_peer(tc_txreq *q, entry *e, uint64_t peer, uint64_t now)
{
    e->asked = peer;
    e->asked_at = now;
    count_up(q, peer);
}

static bool has_alt(const entry *e, uint64_t peer)
{
    for (size_t i = 0; i < e->n_alts; i++)
        if (e->alts[i] == peer)
            return true;
    return false;
}

bool tc_txreq_announced(tc_txreq *q, uint64_t peer, const tc_hash *h, uint64_t now)
{
    entry *e = tc_hmap_get(q->byhash, h);
    if (e) {
        if (e->asked != peer && !has_alt(e, peer) && e->n_alts < TC_TXREQ_ALTS)
            e->alts[e->n_alts++] = peer; /* asked again if the first does not answer */
        return false;
    }
    if (tc_hmap_size(q->byhash) >= q->max_hashes || tc_txreq_outstanding(q, peer) >= q->max_per_peer)
        return false;
    e = tc_xcalloc(1, sizeof *e);
    e->h = *h;
    tc_hmap_put(q->byhash, h, e);
    ask_peer(q, e, peer, now);
    return true;
}

static void forget(tc_txreq *q, entry *e)
{
    count_down(q, e->asked);
    free(tc_hmap_del(q->byhash, &e->h));
}

void tc_txreq_received(tc_txreq *q, const tc_hash *h)
{
    entry *e = tc_hmap_get(q->byhash, h);
    if (e)
        forget(q, e);
}

/* The asked peer failed: the first alternative with room is asked (true),
 * or the hash is forgotten (false). */
static bool next_announcer(tc_txreq *q, entry *e, uint64_t now, tc_txreq_ask_fn ask, void *ctx)
{
    count_down(q, e->asked);
    while (e->n_alts > 0) {
        uint64_t peer = e->alts[0];
        memmove(e->alts, e->alts + 1, --e->n_alts * sizeof e->alts[0]);
        if (tc_txreq_outstanding(q, peer) < q->max_per_peer) {
            ask_peer(q, e, peer, now);
            ask(ctx, peer, &e->h);
            return true;
        }
    }
    free(tc_hmap_del(q->byhash, &e->h));
    return false;
}

typedef struct {
    const tc_txreq *q;
    uint64_t now, peer; /* peer: UINT64_MAX for the timeout walk */
    entry **found;
    size_t n;
} walk;

static void collect(void *ctx, const void *key, void *value)
{
    (void)key;
    walk *w = ctx;
    entry *e = value;
    bool hit = w->peer == UINT64_MAX ? w->now - e->asked_at >= w->q->timeout_ms || w->now < e->asked_at
                                     : e->asked == w->peer || has_alt(e, w->peer);
    if (hit)
        w->found[w->n++] = e;
}

/* The entries that match (timed out, or naming peer), collected first:
 * the map cannot change during its walk. */
static size_t matching(tc_txreq *q, uint64_t now, uint64_t peer, entry ***out)
{
    walk w = {q, now, peer, tc_xcalloc(tc_hmap_size(q->byhash) + 1, sizeof(entry *)), 0};
    tc_hmap_each(q->byhash, collect, &w);
    *out = w.found;
    return w.n;
}

void tc_txreq_peer_down(tc_txreq *q, uint64_t peer, uint64_t now, tc_txreq_ask_fn ask, void *ctx)
{
    entry **found;
    size_t n = matching(q, now, peer, &found);
    for (size_t i = 0; i < n; i++) {
        entry *e = found[i];
        for (size_t k = 0; k < e->n_alts; k++)
            if (e->alts[k] == peer) {
                memmove(e->alts + k, e->alts + k + 1, (e->n_alts - k - 1) * sizeof e->alts[0]);
                e->n_alts--;
                break;
            }
        if (e->asked == peer)
            (void)next_announcer(q, e, now, ask, ctx);
    }
    free(found);
}

void tc_txreq_expire(tc_txreq *q, uint64_t now, tc_txreq_ask_fn ask, void *ctx)
{
    entry **found;
    size_t n = matching(q, now, UINT64_MAX, &found);
    for (size_t i = 0; i < n; i++)
        (void)next_announcer(q, found[i], now, ask, ctx);
    free(found);
}
