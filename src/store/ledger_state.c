/* The chain state over an LMDB transaction: the read view (tc_view) and the
 * undo-recording tc_state the rules of chain/transition.h write through. */
#include <string.h>

#include "store/ledger_impl.h"

/* ---- reads ----------------------------------------------------------------------- */

static int view_utxo(void *ctx, const tc_outpoint *o, tc_utxo *out)
{
    tc_txn *t = ctx;
    uint8_t key[TC_UTXO_KEY_SIZE];
    const uint8_t *v;
    size_t vl;
    tc_utxo_key(o, key);
    int err = tc_store_get(t, TC_TB_UTXO, key, sizeof key, &v, &vl);
    return err ? err : tc_utxo_decode(out, v, vl);
}

static int view_mn(void *ctx, const tc_outpoint *collateral, tc_mn *out)
{
    tc_txn *t = ctx;
    uint8_t key[TC_UTXO_KEY_SIZE];
    const uint8_t *v;
    size_t vl;
    tc_utxo_key(collateral, key);
    int err = tc_store_get(t, TC_TB_MN, key, sizeof key, &v, &vl);
    if (err)
        return err;
    out->collateral = *collateral;
    return tc_mn_decode(out, v, vl);
}

static int view_mn_by_operator(void *ctx, const tc_pubkey *op, tc_mn *out)
{
    tc_txn *t = ctx;
    const uint8_t *v;
    size_t vl;
    int err = tc_store_get(t, TC_TB_MN_OPERATOR, op->b, 32, &v, &vl);
    if (err)
        return err;
    if (vl != TC_UTXO_KEY_SIZE)
        return TC_ECORRUPT;
    tc_outpoint col;
    tc_utxo_key_parse(v, &col);
    return view_mn(ctx, &col, out);
}

static int view_has_tx(void *ctx, const tc_hash *txid)
{
    const uint8_t *v;
    size_t vl;
    int err = tc_store_get(ctx, TC_TB_TXINDEX, txid->b, 32, &v, &vl);
    return err == 0 ? 1 : err == TC_ENOTFOUND ? 0 : err;
}

void tc_ledger_txn_view(tc_view *v, tc_txn *t)
{
    v->ctx = t;
    v->get_utxo = view_utxo;
    v->get_mn = view_mn;
    v->get_mn_by_operator = view_mn_by_operator;
    v->has_tx = view_has_tx;
}

int tc_ledger_txn_valset(tc_txn *t, uint64_t height, tc_valset *out)
{
    uint8_t key[8];
    const uint8_t *v;
    size_t vl;
    tc_be64(key, height);
    tc_valset_init(out);
    int err = tc_store_floor(t, TC_TB_VALSETS, key, sizeof key, NULL, &v, &vl);
    if (err)
        return err == TC_ENOTFOUND ? TC_ECORRUPT : err;
    return tc_valset_decode(out, v, vl) ? TC_ECORRUPT : 0;
}

typedef struct {
    tc_mn_fn fn;
    void *arg;
} mn_walk;

static int walk_mn(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    mn_walk *w = ctx;
    tc_mn m;
    if (kl != TC_UTXO_KEY_SIZE)
        return TC_ECORRUPT;
    tc_utxo_key_parse(k, &m.collateral);
    if (tc_mn_decode(&m, v, vl))
        return TC_ECORRUPT;
    return w->fn(w->arg, &m);
}

int tc_ledger_txn_each_mn(tc_txn *t, tc_mn_fn fn, void *arg)
{
    mn_walk w = {fn, arg};
    return tc_store_each(t, TC_TB_MN, NULL, 0, walk_mn, &w);
}

/* ---- tracked writes: every state change leaves an undo record ---------------- */

static void undo_record(ledger_state *s, enum tc_table tb, const void *k, size_t kl, const uint8_t *old, size_t ol,
                        int had_old)
{
    tc_buf_u8(&s->undo, (uint8_t)tb);
    tc_buf_var(&s->undo, k, kl);
    tc_buf_u8(&s->undo, (uint8_t)had_old);
    if (had_old)
        tc_buf_var(&s->undo, old, ol);
}

