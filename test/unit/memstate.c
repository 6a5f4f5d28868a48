#include "memstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* ---- ordered arrays of fixed-size elements ------------------------------------------- */

typedef int (*key_cmp)(const void *elem, const void *key);

/* Index of the first element not below key; *found if it equals key. */
static size_t lower_bound(const void *arr, size_t n, size_t size, const void *key, key_cmp cmp, int *found)
{
    size_t i = 0;
    while (i < n && cmp((const char *)arr + i * size, key) < 0)
        i++;
    *found = i < n && cmp((const char *)arr + i * size, key) == 0;
    return i;
}

/* Makes room at i in *arr (n elements) and returns the slot. */
static void *insert_at(void **arr, size_t *n, size_t size, size_t i)
{
    *arr = tc_xrealloc(*arr, (*n + 1) * size);
    char *p = *arr;
    memmove(p + (i + 1) * size, p + i * size, (*n - i) * size);
    (*n)++;
    return p + i * size;
}

static void remove_at(void *arr, size_t *n, size_t size, size_t i)
{
    char *p = arr;
    memmove(p + i * size, p + (i + 1) * size, (*n - i - 1) * size);
    (*n)--;
}

static int cmp_key(const tc_outpoint *a, const tc_outpoint *b)
{
    uint8_t ka[TC_UTXO_KEY_SIZE], kb[TC_UTXO_KEY_SIZE];
    tc_utxo_key(a, ka);
    tc_utxo_key(b, kb);
    return memcmp(ka, kb, sizeof ka);
}

static int cmp_utxo(const void *elem, const void *key)
{
    return cmp_key(&((const memstate_utxo *)elem)->o, key);
}

static int cmp_mn(const void *elem, const void *key)
{
    return cmp_key(&((const tc_mn *)elem)->collateral, key);
}

static int cmp_tx(const void *elem, const void *key)
{
    return memcmp(((const memstate_tx *)elem)->txid.b, ((const tc_hash *)key)->b, 32);
}

static int cmp_vs(const void *elem, const void *key)
{
    uint64_t a = ((const memstate_valset *)elem)->height, b = *(const uint64_t *)key;
    return a < b ? -1 : a > b;
}

/* ---- reads -------------------------------------------------------------------------- */

static int get_utxo(void *ctx, const tc_outpoint *o, tc_utxo *out)
{
    memstate *m = ctx;
    int found;
    size_t i = lower_bound(m->utxo, m->n_utxo, sizeof *m->utxo, o, cmp_utxo, &found);
    if (!found)
        return TC_ENOTFOUND;
    *out = m->utxo[i].u;
    return 0;
}

static int get_mn(void *ctx, const tc_outpoint *collateral, tc_mn *out)
{
    memstate *m = ctx;
    int found;
    size_t i = lower_bound(m->mn, m->n_mn, sizeof *m->mn, collateral, cmp_mn, &found);
    if (!found)
        return TC_ENOTFOUND;
    *out = m->mn[i];
    return 0;
}

static int get_mn_by_operator(void *ctx, const tc_pubkey *op, tc_mn *out)
{
    memstate *m = ctx;
    for (size_t i = 0; i < m->n_mn; i++)
        if (memcmp(m->mn[i].operator_key.b, op->b, 32) == 0) {
            *out = m->mn[i];
            return 0;
        }
    return TC_ENOTFOUND;
}

static int has_tx(void *ctx, const tc_hash *txid)
{
    memstate *m = ctx;
    int found;
    lower_bound(m->tx, m->n_tx, sizeof *m->tx, txid, cmp_tx, &found);
    return found;
}

static int get_valset(void *ctx, uint64_t height, tc_valset *out)
{
    memstate *m = ctx;
    tc_valset_init(out);
    for (size_t i = m->n_vs; i-- > 0;)
        if (m->vs[i].height <= height) {
            tc_valset_copy(out, &m->vs[i].vs);
            return 0;
        }
    return TC_ECORRUPT;
}

