#include "store/addrindex.h"

#include <string.h>

#include "util/buf.h"

_Static_assert(TC_ADDRINDEX_ADDR_SIZE == 1 + sizeof(((tc_address *)0)->hash.b), "address key: version | hash");
_Static_assert(TC_UTXO_REC_SIZE == 50 && TC_UTXO_KEY_SIZE == 36, "the record layout rec_addr reads");

/* The address of a stored UTXO record (u64 value | u8 version | hash32 | …). */
static const uint8_t *rec_addr(const uint8_t rec[TC_UTXO_REC_SIZE])
{
    return rec + 8;
}

static void addr_key(uint8_t out[TC_ADDRINDEX_ADDR_SIZE], const tc_address *a)
{
    out[0] = a->version;
    memcpy(out + 1, a->hash.b, 32);
}

static int add_totals(tc_utxo_totals *t, uint64_t value, int sign)
{
    if (sign > 0) {
        if (t->count == UINT64_MAX || t->sat > UINT64_MAX - value)
            return TC_ECORRUPT;
        t->count++;
        t->sat += value;
    } else {
        if (t->count == 0 || t->sat < value)
            return TC_ECORRUPT;
        t->count--;
        t->sat -= value;
    }
    return 0;
}

/* The per-address aggregate: read, change by one output, write (or delete at
 * zero, so addresses that were emptied leave nothing behind). */
static int update_sum(tc_txn *t, const uint8_t addr[TC_ADDRINDEX_ADDR_SIZE], uint64_t value, int sign)
{
    const uint8_t *v;
    size_t vl;
    tc_utxo_totals s = {0, 0};
    int err = tc_store_get(t, TC_TB_ADDR_SUM, addr, TC_ADDRINDEX_ADDR_SIZE, &v, &vl);
    if (err == 0) {
        if (vl != 16)
            return TC_ECORRUPT;
        s.count = tc_get_le64(v);
        s.sat = tc_get_le64(v + 8);
    } else if (err != TC_ENOTFOUND) {
        return err;
    }
    if ((err = add_totals(&s, value, sign)))
        return err;
    if (s.count == 0)
        return s.sat == 0 ? tc_store_del(t, TC_TB_ADDR_SUM, addr, TC_ADDRINDEX_ADDR_SIZE) : TC_ECORRUPT;
    uint8_t nv[16];
    tc_le64(nv, s.count);
    tc_le64(nv + 8, s.sat);
    return tc_store_put(t, TC_TB_ADDR_SUM, addr, TC_ADDRINDEX_ADDR_SIZE, nv, sizeof nv);
}

int tc_addrindex_update(tc_txn *t, const uint8_t key[TC_UTXO_KEY_SIZE], const uint8_t *rec, size_t len, int sign,
                        tc_utxo_totals *totals)
{
    if (len != TC_UTXO_REC_SIZE)
        return TC_ECORRUPT;
    /* Copies: rec may point into a page that the writes below move. */
    uint8_t r[TC_UTXO_REC_SIZE], ik[TC_ADDRINDEX_KEY_SIZE];
    memcpy(r, rec, sizeof r);
    memcpy(ik, rec_addr(r), TC_ADDRINDEX_ADDR_SIZE);
    memcpy(ik + TC_ADDRINDEX_ADDR_SIZE, key, TC_UTXO_KEY_SIZE);
    uint64_t value = tc_get_le64(r);
    int err = add_totals(totals, value, sign);
    if (err)
        return err;
    if (sign > 0)
        err = tc_store_put(t, TC_TB_ADDR_UTXO, ik, sizeof ik, "", 0);
    else if ((err = tc_store_del(t, TC_TB_ADDR_UTXO, ik, sizeof ik)) == TC_ENOTFOUND)
        err = TC_ECORRUPT;
    return err ? err : update_sum(t, ik, value, sign);
}

