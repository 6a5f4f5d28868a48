/* The ledger's handle: opening (genesis or the stored tip), and the reads
 * of the tip state, each in one read transaction. Applying, building and
 * rolling back blocks are in ledger_apply.c and ledger_undo.c, the state the
 * rules write through in ledger_state.c. */
#include "store/ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ledger_impl.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- open, genesis ------------------------------------------------------------------ */

/* The genesis state (chain/transition.h) and block written into the empty
 * store t; genesis is never rolled back, so its undo records are dropped. */
static int write_genesis(tc_ledger *L, tc_txn *t, tc_errmsg *e)
{
    const tc_genesis *g = L->g;
    tc_block blk;
    ledger_state s;
    chain_tip zero;
    memset(&zero, 0, sizeof zero);
    tc_lthash_init(&zero.set);
    tc_ledger_state_init(&s, t, &zero);
    tc_genesis_block(g, &blk);
    uint8_t cid[4];
    tc_le32(cid, g->chain_id);
    tc_header_hash(&blk.hdr, &L->genesis_hash);
    int err = tc_genesis_apply(&s.st, g);
    if (err == 0)
        err = tc_store_put(t, TC_TB_META, META_CHAIN_ID, strlen(META_CHAIN_ID), cid, 4);
    if (err == 0)
        err = tc_store_put(t, TC_TB_META, META_GENESIS, strlen(META_GENESIS), L->genesis_hash.b, 32);
    tc_buf_reset(&s.undo);
    if (err == 0)
        err = tc_ledger_store_block(t, 0, &blk, &L->genesis_hash, &blk.last_commit, &s.undo);
    if (err == 0) {
        L->tip.height = 0;
        L->tip.hash = L->genesis_hash;
        L->tip.hdr = blk.hdr;
        L->tip.set = s.set;
        L->tip.totals = s.totals;
        err = tc_ledger_write_tip(t, &L->tip);
    }
    tc_block_release(&blk);
    tc_ledger_state_release(&s);
    return err ? tc_fail(e, err, "writing genesis: %s", tc_strerror(err)) : 0;
}

static int load_totals(tc_ledger *L, tc_txn *t, const char *dir, tc_errmsg *e)
{
    const uint8_t *v;
    size_t vl;
    const char *why = "absent";
    if (tc_store_get(t, TC_TB_META, META_TOTALS, strlen(META_TOTALS), &v, &vl) == 0) {
        why = vl != TOTALS_SIZE || v[0] != TOTALS_VERSION ? "other_version"
              : memcmp(v + 1, L->tip.hash.b, 32) != 0     ? "other_tip"
                                                          : NULL;
        if (why == NULL) {
            L->tip.totals = (tc_utxo_totals){tc_get_le64(v + 33), tc_get_le64(v + 41)};
            uint64_t n = L->tip.totals.count;
            if (tc_store_count(t, TC_TB_UTXO) == n && tc_store_count(t, TC_TB_ADDR_UTXO) == n)
                return 0;
            why = "size_mismatch";
        }
    }
    uint64_t t0 = tc_clock_mono_ns();
    int err = tc_addrindex_rebuild(t, &L->tip.totals);
    if (err == 0)
        err = tc_ledger_write_totals(t, &L->tip.hash, &L->tip.totals);
    if (err)
        return tc_fail(e, err, "%s: building the address index: %s", dir, tc_strerror(err));
    tc_log_info("ledger", "address index built", "reason=%s utxos=%llu addresses=%llu ms=%llu", why,
                (unsigned long long)L->tip.totals.count, (unsigned long long)tc_store_count(t, TC_TB_ADDR_SUM),
                (unsigned long long)((tc_clock_mono_ns() - t0) / 1000000));
    return 0;
}

