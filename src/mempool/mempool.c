#include "mempool/mempool.h"

#include <stdio.h>
#include <string.h>

#include "chain/utxo.h"
#include "chain/validate.h"
#include "util/hex.h"
#include "util/hmap.h"
#include "util/log.h"
#include "util/mem.h"

#define DEFAULT_MAX_TXS 10000
#define DEFAULT_MAX_BYTES (300u * 1000 * 1000)
#define DEFAULT_EXPIRY_MS (72ull * 3600 * 1000)

/* Claims on masternode state a pending transaction makes (first seen wins). */
enum { CLAIM_COLLATERAL = 'C', CLAIM_OPERATOR = 'O', CLAIM_EVIDENCE = 'E' };
#define CLAIM_KEY 37

typedef struct entry {
    tc_tx tx;
    tc_hash txid;
    size_t size;
    uint64_t fee;
    uint64_t added_ms;
    uint64_t seq;  /* arrival order: parents always before children */
    uint64_t mark; /* traversal generation */
    struct entry *older, *newer; /* arrival order */
} entry;

struct tc_mempool {
    tc_chainview chain;
    tc_mempool_opts o;
    tc_hmap *by_txid; /* txid -> entry */
    tc_hmap *spent;   /* outpoint key -> entry spending it */
    tc_hmap *claims;  /* claim key -> entry */
    uint64_t next_seq;
    uint64_t generation;
    entry *oldest, *newest; /* arrival order: parents before children */
    tc_mempool_stats st;
};

tc_mempool *tc_mempool_new(tc_chainview chain, const tc_mempool_opts *opts)
{
    tc_mempool *mp = tc_xcalloc(1, sizeof *mp);
    mp->chain = chain;
    if (opts)
        mp->o = *opts;
    if (mp->o.max_txs == 0)
        mp->o.max_txs = DEFAULT_MAX_TXS;
    if (mp->o.max_bytes == 0)
        mp->o.max_bytes = DEFAULT_MAX_BYTES;
    if (mp->o.expiry_ms == 0)
        mp->o.expiry_ms = DEFAULT_EXPIRY_MS;
    mp->by_txid = tc_hmap_new(32);
    mp->spent = tc_hmap_new(TC_UTXO_KEY_SIZE);
    mp->claims = tc_hmap_new(CLAIM_KEY);
    return mp;
}

static void free_entry(void *ctx, const void *key, void *value)
{
    entry *e = value;
    tc_tx_release(&e->tx);
    free(e);
}

void tc_mempool_free(tc_mempool *mp)
{
    if (mp == NULL)
        return;
    tc_hmap_each(mp->by_txid, free_entry, NULL);
    tc_hmap_free(mp->by_txid);
    tc_hmap_free(mp->spent);
    tc_hmap_free(mp->claims);
    free(mp);
}

/* ---- claims -------------------------------------------------------------------- */

/* The claim keys a transaction makes (at most 2). */
static size_t claims_of(const tc_tx *tx, uint8_t keys[2][CLAIM_KEY])
{
    const tc_outpoint *col = NULL;
    memset(keys, 0, 2 * CLAIM_KEY);
    switch (tx->kind) {
    case TC_TX_MN_REGISTER:
        col = &tx->u.reg.collateral;
        keys[1][0] = CLAIM_OPERATOR;
        memcpy(keys[1] + 1, tx->u.reg.operator_key.b, 32);
        break;
    case TC_TX_MN_UPDATE:
        col = &tx->u.update.collateral;
        break;
    case TC_TX_MN_DEREGISTER:
        col = &tx->u.dereg.collateral;
        break;
    case TC_TX_MN_UNJAIL:
        col = &tx->u.unjail.collateral;
        break;
    case TC_TX_EVIDENCE:
        keys[0][0] = CLAIM_EVIDENCE;
        memcpy(keys[0] + 1, tx->u.evidence.a.validator.b, 32);
        return 1;
    default:
        return 0;
    }
    keys[0][0] = CLAIM_COLLATERAL;
    tc_utxo_key(col, keys[0] + 1);
    return tx->kind == TC_TX_MN_REGISTER ? 2 : 1;
}

/* ---- the overlay view: tip state plus pending outputs ---------------------------- */

typedef struct {
    tc_mempool *mp;
    tc_view base;
} overlay;