static int each_mn(void *ctx, tc_mn_fn fn, void *arg)
{
    memstate *m = ctx;
    for (size_t i = 0; i < m->n_mn; i++) {
        tc_mn copy = m->mn[i]; /* fn may not write through the state */
        int err = fn(arg, &copy);
        if (err)
            return err;
    }
    return 0;
}

/* ---- writes ------------------------------------------------------------------------- */

static void commit(memstate *m, const memstate_utxo *e, int sign)
{
    uint8_t key[TC_UTXO_KEY_SIZE], rec[TC_UTXO_REC_SIZE];
    tc_utxo_key(&e->o, key);
    tc_utxo_encode(&e->u, rec);
    tc_utxo_commit(&m->set, key, rec, sign);
}

static int put_utxo(void *ctx, const tc_outpoint *o, const tc_utxo *u)
{
    memstate *m = ctx;
    int found;
    size_t i = lower_bound(m->utxo, m->n_utxo, sizeof *m->utxo, o, cmp_utxo, &found);
    if (found)
        commit(m, &m->utxo[i], -1);
    else
        insert_at((void **)&m->utxo, &m->n_utxo, sizeof *m->utxo, i);
    m->utxo[i] = (memstate_utxo){*o, *u};
    commit(m, &m->utxo[i], 1);
    m->writes++;
    return 0;
}

static int del_utxo(void *ctx, const tc_outpoint *o)
{
    memstate *m = ctx;
    int found;
    size_t i = lower_bound(m->utxo, m->n_utxo, sizeof *m->utxo, o, cmp_utxo, &found);
    if (!found)
        return TC_ENOTFOUND;
    commit(m, &m->utxo[i], -1);
    remove_at(m->utxo, &m->n_utxo, sizeof *m->utxo, i);
    m->writes++;
    return 0;
}

static int put_mn(void *ctx, const tc_mn *mn)
{
    memstate *m = ctx;
    int found;
    size_t i = lower_bound(m->mn, m->n_mn, sizeof *m->mn, &mn->collateral, cmp_mn, &found);
    if (!found)
        return TC_ENOTFOUND;
    m->mn[i] = *mn;
    m->writes++;
    return 0;
}

static int add_mn(void *ctx, const tc_mn *mn)
{
    memstate *m = ctx;
    int found;
    tc_mn other;
    size_t i = lower_bound(m->mn, m->n_mn, sizeof *m->mn, &mn->collateral, cmp_mn, &found);
    if (found || get_mn_by_operator(m, &mn->operator_key, &other) == 0)
        return TC_EEXIST;
    *(tc_mn *)insert_at((void **)&m->mn, &m->n_mn, sizeof *m->mn, i) = *mn;
    m->writes++;
    return 0;
}

static int del_mn(void *ctx, const tc_mn *mn)
{
    memstate *m = ctx;
    int found;
    size_t i = lower_bound(m->mn, m->n_mn, sizeof *m->mn, &mn->collateral, cmp_mn, &found);
    if (!found)
        return TC_ENOTFOUND;
    remove_at(m->mn, &m->n_mn, sizeof *m->mn, i);
    m->writes++;
    return 0;
}

static int put_tx(void *ctx, const tc_hash *txid, uint64_t height, uint32_t index)
{
    memstate *m = ctx;
    int found;
    size_t i = lower_bound(m->tx, m->n_tx, sizeof *m->tx, txid, cmp_tx, &found);
    if (!found)
        insert_at((void **)&m->tx, &m->n_tx, sizeof *m->tx, i);
    m->tx[i] = (memstate_tx){*txid, height, index};
    m->writes++;
    return 0;
}

static int put_valset(void *ctx, uint64_t height, const tc_valset *vs)
{
    memstate *m = ctx;
    int found;
    size_t i = lower_bound(m->vs, m->n_vs, sizeof *m->vs, &height, cmp_vs, &found);
    if (found)
        tc_valset_release(&m->vs[i].vs);
    else
        insert_at((void **)&m->vs, &m->n_vs, sizeof *m->vs, i);
    m->vs[i].height = height;
    tc_valset_copy(&m->vs[i].vs, vs);
    m->writes++;
    return 0;
}