static int load_state(tc_ledger *L, tc_txn *t, const char *dir, tc_errmsg *e)
{
    const uint8_t *v;
    size_t vl;
    char want[65], have[65];
    tc_block gen;
    tc_genesis_block(L->g, &gen);
    tc_header_hash(&gen.hdr, &L->genesis_hash);
    tc_block_release(&gen);
    int err = tc_store_get(t, TC_TB_META, META_CHAIN_ID, strlen(META_CHAIN_ID), &v, &vl);
    if (err || vl != 4)
        return tc_fail(e, TC_ECORRUPT, "%s: store has no chain id", dir);
    if (tc_get_le32(v) != L->g->chain_id)
        return tc_fail(e, TC_EFOREIGN, "%s: data dir belongs to chain id %u, this node runs chain id %u", dir,
                       tc_get_le32(v), L->g->chain_id);
    err = tc_store_get(t, TC_TB_META, META_GENESIS, strlen(META_GENESIS), &v, &vl);
    if (err || vl != 32)
        return tc_fail(e, TC_ECORRUPT, "%s: store has no genesis hash", dir);
    if (memcmp(v, L->genesis_hash.b, 32) != 0)
        return tc_fail(e, TC_EFOREIGN, "%s: data dir was made from genesis %s, this node's genesis is %s", dir,
                       tc_hex_encode(have, v, 32), tc_hex_encode(want, L->genesis_hash.b, 32));
    if (tc_store_get(t, TC_TB_META, META_TIP, strlen(META_TIP), &v, &vl) || vl != 40)
        return tc_fail(e, TC_ECORRUPT, "%s: store has no tip", dir);
    L->tip.height = tc_get_be64(v);
    memcpy(L->tip.hash.b, v + 8, 32);
    if (tc_store_get(t, TC_TB_META, META_LTHASH, strlen(META_LTHASH), &v, &vl) || vl != TC_LTHASH_BYTES)
        return tc_fail(e, TC_ECORRUPT, "%s: store has no UTXO commitment state", dir);
    tc_lthash_deserialize(&L->tip.set, v);
    uint8_t hk[8];
    tc_block tip;
    tc_be64(hk, L->tip.height);
    if (tc_store_get(t, TC_TB_BLOCKS, hk, 8, &v, &vl) || tc_block_decode(&tip, v, vl))
        return tc_fail(e, TC_ECORRUPT, "%s: tip block %llu is missing or corrupt", dir, (unsigned long long)L->tip.height);
    L->tip.hdr = tip.hdr;
    tc_block_release(&tip);
    tc_hash h, digest;
    tc_header_hash(&L->tip.hdr, &h);
    tc_lthash_digest(&L->tip.set, &digest);
    if (!tc_hash_eq(&h, &L->tip.hash) || !tc_hash_eq(&digest, &L->tip.hdr.utxo_commitment))
        return tc_fail(e, TC_ECORRUPT, "%s: tip %llu and UTXO state disagree", dir, (unsigned long long)L->tip.height);
    return load_totals(L, t, dir, e);
}

int tc_ledger_open(tc_ledger **out, const char *dir, const tc_genesis *g, const tc_ledger_opts *opts, tc_errmsg *e)
{
    *out = NULL;
    tc_ledger *L = tc_xcalloc(1, sizeof *L);
    L->g = g;
    L->rules = (tc_rules){g, opts ? opts->cache : NULL, opts ? opts->pool : NULL, false};
    tc_txn *t = NULL;
    int err = tc_store_open(&L->store, dir, opts ? opts->map_size : 0, e);
    if (err)
        goto fail;
    if ((err = tc_store_begin(L->store, 1, &t))) {
        tc_fail(e, err, "%s: %s", dir, tc_strerror(err));
        goto fail;
    }
    const uint8_t *v;
    size_t vl;
    int fresh = tc_store_get(t, TC_TB_META, META_CHAIN_ID, strlen(META_CHAIN_ID), &v, &vl) == TC_ENOTFOUND;
    err = fresh ? write_genesis(L, t, e) : load_state(L, t, dir, e);
    if (err)
        goto fail;
    err = tc_store_commit(t);
    t = NULL;
    if (err) {
        tc_fail(e, err, "%s: %s", dir, tc_strerror(err));
        goto fail;
    }
    *out = L;
    return 0;
fail:
    tc_store_abort(t);
    tc_store_close(L->store);
    free(L);
    return err;
}

void tc_ledger_close(tc_ledger *L)
{
    if (L == NULL)
        return;
    tc_store_close(L->store);
    free(L);
}

uint64_t tc_ledger_height(const tc_ledger *L)
{
    return L->tip.height;
}