static int ov_utxo(void *ctx, const tc_outpoint *o, tc_utxo *out)
{
    overlay *ov = ctx;
    entry *parent = tc_hmap_get(ov->mp->by_txid, o->txid.b);
    if (parent) {
        if (o->vout >= parent->tx.n_out)
            return TC_ENOTFOUND;
        out->value = parent->tx.out[o->vout].value;
        out->addr = parent->tx.out[o->vout].addr;
        out->height = ov->mp->chain.height(ov->mp->chain.ctx) + 1;
        out->flags = 0;
        return 0;
    }
    return ov->base.get_utxo(ov->base.ctx, o, out);
}

static int ov_mn(void *ctx, const tc_outpoint *c, tc_mn *out)
{
    overlay *ov = ctx;
    return ov->base.get_mn(ov->base.ctx, c, out);
}

static int ov_mn_op(void *ctx, const tc_pubkey *k, tc_mn *out)
{
    overlay *ov = ctx;
    return ov->base.get_mn_by_operator(ov->base.ctx, k, out);
}

static int ov_has_tx(void *ctx, const tc_hash *txid)
{
    overlay *ov = ctx;
    return ov->base.has_tx(ov->base.ctx, txid);
}

static int overlay_begin(tc_mempool *mp, overlay *ov, tc_view *v)
{
    ov->mp = mp;
    int err = mp->chain.view_begin(mp->chain.ctx, &ov->base);
    if (err)
        return err;
    v->ctx = ov;
    v->get_utxo = ov_utxo;
    v->get_mn = ov_mn;
    v->get_mn_by_operator = ov_mn_op;
    v->has_tx = ov_has_tx;
    return 0;
}

/* ---- insertion and removal ------------------------------------------------------ */

static void link_entry(tc_mempool *mp, entry *e)
{
    uint8_t key[TC_UTXO_KEY_SIZE], claims[2][CLAIM_KEY];
    tc_hmap_put(mp->by_txid, e->txid.b, e);
    for (size_t i = 0; i < e->tx.n_in; i++) {
        tc_utxo_key(&e->tx.in[i].prev, key);
        tc_hmap_put(mp->spent, key, e);
    }
    for (size_t k = 0, n = claims_of(&e->tx, claims); k < n; k++)
        tc_hmap_put(mp->claims, claims[k], e);
    e->older = mp->newest;
    e->newer = NULL;
    if (mp->newest)
        mp->newest->newer = e;
    else
        mp->oldest = e;
    mp->newest = e;
    mp->st.txs++;
    mp->st.bytes += e->size;
    mp->st.fees += e->fee;
}

static void unlink_entry(tc_mempool *mp, entry *e)
{
    uint8_t key[TC_UTXO_KEY_SIZE], claims[2][CLAIM_KEY];
    tc_hmap_del(mp->by_txid, e->txid.b);
    for (size_t i = 0; i < e->tx.n_in; i++) {
        tc_utxo_key(&e->tx.in[i].prev, key);
        if (tc_hmap_get(mp->spent, key) == e)
            tc_hmap_del(mp->spent, key);
    }
    for (size_t k = 0, n = claims_of(&e->tx, claims); k < n; k++)
        if (tc_hmap_get(mp->claims, claims[k]) == e)
            tc_hmap_del(mp->claims, claims[k]);
    if (e->older)
        e->older->newer = e->newer;
    else
        mp->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        mp->newest = e->older;
    mp->st.txs--;
    mp->st.bytes -= e->size;
    mp->st.fees -= e->fee;
}

/* The pending child spending output vout of e, or NULL. */
static entry *child_of(tc_mempool *mp, const entry *e, uint32_t vout)
{
    uint8_t key[TC_UTXO_KEY_SIZE];
    tc_outpoint o = {e->txid, vout};
    tc_utxo_key(&o, key);
    return tc_hmap_get(mp->spent, key);
}

/* Removes e and everything that spends its outputs; *counter counts them. */
static void remove_tree(tc_mempool *mp, entry *e, uint64_t *counter)
{
    for (uint32_t v = 0; v < e->tx.n_out; v++) {
        entry *c = child_of(mp, e, v);
        if (c)
            remove_tree(mp, c, counter);
    }
    unlink_entry(mp, e);
    (*counter)++;
    free_entry(NULL, NULL, e);
}