static int tracked_put(ledger_state *s, enum tc_table tb, const void *k, size_t kl, const void *v, size_t vl)
{
    const uint8_t *old;
    size_t ol;
    int err = tc_store_get(s->t, tb, k, kl, &old, &ol);
    if (err && err != TC_ENOTFOUND)
        return err;
    int had = err == 0;
    undo_record(s, tb, k, kl, old, ol, had);
    if (tb == TC_TB_UTXO) {
        if (kl != TC_UTXO_KEY_SIZE)
            return TC_ECORRUPT;
        if (had && ol == TC_UTXO_REC_SIZE)
            tc_utxo_commit(&s->set, k, old, -1);
        tc_utxo_commit(&s->set, k, v, 1);
        /* old is not read after the index writes (they may move it). */
        if ((had && (err = tc_addrindex_update(s->t, k, old, ol, -1, &s->totals))) ||
            (err = tc_addrindex_update(s->t, k, v, vl, 1, &s->totals)))
            return err;
    }
    return tc_store_put(s->t, tb, k, kl, v, vl);
}

static int tracked_del(ledger_state *s, enum tc_table tb, const void *k, size_t kl)
{
    const uint8_t *old;
    size_t ol;
    int err = tc_store_get(s->t, tb, k, kl, &old, &ol);
    if (err)
        return err;
    undo_record(s, tb, k, kl, old, ol, 1);
    if (tb == TC_TB_UTXO) {
        if (kl != TC_UTXO_KEY_SIZE)
            return TC_ECORRUPT;
        if (ol == TC_UTXO_REC_SIZE)
            tc_utxo_commit(&s->set, k, old, -1);
        if ((err = tc_addrindex_update(s->t, k, old, ol, -1, &s->totals)))
            return err;
    }
    return tc_store_del(s->t, tb, k, kl);
}

/* ---- the tc_state ------------------------------------------------------------------ */

/* Every function of the state gets the ledger_state as ctx; the reads go to
 * its transaction. */
static int st_get_utxo(void *ctx, const tc_outpoint *o, tc_utxo *out)
{
    return view_utxo(((ledger_state *)ctx)->t, o, out);
}

static int st_get_mn(void *ctx, const tc_outpoint *collateral, tc_mn *out)
{
    return view_mn(((ledger_state *)ctx)->t, collateral, out);
}

static int st_get_mn_by_operator(void *ctx, const tc_pubkey *op, tc_mn *out)
{
    return view_mn_by_operator(((ledger_state *)ctx)->t, op, out);
}

static int st_has_tx(void *ctx, const tc_hash *txid)
{
    return view_has_tx(((ledger_state *)ctx)->t, txid);
}

static int st_get_valset(void *ctx, uint64_t height, tc_valset *out)
{
    return tc_ledger_txn_valset(((ledger_state *)ctx)->t, height, out);
}

static int st_each_mn(void *ctx, tc_mn_fn fn, void *arg)
{
    return tc_ledger_txn_each_mn(((ledger_state *)ctx)->t, fn, arg);
}

static int st_put_utxo(void *ctx, const tc_outpoint *o, const tc_utxo *u)
{
    uint8_t key[TC_UTXO_KEY_SIZE], rec[TC_UTXO_REC_SIZE];
    tc_utxo_key(o, key);
    tc_utxo_encode(u, rec);
    return tracked_put(ctx, TC_TB_UTXO, key, sizeof key, rec, sizeof rec);
}

static int st_del_utxo(void *ctx, const tc_outpoint *o)
{
    uint8_t key[TC_UTXO_KEY_SIZE];
    tc_utxo_key(o, key);
    return tracked_del(ctx, TC_TB_UTXO, key, sizeof key);
}

static int st_put_mn(void *ctx, const tc_mn *m)
{
    uint8_t key[TC_UTXO_KEY_SIZE];
    tc_buf b;
    tc_buf_init(&b);
    tc_utxo_key(&m->collateral, key);
    tc_mn_encode(m, &b);
    int err = tracked_put(ctx, TC_TB_MN, key, sizeof key, b.p, b.len);
    tc_buf_release(&b);
    return err;
}

static int st_add_mn(void *ctx, const tc_mn *m)
{
    uint8_t key[TC_UTXO_KEY_SIZE];
    int err = st_put_mn(ctx, m);
    tc_utxo_key(&m->collateral, key);
    return err ? err : tracked_put(ctx, TC_TB_MN_OPERATOR, m->operator_key.b, 32, key, sizeof key);
}