void tc_ledger_tip(const tc_ledger *L, tc_header *hdr, tc_hash *hash)
{
    if (hdr)
        *hdr = L->tip.hdr;
    if (hash)
        *hash = L->tip.hash;
}

const tc_hash *tc_ledger_genesis_hash(const tc_ledger *L)
{
    return &L->genesis_hash;
}

tc_store *tc_ledger_store(tc_ledger *L)
{
    return L->store;
}

tc_sigcache *tc_ledger_sigcache(tc_ledger *L)
{
    return L->rules.cache;
}

const tc_genesis *tc_ledger_genesis(const tc_ledger *L)
{
    return L->g;
}

void tc_ledger_utxo_commitment(const tc_ledger *L, tc_hash *out)
{
    tc_lthash_digest(&L->tip.set, out);
}

void tc_ledger_utxo_totals(const tc_ledger *L, uint64_t *count, uint64_t *sat)
{
    *count = L->tip.totals.count;
    *sat = L->tip.totals.sat;
}

/* ---- reads: each one read transaction ------------------------------------------------ */

/* Runs fn(t, ctx) inside a read transaction and returns what fn returns (or
 * the error of beginning it). */
static int with_read(tc_ledger *L, int (*fn)(tc_txn *t, void *ctx), void *ctx)
{
    tc_txn *t;
    int err = tc_store_begin(L->store, 0, &t);
    if (err)
        return err;
    err = fn(t, ctx);
    tc_store_abort(t);
    return err;
}

typedef struct {
    uint64_t height;
    tc_valset *out;
} valset_read;

static int read_valset(tc_txn *t, void *ctx)
{
    valset_read *r = ctx;
    return tc_ledger_txn_valset(t, r->height, r->out);
}

int tc_ledger_valset(tc_ledger *L, uint64_t height, tc_valset *out)
{
    tc_valset_init(out);
    if (height == 0 || height > L->tip.height + 1)
        return TC_ENOTFOUND;
    return with_read(L, read_valset, &(valset_read){height, out});
}

/* The entries of block `height` in the tables asked for (cert_tb may be
 * TC_TB_COUNT: none), appended to their buffers. */
typedef struct {
    uint8_t key[8];
    enum tc_table tb, cert_tb;
    tc_buf *copy, *cert_copy;
} height_read;

static int read_by_height(tc_txn *t, void *ctx)
{
    height_read *r = ctx;
    const uint8_t *v, *c = NULL;
    size_t vl, cl = 0;
    int err = tc_store_get(t, r->tb, r->key, 8, &v, &vl);
    if (err == 0 && r->cert_tb != TC_TB_COUNT)
        err = tc_store_get(t, r->cert_tb, r->key, 8, &c, &cl);
    if (err)
        return err;
    tc_buf_put(r->copy, v, vl);
    if (c)
        tc_buf_put(r->cert_copy, c, cl);
    return 0;
}

static int get_by_height(tc_ledger *L, enum tc_table tb, uint64_t height, tc_buf *copy)
{
    height_read r = {.tb = tb, .cert_tb = TC_TB_COUNT, .copy = copy};
    tc_be64(r.key, height);
    return with_read(L, read_by_height, &r);
}

int tc_ledger_get_block(tc_ledger *L, uint64_t height, tc_block *out)
{
    tc_buf b;
    tc_buf_init(&b);
    tc_block_init(out);
    int err = get_by_height(L, TC_TB_BLOCKS, height, &b);
    if (err == 0)
        err = tc_block_decode(out, b.p, b.len) ? TC_ECORRUPT : 0;
    tc_buf_release(&b);
    return err;
}

int tc_ledger_get_cert(tc_ledger *L, uint64_t height, tc_cert *out)
{
    tc_buf b;
    tc_buf_init(&b);
    tc_cert_init(out);
    int err = get_by_height(L, TC_TB_CERTS, height, &b);
    if (err == 0)
        err = tc_cert_decode(out, b.p, b.len) ? TC_ECORRUPT : 0;
    tc_buf_release(&b);
    return err;
}