typedef struct {
    tc_txn *t;
    tc_utxo_totals *totals;
} rebuild_walk;

static int index_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    rebuild_walk *w = ctx;
    return kl == TC_UTXO_KEY_SIZE ? tc_addrindex_update(w->t, k, v, vl, 1, w->totals) : TC_ECORRUPT;
}

int tc_addrindex_rebuild(tc_txn *t, tc_utxo_totals *totals)
{
    *totals = (tc_utxo_totals){0, 0};
    rebuild_walk w = {t, totals};
    int err = tc_store_clear(t, TC_TB_ADDR_UTXO);
    if (err == 0)
        err = tc_store_clear(t, TC_TB_ADDR_SUM);
    return err ? err : tc_store_each(t, TC_TB_UTXO, NULL, 0, index_one, &w);
}

int tc_addrindex_totals(tc_txn *t, const tc_address *a, tc_utxo_totals *out)
{
    uint8_t ak[TC_ADDRINDEX_ADDR_SIZE];
    const uint8_t *v;
    size_t vl;
    addr_key(ak, a);
    *out = (tc_utxo_totals){0, 0};
    int err = tc_store_get(t, TC_TB_ADDR_SUM, ak, sizeof ak, &v, &vl);
    if (err)
        return err == TC_ENOTFOUND ? 0 : err;
    if (vl != 16)
        return TC_ECORRUPT;
    out->count = tc_get_le64(v);
    out->sat = tc_get_le64(v + 8);
    return 0;
}

typedef struct {
    tc_txn *t;
    uint8_t from[TC_ADDRINDEX_KEY_SIZE];
    int skip_from; /* the entry equal to from is the one already returned */
    int ended;     /* walked past the address: not fn's answer */
    int (*fn)(void *ctx, const tc_outpoint *o, const tc_utxo *u);
    void *ctx;
} addr_walk;

static int walk_addr(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    addr_walk *w = ctx;
    if (kl != TC_ADDRINDEX_KEY_SIZE || memcmp(k, w->from, TC_ADDRINDEX_ADDR_SIZE) != 0) {
        w->ended = 1;
        return 1;
    }
    if (w->skip_from) {
        w->skip_from = 0;
        if (memcmp(k, w->from, kl) == 0)
            return 0;
    }
    /* The record itself is the UTXO table's (an index entry is only a key:
     * half the bytes written per output, which is most of its cost). */
    const uint8_t *rec;
    size_t rl;
    int err = tc_store_get(w->t, TC_TB_UTXO, k + TC_ADDRINDEX_ADDR_SIZE, TC_UTXO_KEY_SIZE, &rec, &rl);
    if (err)
        return err == TC_ENOTFOUND ? TC_ECORRUPT : err;
    tc_outpoint o;
    tc_utxo u;
    if (vl != 0 || tc_utxo_decode(&u, rec, rl) || memcmp(rec_addr(rec), k, TC_ADDRINDEX_ADDR_SIZE) != 0)
        return TC_ECORRUPT;
    tc_utxo_key_parse(k + TC_ADDRINDEX_ADDR_SIZE, &o);
    return w->fn(w->ctx, &o, &u);
}

int tc_addrindex_each(tc_txn *t, const tc_address *a, const tc_outpoint *after,
                      int (*fn)(void *ctx, const tc_outpoint *o, const tc_utxo *u), void *ctx)
{
    addr_walk w = {.t = t, .skip_from = after != NULL, .fn = fn, .ctx = ctx};
    addr_key(w.from, a);
    size_t fl = TC_ADDRINDEX_ADDR_SIZE;
    if (after) {
        tc_utxo_key(after, w.from + TC_ADDRINDEX_ADDR_SIZE);
        fl = TC_ADDRINDEX_KEY_SIZE;
    }
    int ret = tc_store_each(t, TC_TB_ADDR_UTXO, w.from, fl, walk_addr, &w);
    return w.ended ? 0 : ret;
}
