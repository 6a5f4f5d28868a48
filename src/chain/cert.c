#include "chain/cert.h"

#include <stdlib.h>
#include <string.h>

#include "chain/params.h"
#include "util/mem.h"

#define CERT_SIG_SIZE (32 + 64)

void tc_cert_init(tc_cert *c)
{
    memset(c, 0, sizeof *c);
    c->sigs = NULL;
}

void tc_cert_release(tc_cert *c)
{
    free(c->sigs);
    tc_cert_init(c);
}

void tc_cert_copy(tc_cert *dst, const tc_cert *src)
{
    *dst = *src;
    dst->sigs = tc_xcalloc(src->n ? src->n : 1, sizeof *dst->sigs);
    if (src->n)
        memcpy(dst->sigs, src->sigs, src->n * sizeof *src->sigs);
}

int tc_cert_add(tc_cert *c, const tc_vote *precommit)
{
    const tc_vote *v = precommit;
    if (v->type != TC_VOTE_PRECOMMIT || v->height != c->height || v->round != c->round ||
        !tc_hash_eq(&v->block, &c->block))
        return TC_EINVAL;
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = memcmp(c->sigs[mid].key.b, v->validator.b, sizeof v->validator.b);
        if (cmp == 0)
            return TC_EEXIST;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (c->n >= TC_MAX_VALIDATORS)
        return TC_ELIMIT;
    c->sigs = tc_xrealloc(c->sigs, (c->n + 1) * sizeof *c->sigs);
    memmove(&c->sigs[lo + 1], &c->sigs[lo], (c->n - lo) * sizeof *c->sigs);
    c->sigs[lo].key = v->validator;
    c->sigs[lo].sig = v->sig;
    c->n++;
    return 0;
}

void tc_cert_vote(const tc_cert *c, size_t i, tc_vote *out)
{
    memset(out, 0, sizeof *out);
    out->type = TC_VOTE_PRECOMMIT;
    out->height = c->height;
    out->round = c->round;
    out->block = c->block;
    out->validator = c->sigs[i].key;
    out->sig = c->sigs[i].sig;
}

void tc_cert_encode(const tc_cert *c, tc_buf *b)
{
    tc_buf_u64(b, c->height);
    tc_buf_u32(b, c->round);
    tc_buf_put(b, c->block.b, sizeof c->block.b);
    tc_buf_cs(b, c->n);
    for (size_t i = 0; i < c->n; i++) {
        tc_buf_put(b, c->sigs[i].key.b, sizeof c->sigs[i].key.b);
        tc_buf_put(b, c->sigs[i].sig.b, sizeof c->sigs[i].sig.b);
    }
}

/* Rejections: TC_ETRUNC, TC_EOVERSIZE (more signers than TC_MAX_VALIDATORS),
 * TC_ENONCANON (count encoding), TC_ECERT_ORDER (signers not strictly ascending). */
int tc_cert_read(tc_reader *r, tc_cert *c)
{
    size_t n;
    tc_cert_init(c);
    tc_rd_u64(r, &c->height);
    tc_rd_u32(r, &c->round);
    tc_rd_bytes(r, c->block.b, sizeof c->block.b);
    if (tc_rd_count(r, TC_MAX_VALIDATORS, CERT_SIG_SIZE, &n))
        goto out;
    c->sigs = tc_xcalloc(n ? n : 1, sizeof *c->sigs);
    for (size_t i = 0; i < n; i++) {
        size_t at = r->pos;
        tc_rd_bytes(r, c->sigs[i].key.b, sizeof c->sigs[i].key.b);
        tc_rd_bytes(r, c->sigs[i].sig.b, sizeof c->sigs[i].sig.b);
        if (r->err)
            break;
        if (i > 0 && memcmp(c->sigs[i - 1].key.b, c->sigs[i].key.b, 32) >= 0) {
            r->pos = at;
            tc_rd_fail(r, TC_ECERT_ORDER);
            break;
        }
        c->n = i + 1;
    }
out:
    if (r->err)
        tc_cert_release(c);
    return r->err;
}

int tc_cert_decode(tc_cert *c, const uint8_t *p, size_t len)
{
    tc_reader r;
    tc_reader_init(&r, p, len);
    int err = tc_cert_read(&r, c);
    if (err == 0 && (err = tc_rd_done(&r)) != 0)
        tc_cert_release(c);
    return err;
}

void tc_cert_hash(const tc_cert *c, tc_hash *out)
{
    tc_buf b;
    tc_buf_init(&b);
    tc_cert_encode(c, &b);
    tc_hash_once(TC_H_CERT, b.p, b.len, out);
    tc_buf_release(&b);
}

/* Cheap checks first (target, order, membership, weight), signatures last. */
int tc_cert_check(const tc_cert *c, const tc_valset *vs, uint64_t height, const tc_hash *block, tc_errmsg *e)
{
    if (c->height != height || !tc_hash_eq(&c->block, block))
        return tc_fail(e, TC_ECERT_TARGET, "certificate for height %llu, expected %llu%s",
                       (unsigned long long)c->height, (unsigned long long)height,
                       c->height == height ? " (other block)" : "");
    if (tc_hash_is_zero(&c->block))
        return tc_fail(e, TC_ECERT_TARGET, "certificate for nil");
    uint64_t weight = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (i > 0 && memcmp(c->sigs[i - 1].key.b, c->sigs[i].key.b, 32) >= 0)
            return tc_fail(e, TC_ECERT_ORDER, "signer %zu out of order or repeated", i);
        long at = tc_valset_find(vs, &c->sigs[i].key);
        if (at < 0)
            return tc_fail(e, TC_ECERT_SIGNER, "signer %zu not in validator set", i);
        weight += vs->v[at].weight;
    }
    uint64_t q = tc_valset_quorum(vs);
    if (weight < q)
        return tc_fail(e, TC_ECERT_QUORUM, "signed weight %llu below quorum %llu",
                       (unsigned long long)weight, (unsigned long long)q);
    return 0;
}

int tc_cert_verify(const tc_cert *c, const tc_valset *vs, uint32_t chain_id, uint64_t height,
                   const tc_hash *block, tc_sigcache *cache, tc_errmsg *e)
{
    int err = tc_cert_check(c, vs, height, block, e);
    if (err)
        return err;
    for (size_t i = 0; i < c->n; i++) {
        tc_vote v;
        tc_hash msg;
        tc_cert_vote(c, i, &v);
        tc_vote_sign_bytes(&v, chain_id, &msg);
        if (tc_sigcache_verify(cache, &v.validator, msg.b, sizeof msg.b, &v.sig) != 0)
            return tc_fail(e, TC_ESIG, "signature %zu invalid", i);
    }
    return 0;
}