int tc_ledger_get_raw(tc_ledger *L, uint64_t height, tc_buf *block, tc_buf *cert)
{
    height_read r = {.tb = TC_TB_BLOCKS, .cert_tb = TC_TB_CERTS, .copy = block, .cert_copy = cert};
    tc_be64(r.key, height);
    return with_read(L, read_by_height, &r);
}

typedef struct {
    const tc_hash *block;
    uint64_t *height;
} height_of_read;

static int read_height_of(tc_txn *t, void *ctx)
{
    height_of_read *r = ctx;
    const uint8_t *v;
    size_t vl;
    int err = tc_store_get(t, TC_TB_HASHES, r->block->b, 32, &v, &vl);
    if (err == 0)
        *r->height = vl == 8 ? tc_get_be64(v) : 0;
    return err == 0 && vl != 8 ? TC_ECORRUPT : err;
}

int tc_ledger_height_of(tc_ledger *L, const tc_hash *block, uint64_t *height)
{
    return with_read(L, read_height_of, &(height_of_read){block, height});
}

/* One lookup of the read view: a UTXO or a masternode by collateral. */
typedef struct {
    const tc_outpoint *o;
    tc_utxo *utxo; /* or */
    tc_mn *mn;
} view_read;

static int read_view(tc_txn *t, void *ctx)
{
    view_read *r = ctx;
    tc_view v;
    tc_ledger_txn_view(&v, t);
    return r->utxo ? v.get_utxo(t, r->o, r->utxo) : v.get_mn(t, r->o, r->mn);
}

int tc_ledger_get_utxo(tc_ledger *L, const tc_outpoint *o, tc_utxo *out)
{
    return with_read(L, read_view, &(view_read){o, out, NULL});
}

int tc_ledger_get_mn(tc_ledger *L, const tc_outpoint *collateral, tc_mn *out)
{
    return with_read(L, read_view, &(view_read){collateral, NULL, out});
}

int tc_ledger_view_begin(tc_ledger *L, tc_view *out)
{
    tc_txn *t;
    int err = tc_store_begin(L->store, 0, &t);
    if (err)
        return err;
    tc_ledger_txn_view(out, t);
    return 0;
}

void tc_ledger_view_end(tc_view *v)
{
    tc_store_abort(v->ctx);
    v->ctx = NULL;
}

typedef struct {
    const tc_hash *txid;
    uint64_t *height;
    uint32_t *index;
} location_read;

static int read_location(tc_txn *t, void *ctx)
{
    location_read *r = ctx;
    const uint8_t *v;
    size_t vl;
    int err = tc_store_get(t, TC_TB_TXINDEX, r->txid->b, 32, &v, &vl);
    if (err == 0 && vl != 12)
        err = TC_ECORRUPT;
    if (err == 0) {
        *r->height = tc_get_be64(v);
        *r->index = (uint32_t)v[8] << 24 | (uint32_t)v[9] << 16 | (uint32_t)v[10] << 8 | v[11];
    }
    return err;
}

int tc_ledger_tx_location(tc_ledger *L, const tc_hash *txid, uint64_t *height, uint32_t *index)
{
    return with_read(L, read_location, &(location_read){txid, height, index});
}

typedef struct {
    tc_mn_fn fn;
    void *ctx;
} mn_read;

static int read_each_mn(tc_txn *t, void *ctx)
{
    mn_read *r = ctx;
    return tc_ledger_txn_each_mn(t, r->fn, r->ctx);
}

int tc_ledger_each_mn(tc_ledger *L, int (*fn)(void *ctx, const tc_mn *m), void *ctx)
{
    return with_read(L, read_each_mn, &(mn_read){fn, ctx});
}

typedef struct {
    int (*fn)(void *ctx, const tc_outpoint *o, const tc_utxo *u);
    void *ctx;
} utxo_walk;

static int walk_utxo(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    utxo_walk *w = ctx;
    tc_outpoint o;
    tc_utxo u;
    if (kl != TC_UTXO_KEY_SIZE || tc_utxo_decode(&u, v, vl))
        return TC_ECORRUPT;
    tc_utxo_key_parse(k, &o);
    return w->fn(w->ctx, &o, &u);
}

static int read_each_utxo(tc_txn *t, void *ctx)
{
    return tc_store_each(t, TC_TB_UTXO, NULL, 0, walk_utxo, ctx);
}