static int st_del_mn(void *ctx, const tc_mn *m)
{
    uint8_t key[TC_UTXO_KEY_SIZE];
    tc_utxo_key(&m->collateral, key);
    int err = tracked_del(ctx, TC_TB_MN, key, sizeof key);
    return err ? err : tracked_del(ctx, TC_TB_MN_OPERATOR, m->operator_key.b, 32);
}

static int st_put_tx(void *ctx, const tc_hash *txid, uint64_t height, uint32_t index)
{
    uint8_t v[12];
    tc_be64(v, height);
    v[8] = (uint8_t)(index >> 24);
    v[9] = (uint8_t)(index >> 16);
    v[10] = (uint8_t)(index >> 8);
    v[11] = (uint8_t)index;
    return tracked_put(ctx, TC_TB_TXINDEX, txid->b, 32, v, sizeof v);
}

static int st_put_valset(void *ctx, uint64_t height, const tc_valset *vs)
{
    uint8_t key[8];
    tc_buf b;
    tc_buf_init(&b);
    tc_be64(key, height);
    tc_valset_encode(vs, &b);
    int err = tracked_put(ctx, TC_TB_VALSETS, key, sizeof key, b.p, b.len);
    tc_buf_release(&b);
    return err;
}

static void st_utxo_commitment(void *ctx, tc_hash *out)
{
    tc_lthash_digest(&((ledger_state *)ctx)->set, out);
}

void tc_ledger_state_init(ledger_state *s, tc_txn *t, const chain_tip *at)
{
    s->t = t;
    tc_buf_init(&s->undo);
    s->set = at->set;
    s->totals = at->totals;
    s->st = (tc_state){
        .view = {s, st_get_utxo, st_get_mn, st_get_mn_by_operator, st_has_tx},
        .get_valset = st_get_valset,
        .each_mn = st_each_mn,
        .put_utxo = st_put_utxo,
        .del_utxo = st_del_utxo,
        .add_mn = st_add_mn,
        .put_mn = st_put_mn,
        .del_mn = st_del_mn,
        .put_tx = st_put_tx,
        .put_valset = st_put_valset,
        .utxo_commitment = st_utxo_commitment,
        .log_events = false,
    };
}

void tc_ledger_state_release(ledger_state *s)
{
    tc_buf_release(&s->undo);
}

/* ---- what a transaction writes besides the state ------------------------------ */

int tc_ledger_write_totals(tc_txn *t, const tc_hash *tip_hash, const tc_utxo_totals *totals)
{
    uint8_t v[TOTALS_SIZE];
    v[0] = TOTALS_VERSION;
    memcpy(v + 1, tip_hash->b, 32);
    tc_le64(v + 33, totals->count);
    tc_le64(v + 41, totals->sat);
    return tc_store_put(t, TC_TB_META, META_TOTALS, strlen(META_TOTALS), v, sizeof v);
}

int tc_ledger_write_tip(tc_txn *t, const chain_tip *at)
{
    uint8_t tip[40], lt[TC_LTHASH_BYTES];
    tc_be64(tip, at->height);
    memcpy(tip + 8, at->hash.b, 32);
    tc_lthash_serialize(&at->set, lt);
    int err = tc_store_put(t, TC_TB_META, META_TIP, strlen(META_TIP), tip, sizeof tip);
    if (err == 0)
        err = tc_store_put(t, TC_TB_META, META_LTHASH, strlen(META_LTHASH), lt, sizeof lt);
    return err ? err : tc_ledger_write_totals(t, &at->hash, &at->totals);
}

int tc_ledger_store_block(tc_txn *t, uint64_t height, const tc_block *blk, const tc_hash *hash, const tc_cert *cert,
                          const tc_buf *undo)
{
    uint8_t hk[8];
    tc_buf b;
    tc_buf_init(&b);
    tc_be64(hk, height);
    tc_block_encode(blk, &b);
    int err = tc_store_put(t, TC_TB_BLOCKS, hk, 8, b.p, b.len);
    if (err == 0) {
        tc_buf_reset(&b);
        tc_cert_encode(cert, &b);
        err = tc_store_put(t, TC_TB_CERTS, hk, 8, b.p, b.len);
    }
    if (err == 0)
        err = tc_store_put(t, TC_TB_HASHES, hash->b, 32, hk, 8);
    if (err == 0)
        err = tc_store_put(t, TC_TB_UNDO, hk, 8, undo->p, undo->len);
    tc_buf_release(&b);
    return err;
}
