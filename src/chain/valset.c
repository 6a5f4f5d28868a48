#include "chain/valset.h"

#include <stdlib.h>
#include <string.h>

#include "chain/params.h"
#include "util/mem.h"

/* Per validator: key32 | u64 weight | u8 address version | address hash32. */
#define VALIDATOR_SIZE (32 + 8 + 1 + 32)

void tc_valset_init(tc_valset *s)
{
    s->n = 0;
    s->v = NULL;
    s->total = 0;
}

void tc_valset_release(tc_valset *s)
{
    free(s->v);
    tc_valset_init(s);
}

void tc_valset_copy(tc_valset *dst, const tc_valset *src)
{
    dst->n = src->n;
    dst->total = src->total;
    dst->v = tc_xcalloc(src->n ? src->n : 1, sizeof *dst->v);
    if (src->n)
        memcpy(dst->v, src->v, src->n * sizeof *src->v);
}

/* Index where key is or would be inserted; *found tells which. */
static size_t lower_bound(const tc_valset *s, const tc_pubkey *key, int *found)
{
    size_t lo = 0, hi = s->n;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(s->v[mid].key.b, key->b, sizeof key->b);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int tc_valset_add(tc_valset *s, const tc_pubkey *key, uint64_t weight, const tc_address *reward)
{
    int found;
    if (weight == 0)
        return TC_EINVAL;
    if (s->n >= TC_MAX_VALIDATORS || s->total + weight < s->total)
        return TC_ELIMIT;
    size_t at = lower_bound(s, key, &found);
    if (found)
        return TC_EEXIST;
    s->v = tc_xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    memmove(&s->v[at + 1], &s->v[at], (s->n - at) * sizeof *s->v);
    s->v[at].key = *key;
    s->v[at].weight = weight;
    if (reward)
        s->v[at].reward = *reward;
    else
        memset(&s->v[at].reward, 0, sizeof s->v[at].reward);
    s->n++;
    s->total += weight;
    return 0;
}

long tc_valset_find(const tc_valset *s, const tc_pubkey *key)
{
    int found;
    size_t at = lower_bound(s, key, &found);
    return found ? (long)at : -1;
}

uint64_t tc_valset_quorum(const tc_valset *s)
{
    /* floor(2W/3) = W - ceil(W/3), computed without overflowing 2W. */
    uint64_t w = s->total;
    return w - (w / 3 + (w % 3 != 0)) + 1;
}

uint64_t tc_valset_one_third(const tc_valset *s)
{
    return s->total / 3 + 1;
}

void tc_valset_encode(const tc_valset *s, tc_buf *b)
{
    tc_buf_cs(b, s->n);
    for (size_t i = 0; i < s->n; i++) {
        const tc_validator *v = &s->v[i];
        tc_buf_put(b, v->key.b, sizeof v->key.b);
        tc_buf_u64(b, v->weight);
        tc_buf_u8(b, v->reward.version);
        tc_buf_put(b, v->reward.hash.b, sizeof v->reward.hash.b);
    }
}

void tc_valset_hash(const tc_valset *s, tc_hash *out)
{
    tc_buf b;
    tc_buf_init(&b);
    tc_valset_encode(s, &b);
    tc_hash_once(TC_H_VALSET, b.p, b.len, out);
    tc_buf_release(&b);
}

/* Rejections: TC_ETRUNC, TC_ETRAILING, TC_EOVERSIZE (count or total weight),
 * TC_ENONCANON (keys not strictly ascending), TC_EBADVAL (zero weight),
 * TC_EADDR_VERSION (unknown reward-address version). */
int tc_valset_decode(tc_valset *s, const uint8_t *p, size_t len)
{
    tc_reader r;
    size_t n;
    tc_valset_init(s);
    tc_reader_init(&r, p, len);
    if (tc_rd_count(&r, TC_MAX_VALIDATORS, VALIDATOR_SIZE, &n))
        goto out;
    s->v = tc_xcalloc(n ? n : 1, sizeof *s->v);
    for (size_t i = 0; i < n && r.err == 0; i++) {
        tc_validator *v = &s->v[i];
        size_t at = r.pos;
        tc_rd_bytes(&r, v->key.b, sizeof v->key.b);
        tc_rd_u64(&r, &v->weight);
        tc_rd_u8(&r, &v->reward.version);
        tc_rd_bytes(&r, v->reward.hash.b, sizeof v->reward.hash.b);
        if (r.err)
            break;
        r.pos = at; /* a rejection points at the validator */
        if (i > 0 && memcmp(s->v[i - 1].key.b, v->key.b, sizeof v->key.b) >= 0)
            tc_rd_fail(&r, TC_ENONCANON);
        else if (v->weight == 0)
            tc_rd_fail(&r, TC_EBADVAL);
        else if (v->reward.version != TC_ADDR_VERSION)
            tc_rd_fail(&r, TC_EADDR_VERSION);
        else if (s->total + v->weight < s->total)
            tc_rd_fail(&r, TC_EOVERSIZE);
        if (r.err)
            break;
        r.pos = at + VALIDATOR_SIZE;
        s->total += v->weight;
        s->n = i + 1;
    }
out:;
    int err = tc_rd_done(&r);
    if (err)
        tc_valset_release(s);
    return err;
}