int tc_ledger_each_utxo(tc_ledger *L, int (*fn)(void *ctx, const tc_outpoint *o, const tc_utxo *u), void *ctx)
{
    return with_read(L, read_each_utxo, &(utxo_walk){fn, ctx});
}

typedef struct {
    const tc_address *a;
    tc_utxo_totals *out;
} totals_read;

static int read_address_totals(tc_txn *t, void *ctx)
{
    totals_read *r = ctx;
    return tc_addrindex_totals(t, r->a, r->out);
}

int tc_ledger_address_totals(tc_ledger *L, const tc_address *a, uint64_t *count, uint64_t *sat)
{
    tc_utxo_totals s = {0, 0};
    int err = with_read(L, read_address_totals, &(totals_read){a, &s});
    *count = s.count;
    *sat = s.sat;
    return err;
}

typedef struct {
    const tc_address *a;
    const tc_outpoint *after;
    tc_view view;
    int (*fn)(void *ctx, const tc_outpoint *o, const tc_utxo *u, int locked);
    void *ctx;
    uint64_t next_height; /* of the block a spend would go into */
} coin_walk;

static int walk_coin(void *ctx, const tc_outpoint *o, const tc_utxo *u)
{
    coin_walk *w = ctx;
    tc_mn m;
    /* a collateral is locked until its unbonding is over */
    int found = w->view.get_mn(w->view.ctx, o, &m);
    if (found != 0 && found != TC_ENOTFOUND)
        return found;
    bool locked = found == 0 && (m.unbond_height == 0 || w->next_height < m.unbond_height);
    return w->fn(w->ctx, o, u, locked);
}

static int read_address_coins(tc_txn *t, void *ctx)
{
    coin_walk *w = ctx;
    tc_ledger_txn_view(&w->view, t);
    return tc_addrindex_each(t, w->a, w->after, walk_coin, w);
}

int tc_ledger_each_address_utxo(tc_ledger *L, const tc_address *a, const tc_outpoint *after,
                                int (*fn)(void *ctx, const tc_outpoint *o, const tc_utxo *u, int locked), void *ctx)
{
    coin_walk w = {a, after, {0}, fn, ctx, tc_ledger_height(L) + 1};
    return with_read(L, read_address_coins, &w);
}

typedef struct {
    const tc_tx *tx;
    const tc_hash *txid;
    uint64_t height;
    uint64_t *fee;
    tc_errmsg *e;
} tx_check;

static int read_check_inputs(tc_txn *t, void *ctx)
{
    tx_check *c = ctx;
    tc_view view;
    tc_ledger_txn_view(&view, t);
    return tc_tx_check_inputs(c->tx, c->txid, &view, c->height, c->fee, c->e);
}

int tc_ledger_check_tx(tc_ledger *L, const tc_tx *tx, uint64_t *fee, tc_errmsg *e)
{
    tc_hash txid;
    int err = tc_tx_check_basic(tx, e);
    if (err)
        return err;
    if (tx->kind == TC_TX_COINBASE)
        return tc_fail(e, TC_ETX_KIND, "a coinbase cannot be sent on its own");
    tc_tx_txid(tx, &txid);
    if ((err = tc_tx_check_sigs(tx, &txid, L->g->chain_id, L->rules.cache, e)))
        return err;
    return with_read(L, read_check_inputs, &(tx_check){tx, &txid, L->tip.height + 1, fee, e});
}

static int scan_utxo(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    if (kl != TC_UTXO_KEY_SIZE || vl != TC_UTXO_REC_SIZE)
        return TC_ECORRUPT;
    tc_utxo_commit(ctx, k, v, 1);
    return 0;
}

static int read_scan_commitment(tc_txn *t, void *ctx)
{
    return tc_store_each(t, TC_TB_UTXO, NULL, 0, scan_utxo, ctx);
}

int tc_ledger_scan_utxo_commitment(tc_ledger *L, tc_hash *out)
{
    tc_lthash set;
    tc_lthash_init(&set);
    int err = with_read(L, read_scan_commitment, &set);
    if (err == 0)
        tc_lthash_digest(&set, out);
    return err;
}
