#include "node/candidates.h"

#include <stdlib.h>
#include <string.h>

#include "consensus/core.h"
#include "util/mem.h"

_Static_assert(TC_CANDS_PROTECT < TC_CANDS_ROUNDS, "a protected block must always find a slot");

struct tc_cands {
    tc_cand **v;
    size_t n, cap;
};

tc_cands *tc_cands_new(void)
{
    return tc_xcalloc(1, sizeof(tc_cands));
}

static void release(tc_cand *c)
{
    tc_block_release(&c->blk);
    tc_buf_release(&c->raw);
    free(c);
}

/* Removes entry i (order is not kept). */
static void remove_at(tc_cands *cs, size_t i)
{
    release(cs->v[i]);
    cs->v[i] = cs->v[--cs->n];
}

void tc_cands_free(tc_cands *cs)
{
    if (cs == NULL)
        return;
    while (cs->n)
        remove_at(cs, cs->n - 1);
    free(cs->v);
    free(cs);
}

const tc_cand *tc_cands_find(const tc_cands *cs, uint64_t height, const tc_hash *hash)
{
    for (size_t i = 0; i < cs->n; i++)
        if (cs->v[i]->height == height && tc_hash_eq(&cs->v[i]->hash, hash))
            return cs->v[i];
    return NULL;
}

const tc_cand *tc_cands_find_hash(const tc_cands *cs, const tc_hash *hash)
{
    for (size_t i = 0; i < cs->n; i++)
        if (tc_hash_eq(&cs->v[i]->hash, hash))
            return cs->v[i];
    return NULL;
}

static bool is_protected(const tc_cands_at *at, const tc_hash *h)
{
    for (size_t i = 0; i < at->n_protect; i++)
        if (tc_hash_eq(&at->protect[i], h))
            return true;
    return false;
}

static bool beyond_window(const tc_cands_at *at, uint32_t round)
{
    return (uint64_t)round > (uint64_t)at->round + TC_CORE_ROUND_WINDOW;
}

/* Index of the entry to evict so block h of `round` at the current height
 * fits, cs->n if there is room, or -1 if the new block is not worth more
 * than anything held. A protected block always fits: fewer hashes are
 * protected than there are slots. */
static long victim_current(const tc_cands *cs, const tc_cands_at *at, uint32_t round, const tc_hash *h)
{
    size_t held = 0;
    long lowest = -1, beyond = -1;
    for (size_t i = 0; i < cs->n; i++) {
        const tc_cand *c = cs->v[i];
        if (c->height != at->height)
            continue;
        held++;
        if (is_protected(at, &c->hash))
            continue;
        if (beyond_window(at, c->round))
            beyond = (long)i;
        else if (lowest < 0 || c->round < cs->v[lowest]->round)
            lowest = (long)i;
    }
    if (held < TC_CANDS_ROUNDS)
        return (long)cs->n;
    if (beyond >= 0)
        return beyond;
    if (lowest < 0 || (cs->v[lowest]->round >= round && !is_protected(at, h)))
        return -1;
    return lowest;
}

/* The same for a block of `proposer` at the next height: only its own
 * entries compete. */
static long victim_next(const tc_cands *cs, uint64_t next, const tc_pubkey *proposer)
{
    size_t held = 0;
    long oldest = -1;
    for (size_t i = 0; i < cs->n; i++) {
        const tc_cand *c = cs->v[i];
        if (c->height != next || memcmp(c->proposer.b, proposer->b, sizeof proposer->b) != 0)
            continue;
        held++;
        if (oldest < 0 || c->round < cs->v[oldest]->round)
            oldest = (long)i;
    }
    return held < TC_CANDS_FUTURE_PER_SIGNER ? (long)cs->n : oldest;
}

/* The slot a block (height, hash) of proposer at round would take: an
 * index to evict, cs->n for a free one, -1 if refused. */
static long slot_for(const tc_cands *cs, const tc_cands_at *at, uint64_t height, const tc_hash *h, uint32_t round,
                     const tc_pubkey *proposer)
{
    if (height == at->height)
        return victim_current(cs, at, round, h);
    if (at->height < UINT64_MAX && height == at->height + 1)
        return victim_next(cs, height, proposer);
    return -1;
}

bool tc_cands_room(const tc_cands *cs, const tc_cands_at *at, uint64_t height, const tc_hash *hash, uint32_t round,
                   const tc_pubkey *proposer)
{
    return tc_cands_find(cs, height, hash) != NULL || slot_for(cs, at, height, hash, round, proposer) >= 0;
}

const tc_cand *tc_cands_keep(tc_cands *cs, const tc_cands_at *at, tc_block *blk, uint32_t round,
                             const tc_pubkey *proposer)
{
    uint64_t height = blk->hdr.height;
    tc_hash h;
    tc_header_hash(&blk->hdr, &h);
    tc_cand *held = (tc_cand *)tc_cands_find(cs, height, &h);
    if (held) {
        if (round > held->round)
            held->round = round;
        tc_block_release(blk);
        return held;
    }
    long slot = slot_for(cs, at, height, &h, round, proposer);
    if (slot < 0) {
        tc_block_release(blk);
        return NULL;
    }
    if ((size_t)slot < cs->n)
        remove_at(cs, (size_t)slot);
    if (cs->n == cs->cap) {
        cs->cap = cs->cap ? cs->cap * 2 : 8;
        cs->v = tc_xrealloc(cs->v, cs->cap * sizeof *cs->v);
    }
    tc_cand *c = tc_xcalloc(1, sizeof *c);
    c->height = height;
    c->round = round;
    c->proposer = *proposer;
    c->hash = h;
    c->blk = *blk;
    tc_block_init(blk);
    tc_buf_init(&c->raw);
    tc_block_encode(&c->blk, &c->raw);
    cs->v[cs->n++] = c;
    return c;
}

void tc_cands_drop_below(tc_cands *cs, uint64_t height)
{
    for (size_t i = cs->n; i-- > 0;)
        if (cs->v[i]->height < height)
            remove_at(cs, i);
}

void tc_cands_prune(tc_cands *cs, uint64_t height, bool (*keep)(void *ctx, const tc_cand *c), void *ctx)
{
    for (size_t i = cs->n; i-- > 0;)
        if (cs->v[i]->height == height && !keep(ctx, cs->v[i]))
            remove_at(cs, i);
}

size_t tc_cands_count(const tc_cands *cs)
{
    return cs->n;
}

size_t tc_cands_bytes(const tc_cands *cs)
{
    size_t b = 0;
    for (size_t i = 0; i < cs->n; i++)
        b += cs->v[i]->raw.len;
    return b;
}