static void utxo_commitment(void *ctx, tc_hash *out)
{
    tc_lthash_digest(&((memstate *)ctx)->set, out);
}

/* ---- life cycle ---------------------------------------------------------------------- */

static void bind(memstate *m)
{
    m->st = (tc_state){
        .view = {m, get_utxo, get_mn, get_mn_by_operator, has_tx},
        .get_valset = get_valset,
        .each_mn = each_mn,
        .put_utxo = put_utxo,
        .del_utxo = del_utxo,
        .add_mn = add_mn,
        .put_mn = put_mn,
        .del_mn = del_mn,
        .put_tx = put_tx,
        .put_valset = put_valset,
        .utxo_commitment = utxo_commitment,
        .log_events = false,
    };
}

void memstate_init(memstate *m)
{
    memset(m, 0, sizeof *m);
    tc_lthash_init(&m->set);
    bind(m);
}

void memstate_release(memstate *m)
{
    for (size_t i = 0; i < m->n_vs; i++)
        tc_valset_release(&m->vs[i].vs);
    free(m->utxo);
    free(m->mn);
    free(m->tx);
    free(m->vs);
    memset(m, 0, sizeof *m);
}

static void *dup(const void *p, size_t n, size_t size)
{
    if (n == 0)
        return NULL;
    void *q = tc_xmalloc(n * size);
    memcpy(q, p, n * size);
    return q;
}

void memstate_copy(memstate *dst, const memstate *src)
{
    *dst = *src;
    dst->utxo = dup(src->utxo, src->n_utxo, sizeof *src->utxo);
    dst->mn = dup(src->mn, src->n_mn, sizeof *src->mn);
    dst->tx = dup(src->tx, src->n_tx, sizeof *src->tx);
    dst->vs = dup(src->vs, src->n_vs, sizeof *src->vs);
    for (size_t i = 0; i < src->n_vs; i++)
        tc_valset_copy(&dst->vs[i].vs, &src->vs[i].vs);
    bind(dst);
    dst->st.log_events = src->st.log_events;
}

int memstate_equal(const memstate *a, const memstate *b)
{
    tc_hash ha, hb;
    utxo_commitment((void *)a, &ha);
    utxo_commitment((void *)b, &hb);
    if (a->n_utxo != b->n_utxo || a->n_mn != b->n_mn || a->n_tx != b->n_tx || a->n_vs != b->n_vs ||
        !tc_hash_eq(&ha, &hb))
        return 0;
    for (size_t i = 0; i < a->n_utxo; i++) {
        uint8_t ra[TC_UTXO_REC_SIZE], rb[TC_UTXO_REC_SIZE];
        tc_utxo_encode(&a->utxo[i].u, ra);
        tc_utxo_encode(&b->utxo[i].u, rb);
        if (cmp_key(&a->utxo[i].o, &b->utxo[i].o) || memcmp(ra, rb, sizeof ra))
            return 0;
    }
    for (size_t i = 0; i < a->n_tx; i++)
        if (!tc_hash_eq(&a->tx[i].txid, &b->tx[i].txid) || a->tx[i].height != b->tx[i].height ||
            a->tx[i].index != b->tx[i].index)
            return 0;
    for (size_t i = 0; i < a->n_mn; i++) {
        tc_buf x, y;
        tc_buf_init(&x);
        tc_buf_init(&y);
        tc_mn_encode(&a->mn[i], &x);
        tc_mn_encode(&b->mn[i], &y);
        int same = x.len == y.len && memcmp(x.p, y.p, x.len) == 0 &&
                   cmp_key(&a->mn[i].collateral, &b->mn[i].collateral) == 0;
        tc_buf_release(&x);
        tc_buf_release(&y);
        if (!same)
            return 0;
    }
    for (size_t i = 0; i < a->n_vs; i++) {
        tc_hash va, vb;
        tc_valset_hash(&a->vs[i].vs, &va);
        tc_valset_hash(&b->vs[i].vs, &vb);
        if (a->vs[i].height != b->vs[i].height || !tc_hash_eq(&va, &vb))
            return 0;
    }
    return 1;
}