/* a pays a higher fee rate than b (fee/size compared without division). */
static bool better_rate(uint64_t fee_a, size_t size_a, uint64_t fee_b, size_t size_b)
{
    return (unsigned __int128)fee_a * size_b > (unsigned __int128)fee_b * size_a;
}

/* ---- snapshots of the pool, for sorting -------------------------------------------- */

typedef struct {
    entry **v;
    size_t n;
} entry_list;

static void collect(void *ctx, const void *key, void *value)
{
    entry_list *l = ctx;
    l->v[l->n++] = value;
}

static entry_list snapshot(const tc_mempool *mp)
{
    entry_list l = {tc_xcalloc(mp->st.txs, sizeof *l.v), 0};
    tc_hmap_each(mp->by_txid, collect, &l);
    return l;
}

/* The txids of the pool in arrival order, at most max (copies: entries may
 * go while the caller works through them). */
static size_t arrival_txids(const tc_mempool *mp, tc_hash *out, size_t max)
{
    size_t n = 0;
    for (const entry *e = mp->oldest; e && n < max; e = e->newer)
        out[n++] = e->txid;
    return n;
}

/* Highest fee rate first; ties by arrival. */
static int by_rate_desc(const void *a, const void *b)
{
    const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
    if (better_rate(x->fee, x->size, y->fee, y->size))
        return -1;
    if (better_rate(y->fee, y->size, x->fee, x->size))
        return 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Marks e's pending ancestors (not e) with the current generation. */
static void mark_ancestors(tc_mempool *mp, const tc_tx *tx)
{
    for (size_t i = 0; i < tx->n_in; i++) {
        entry *p = tc_hmap_get(mp->by_txid, tx->in[i].prev.txid.b);
        if (p && p->mark != mp->generation) {
            p->mark = mp->generation;
            mark_ancestors(mp, &p->tx);
        }
    }
}

/* Bytes and count freed by removing e and its descendants not yet marked;
 * marks them. */
static void measure_tree(tc_mempool *mp, entry *e, size_t *bytes, size_t *count)
{
    if (e->mark == mp->generation)
        return;
    e->mark = mp->generation;
    *bytes += e->size;
    (*count)++;
    for (uint32_t v = 0; v < e->tx.n_out; v++) {
        entry *c = child_of(mp, e, v);
        if (c)
            measure_tree(mp, c, bytes, count);
    }
}

/* Makes room for a newcomer of (fee, size) by evicting the lowest fee-rate
 * entries, never one the newcomer depends on. Evicts nothing unless enough
 * room can be made with entries that all pay a lower rate. */
static int make_room(tc_mempool *mp, const tc_tx *tx, uint64_t fee, size_t size, tc_errmsg *e)
{
    if (mp->st.txs + 1 <= mp->o.max_txs && mp->st.bytes + size <= mp->o.max_bytes)
        return 0;
    if (size > mp->o.max_bytes)
        return tc_fail(e, TC_ELIMIT, "transaction of %zu bytes exceeds the mempool's %zu bytes", size,
                       mp->o.max_bytes);
    entry_list l = snapshot(mp);
    qsort(l.v, l.n, sizeof *l.v, by_rate_desc);
    mp->generation++;
    mark_ancestors(mp, tx); /* marked entries are never candidates */
    size_t freed_bytes = 0, freed_count = 0, k = l.n, victims = 0;
    tc_hash *victim = tc_xcalloc(l.n ? l.n : 1, sizeof *victim);
    int err = 0;
    while (mp->st.txs - freed_count + 1 > mp->o.max_txs || mp->st.bytes - freed_bytes + size > mp->o.max_bytes) {
        while (k > 0 && l.v[k - 1]->mark == mp->generation)
            k--;
        if (k == 0 || !better_rate(fee, size, l.v[k - 1]->fee, l.v[k - 1]->size)) {
            char rate[32] = "-";
            if (k > 0)
                snprintf(rate, sizeof rate, "%.0f", (double)l.v[k - 1]->fee * 1000.0 / (double)l.v[k - 1]->size);
            err = tc_fail(e, TC_ELIMIT,
                          "mempool full (%zu transactions, %zu bytes): fee rate %.0f sat/kB does not beat the "
                          "lowest pending rate %s sat/kB",
                          mp->st.txs, mp->st.bytes, (double)fee * 1000.0 / (double)size, rate);
            break;
        }
        victim[victims++] = l.v[--k]->txid;
        measure_tree(mp, l.v[k], &freed_bytes, &freed_count);
    }
    for (size_t i = 0; err == 0 && i < victims; i++) {
        /* A victim may already be gone as the descendant of an earlier one:
         * looked up by txid, never through a pointer that may be freed. */
        entry *v = tc_hmap_get(mp->by_txid, victim[i].b);
        if (v) {
            char hex[65];
            tc_log_debug("mempool", "evicted for a higher fee rate", "txid=%s", tc_hex_encode(hex, v->txid.b, 32));
            remove_tree(mp, v, &mp->st.evicted);
        }
    }
    free(victim);
    free(l.v);
    return err;
}

/* Removes what waited too long, oldest first (O(1) when nothing has):
 * descendants are younger, so removing a tree never skips an entry. */
static void expire(tc_mempool *mp, uint64_t now_ms)
{
    while (mp->oldest && mp->oldest->added_ms + mp->o.expiry_ms <= now_ms)
        remove_tree(mp, mp->oldest, &mp->st.expired);
}

/* Conflicts with pending transactions: first seen wins. */
static int check_conflicts(tc_mempool *mp, const tc_tx *tx, tc_errmsg *e)
{
    uint8_t key[TC_UTXO_KEY_SIZE], claims[2][CLAIM_KEY];
    char hex[65], op[80];
    for (size_t i = 0; i < tx->n_in; i++) {
        tc_utxo_key(&tx->in[i].prev, key);
        entry *other = tc_hmap_get(mp->spent, key);
        if (other)
            return tc_fail(e, TC_ETX_DOUBLE_SPEND, "input %zu spends %s, already spent by pending transaction %s", i,
                           tc_outpoint_str(op, &tx->in[i].prev), tc_hex_encode(hex, other->txid.b, 32));
    }
    for (size_t k = 0, n = claims_of(tx, claims); k < n; k++) {
        entry *other = tc_hmap_get(mp->claims, claims[k]);
        if (other)
            return tc_fail(e, TC_ETX_DOUBLE_SPEND, "masternode already changed by pending transaction %s",
                           tc_hex_encode(hex, other->txid.b, 32));
    }
    return 0;
}

int tc_mempool_add(tc_mempool *mp, const tc_tx *tx, uint64_t now_ms, tc_hash *txid_out, tc_errmsg *e)
{
    tc_hash txid;
    char hex[65];
    uint64_t fee = 0;
    tc_view view;
    overlay ov;
    expire(mp, now_ms);
    tc_tx_txid(tx, &txid);
    if (txid_out)
        *txid_out = txid;
    int err;
    if (tc_hmap_get(mp->by_txid, txid.b)) {
        err = tc_fail(e, TC_EEXIST, "transaction %s is already in the mempool", tc_hex_encode(hex, txid.b, 32));
        goto out;
    }
    if ((err = tc_tx_check_basic(tx, e)))
        goto out;
    if (tx->kind == TC_TX_COINBASE) {
        err = tc_fail(e, TC_ETX_KIND, "a coinbase cannot be sent on its own");
        goto out;
    }
    if ((err = check_conflicts(mp, tx, e)) ||
        (err = tc_tx_check_sigs(tx, &txid, mp->chain.chain_id, mp->chain.sigcache, e)))
        goto out;
    if ((err = overlay_begin(mp, &ov, &view))) {
        err = tc_fail(e, err, "store: %s", tc_strerror(err));
        goto out;
    }
    err = tc_tx_check_inputs(tx, &txid, &view, mp->chain.height(mp->chain.ctx) + 1, &fee, e);
    mp->chain.view_end(&ov.base);
    size_t size = tc_tx_size(tx);
    if (err || (err = make_room(mp, tx, fee, size, e)))
        goto out;
    entry *n = tc_xcalloc(1, sizeof *n);
    tc_tx_copy(&n->tx, tx);
    n->txid = txid;
    n->size = size;
    n->fee = fee;
    n->added_ms = now_ms;
    n->seq = mp->next_seq++;
    link_entry(mp, n);
    mp->st.admitted++;
out:
    if (err)
        mp->st.rejected++;
    return err;
}

void tc_mempool_block_committed(tc_mempool *mp, const tc_block *blk, uint64_t now_ms)
{
    uint8_t key[TC_UTXO_KEY_SIZE];
    for (size_t i = 1; i < blk->n_tx; i++) {
        tc_hash txid;
        tc_tx_txid(&blk->txs[i], &txid);
        entry *mined = tc_hmap_get(mp->by_txid, txid.b);
        if (mined) { /* its children stay: they now spend confirmed outputs */
            unlink_entry(mp, mined);
            free_entry(NULL, NULL, mined);
            mp->st.mined++;
        }
        for (size_t k = 0; k < blk->txs[i].n_in; k++) {
            tc_utxo_key(&blk->txs[i].in[k].prev, key);
            entry *conflict = tc_hmap_get(mp->spent, key);
            if (conflict)
                remove_tree(mp, conflict, &mp->st.dropped);
        }
    }
    /* What the block changed beyond spent outputs (masternode state, a parent
     * confirmed differently) is caught by checking every entry again. */
    (void)tc_mempool_revalidate(mp, now_ms);
}

size_t tc_mempool_revalidate(tc_mempool *mp, uint64_t now_ms)
{
    /* The signatures do not change, so this is cheap. Arrival order puts
     * parents before their children. */
    uint64_t dropped = mp->st.dropped;
    size_t n = mp->st.txs;
    tc_hash *ids = tc_xcalloc(n ? n : 1, sizeof *ids);
    n = arrival_txids(mp, ids, n);
    tc_view view;
    overlay ov;
    if (n && overlay_begin(mp, &ov, &view) == 0) {
        for (size_t i = 0; i < n; i++) {
            entry *e = tc_hmap_get(mp->by_txid, ids[i].b);
            uint64_t fee;
            tc_errmsg why;
            if (e == NULL)
                continue; /* removed with an ancestor */
            if (view.has_tx(view.ctx, &e->txid) == 1) {
                /* Mined in a block not handed to us yet (sync applies a
                 * batch, then reports its blocks one by one): like the
                 * mined above, its children stay, they spend confirmed
                 * outputs now. Dropping it as "already on chain" took its
                 * children with it, silently (whole-node simulator, seed
                 * 4000003 of the partition profile). */
                unlink_entry(mp, e);
                free_entry(NULL, NULL, e);
                mp->st.mined++;
                continue;
            }
            if (tc_tx_check_inputs(&e->tx, &e->txid, &view, mp->chain.height(mp->chain.ctx) + 1, &fee, &why) == 0)
                continue;
            char hex[65];
            tc_log_debug("mempool", "dropped: no longer valid at the tip", "txid=%s reason=%s",
                         tc_hex_encode(hex, e->txid.b, 32), why.msg);
            remove_tree(mp, e, &mp->st.dropped);
        }
        mp->chain.view_end(&ov.base);
    }
    free(ids);
    expire(mp, now_ms);
    return (size_t)(mp->st.dropped - dropped);
}

static void emit(tc_mempool *mp, entry *e, const tc_tx **out, size_t max, size_t *n)
{
    if (e->mark == mp->generation || *n >= max)
        return;
    e->mark = mp->generation;
    for (size_t i = 0; i < e->tx.n_in; i++) {
        entry *p = tc_hmap_get(mp->by_txid, e->tx.in[i].prev.txid.b);
        if (p)
            emit(mp, p, out, max, n);
    }
    if (*n < max)
        out[(*n)++] = &e->tx;
}

size_t tc_mempool_select(tc_mempool *mp, const tc_tx **out, size_t max)
{
    entry_list l = snapshot(mp);
    qsort(l.v, l.n, sizeof *l.v, by_rate_desc);
    mp->generation++;
    size_t n = 0;
    for (size_t i = 0; i < l.n && n < max; i++)
        emit(mp, l.v[i], out, max, &n);
    free(l.v);
    return n;
}

bool tc_mempool_has(const tc_mempool *mp, const tc_hash *txid)
{
    return tc_hmap_get(mp->by_txid, txid->b) != NULL;
}

const tc_tx *tc_mempool_get(const tc_mempool *mp, const tc_hash *txid)
{
    entry *e = tc_hmap_get(mp->by_txid, txid->b);
    return e ? &e->tx : NULL;
}

size_t tc_mempool_txids(const tc_mempool *mp, tc_hash *out, size_t max)
{
    return arrival_txids(mp, out, max);
}

void tc_mempool_get_stats(const tc_mempool *mp, tc_mempool_stats *out)
{
    *out = mp->st;
}
