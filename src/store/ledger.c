#include "store/ledger.h"

#include <stdio.h>
#include <string.h>

#include "chain/reward.h"
#include "crypto/lthash.h"
#include "store/addrindex.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"

#define META_CHAIN_ID "chain_id"
#define META_GENESIS "genesis_hash"
#define META_TIP "tip" /* be64 height | hash32 */
#define META_LTHASH "utxo_lthash"
/* u8 version | hash32 of the tip it was written with | le64 outputs | le64 sat:
 * the UTXO set's totals, and the stamp that says the address index matches
 * that tip (a binary without the index moves the tip but not this). */
#define META_TOTALS "utxo_totals"
#define TOTALS_VERSION 1
#define TOTALS_SIZE 49

/* The tip a block is validated against: the committed one, or inside a batch
 * the last block applied in the open transaction. */
typedef struct {
    uint64_t height;
    tc_hash hash;
    tc_header hdr;
    tc_lthash set; /* UTXO commitment state */
    tc_utxo_totals totals; /* outputs in the UTXO set and their sum */
} chain_tip;

struct tc_ledger {
    tc_store *store;
    const tc_genesis *g;
    tc_sigcache *cache;
    tc_pool *pool;
    tc_hash genesis_hash;
    chain_tip tip; /* committed: what the store's META_TIP says */
};

/* One block being applied (or built) inside a write transaction. */
typedef struct {
    tc_ledger *L;
    tc_txn *t;
    uint64_t height;
    tc_buf undo;   /* records: u8 table | var key | u8 had_old | [var old] */
    tc_lthash set; /* UTXO commitment as the block changes it */
    tc_utxo_totals totals;
    tc_view view;
    int committing; /* events are logged only for a block that will be committed */
} applier;

/* ---- tracked writes: every state change leaves an undo record ---------------- */

static void undo_record(applier *a, enum tc_table tb, const void *k, size_t kl, const uint8_t *old, size_t ol,
                        int had_old)
{
    tc_buf_u8(&a->undo, (uint8_t)tb);
    tc_buf_var(&a->undo, k, kl);
    tc_buf_u8(&a->undo, (uint8_t)had_old);
    if (had_old)
        tc_buf_var(&a->undo, old, ol);
}

static int tracked_put(applier *a, enum tc_table tb, const void *k, size_t kl, const void *v, size_t vl)
{
    const uint8_t *old;
    size_t ol;
    int err = tc_store_get(a->t, tb, k, kl, &old, &ol);
    if (err && err != TC_ENOTFOUND)
        return err;
    int had = err == 0;
    undo_record(a, tb, k, kl, old, ol, had);
    if (tb == TC_TB_UTXO) {
        if (kl != TC_UTXO_KEY_SIZE)
            return TC_ECORRUPT;
        if (had && ol == TC_UTXO_REC_SIZE)
            tc_utxo_commit(&a->set, k, old, -1);
        tc_utxo_commit(&a->set, k, v, 1);
        /* old is not read after the index writes (they may move it). */
        if ((had && (err = tc_addrindex_update(a->t, k, old, ol, -1, &a->totals))) ||
            (err = tc_addrindex_update(a->t, k, v, vl, 1, &a->totals)))
            return err;
    }
    return tc_store_put(a->t, tb, k, kl, v, vl);
}

static int tracked_del(applier *a, enum tc_table tb, const void *k, size_t kl)
{
    const uint8_t *old;
    size_t ol;
    int err = tc_store_get(a->t, tb, k, kl, &old, &ol);
    if (err)
        return err;
    undo_record(a, tb, k, kl, old, ol, 1);
    if (tb == TC_TB_UTXO) {
        if (kl != TC_UTXO_KEY_SIZE)
            return TC_ECORRUPT;
        if (ol == TC_UTXO_REC_SIZE)
            tc_utxo_commit(&a->set, k, old, -1);
        if ((err = tc_addrindex_update(a->t, k, old, ol, -1, &a->totals)))
            return err;
    }
    return tc_store_del(a->t, tb, k, kl);
}

/* ---- state lookups (the tc_view of a transaction) ----------------------------- */

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

static void view_init(tc_view *v, tc_txn *t)
{
    v->ctx = t;
    v->get_utxo = view_utxo;
    v->get_mn = view_mn;
    v->get_mn_by_operator = view_mn_by_operator;
    v->has_tx = view_has_tx;
}

static int put_mn(applier *a, const tc_mn *m)
{
    uint8_t key[TC_UTXO_KEY_SIZE];
    tc_buf b;
    tc_buf_init(&b);
    tc_utxo_key(&m->collateral, key);
    tc_mn_encode(m, &b);
    int err = tracked_put(a, TC_TB_MN, key, sizeof key, b.p, b.len);
    tc_buf_release(&b);
    return err;
}

static int del_mn(applier *a, const tc_mn *m)
{
    uint8_t key[TC_UTXO_KEY_SIZE];
    tc_utxo_key(&m->collateral, key);
    int err = tracked_del(a, TC_TB_MN, key, sizeof key);
    return err ? err : tracked_del(a, TC_TB_MN_OPERATOR, m->operator_key.b, 32);
}

static int read_valset(tc_txn *t, uint64_t height, tc_valset *out)
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

/* ---- applying a block's effects ---------------------------------------------- */

static int add_outputs(applier *a, const tc_tx *tx, const tc_hash *txid, uint8_t flags)
{
    for (uint32_t i = 0; i < tx->n_out; i++) {
        tc_outpoint op = {*txid, i};
        tc_utxo u = {tx->out[i].value, tx->out[i].addr, a->height, flags};
        uint8_t key[TC_UTXO_KEY_SIZE], rec[TC_UTXO_REC_SIZE];
        tc_utxo_key(&op, key);
        tc_utxo_encode(&u, rec);
        int err = tracked_put(a, TC_TB_UTXO, key, sizeof key, rec, sizeof rec);
        if (err)
            return err;
    }
    return 0;
}

static int index_tx(applier *a, const tc_hash *txid, uint32_t index)
{
    uint8_t v[12];
    tc_be64(v, a->height);
    v[8] = (uint8_t)(index >> 24);
    v[9] = (uint8_t)(index >> 16);
    v[10] = (uint8_t)(index >> 8);
    v[11] = (uint8_t)index;
    return tracked_put(a, TC_TB_TXINDEX, txid->b, 32, v, sizeof v);
}

/* Counts masternodes that vote at `height` (to never jail the last one). */
static int count_validators(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    struct {
        uint64_t height, n;
    } *c = ctx;
    tc_mn m;
    if (kl != TC_UTXO_KEY_SIZE || tc_mn_decode(&m, v, vl))
        return TC_ECORRUPT;
    c->n += tc_mn_is_validator(&m, c->height);
    return 0;
}

/* Jails m unless that would leave no validator at all (the chain could then
 * never make the block that unjails anyone). */
static int jail(applier *a, tc_mn *m, const char *why)
{
    struct {
        uint64_t height, n;
    } c = {a->height + 1, 0};
    int err = tc_store_each(a->t, TC_TB_MN, NULL, 0, count_validators, &c);
    if (err)
        return err;
    if (c.n <= 1 && tc_mn_is_validator(m, a->height + 1))
        return 0;
    char hex[65];
    if (a->committing)
        tc_log_warn("ledger", "masternode jailed", "height=%llu operator=%s reason=%s", (unsigned long long)a->height,
                    tc_hex_encode(hex, m->operator_key.b, 32), why);
    m->jailed = 1;
    return put_mn(a, m);
}

static int apply_tx(applier *a, const tc_tx *tx, const tc_hash *txid, uint32_t index)
{
    const tc_consensus_params *cp = &a->L->g->cp;
    tc_mn m;
    int err = 0;
    for (size_t i = 0; i < tx->n_in && err == 0; i++) {
        uint8_t key[TC_UTXO_KEY_SIZE];
        tc_utxo_key(&tx->in[i].prev, key);
        err = tracked_del(a, TC_TB_UTXO, key, sizeof key);
        if (err == 0) {
            /* Spending a collateral deregisters its masternode. */
            int found = view_mn(a->t, &tx->in[i].prev, &m);
            if (found == 0)
                err = del_mn(a, &m);
            else if (found != TC_ENOTFOUND)
                err = found;
        }
    }
    if (err || (err = add_outputs(a, tx, txid, 0)))
        return err;
    switch (tx->kind) {
    case TC_TX_MN_REGISTER:
        memset(&m, 0, sizeof m);
        m.collateral = tx->u.reg.collateral;
        m.tier = tx->u.reg.tier;
        m.owner = tx->u.reg.owner;
        m.operator_key = tx->u.reg.operator_key;
        m.reward = tx->u.reg.reward;
        memcpy(m.netaddr, tx->u.reg.netaddr, sizeof m.netaddr);
        m.registered_height = a->height;
        m.active_height = a->height + (cp->activation_delay ? cp->activation_delay : 1);
        if ((err = put_mn(a, &m)) == 0) {
            uint8_t key[TC_UTXO_KEY_SIZE];
            tc_utxo_key(&m.collateral, key);
            err = tracked_put(a, TC_TB_MN_OPERATOR, m.operator_key.b, 32, key, sizeof key);
        }
        break;
    case TC_TX_MN_UPDATE:
        if ((err = view_mn(a->t, &tx->u.update.collateral, &m)) == 0) {
            m.reward = tx->u.update.reward;
            memcpy(m.netaddr, tx->u.update.netaddr, sizeof m.netaddr);
            err = put_mn(a, &m);
        }
        break;
    case TC_TX_MN_DEREGISTER:
        if ((err = view_mn(a->t, &tx->u.dereg.collateral, &m)) == 0)
            err = del_mn(a, &m);
        break;
    case TC_TX_MN_UNJAIL:
        if ((err = view_mn(a->t, &tx->u.unjail.collateral, &m)) == 0) {
            m.jailed = 0;
            m.missed = 0;
            err = put_mn(a, &m);
        }
        break;
    case TC_TX_EVIDENCE:
        if ((err = view_mn_by_operator(a->t, &tx->u.evidence.a.validator, &m)) == 0 && !m.jailed)
            err = jail(a, &m, "double-sign evidence");
        break;
    default:
        break;
    }
    return err ? err : index_tx(a, txid, index);
}

/* Proof of service: validators of height h-1 absent from block h's last
 * commit accumulate misses; jail_after_missed in a row jails them. */
static int apply_liveness(applier *a, const tc_cert *last_commit)
{
    if (a->height < 2)
        return 0;
    tc_valset prev;
    int err = read_valset(a->t, a->height - 1, &prev);
    for (size_t i = 0; i < prev.n && err == 0; i++) {
        tc_mn m;
        if ((err = view_mn_by_operator(a->t, &prev.v[i].key, &m)) == TC_ENOTFOUND) {
            err = 0; /* deregistered since: nothing to track */
            continue;
        }
        if (err)
            break;
        int signed_it = 0;
        for (size_t k = 0; k < last_commit->n && !signed_it; k++)
            signed_it = memcmp(last_commit->sigs[k].key.b, prev.v[i].key.b, 32) == 0;
        uint32_t missed = signed_it ? 0 : m.missed + 1;
        if (missed == m.missed)
            continue;
        m.missed = missed;
        if (!m.jailed && missed >= a->L->g->cp.jail_after_missed)
            err = jail(a, &m, "absent from commit certificates");
        else
            err = put_mn(a, &m);
    }
    tc_valset_release(&prev);
    return err;
}

static int collect_validators(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    struct {
        uint64_t height;
        tc_valset *vs;
    } *c = ctx;
    tc_mn m;
    uint64_t w = 0;
    if (kl != TC_UTXO_KEY_SIZE || tc_mn_decode(&m, v, vl))
        return TC_ECORRUPT;
    if (!tc_mn_is_validator(&m, c->height) || tc_tier_info(m.tier, NULL, &w))
        return 0;
    return tc_valset_add(c->vs, &m.operator_key, w, &m.reward) ? TC_ECORRUPT : 0;
}

/* Derives the validator set of height h+1 from the masternode table and
 * records it when it differs from the set of height h. */
static int update_valset(applier *a)
{
    tc_valset next, cur;
    tc_buf nb, cb;
    tc_valset_init(&next);
    tc_buf_init(&nb);
    tc_buf_init(&cb);
    struct {
        uint64_t height;
        tc_valset *vs;
    } c = {a->height + 1, &next};
    int err = tc_store_each(a->t, TC_TB_MN, NULL, 0, collect_validators, &c);
    if (err == 0 && next.n == 0)
        err = TC_ECORRUPT; /* jail() never empties the set */
    if (err == 0 && (err = read_valset(a->t, a->height, &cur)) == 0) {
        tc_valset_encode(&next, &nb);
        tc_valset_encode(&cur, &cb);
        if (nb.len != cb.len || memcmp(nb.p, cb.p, nb.len) != 0) {
            uint8_t key[8];
            tc_be64(key, a->height + 1);
            err = tracked_put(a, TC_TB_VALSETS, key, sizeof key, nb.p, nb.len);
        }
        tc_valset_release(&cur);
    }
    tc_valset_release(&next);
    tc_buf_release(&nb);
    tc_buf_release(&cb);
    return err;
}

/* ---- whole blocks -------------------------------------------------------------- */

typedef struct {
    const tc_block *blk;
    const tc_hash *txids;
    uint32_t chain_id;
    tc_sigcache *cache;
    int *errs;
    tc_errmsg *msgs;
} sigjob;

static void check_one(void *ctx, size_t i)
{
    sigjob *j = ctx;
    const tc_tx *tx = &j->blk->txs[i];
    j->errs[i] = tc_tx_check_basic(tx, &j->msgs[i]);
    if (j->errs[i] == 0 && i > 0)
        j->errs[i] = tc_tx_check_sigs(tx, &j->txids[i], j->chain_id, j->cache, &j->msgs[i]);
}

/* Stateless rules and signatures of every transaction, on the pool. */
static int check_txs_parallel(tc_ledger *L, const tc_block *blk, const tc_hash *txids, tc_errmsg *e)
{
    sigjob j = {blk, txids, L->g->chain_id, L->cache, tc_xcalloc(blk->n_tx, sizeof(int)),
                tc_xcalloc(blk->n_tx, sizeof(tc_errmsg))};
    tc_pool_run(L->pool, blk->n_tx, check_one, &j);
    int err = 0;
    for (size_t i = 0; i < blk->n_tx && err == 0; i++)
        if (j.errs[i])
            err = tc_fail(e, j.errs[i], "tx %zu: %s", i, j.msgs[i].msg);
    free(j.errs);
    free(j.msgs);
    return err;
}

/* now_ms: the wall clock a live proposal is checked against; NULL for a
 * certified block, which is final and never held to this node's clock. */
static int check_header(tc_ledger *L, tc_txn *t, const chain_tip *at, const tc_block *blk, const uint64_t *now_ms,
                        tc_valset *vs, tc_errmsg *e)
{
    const tc_header *h = &blk->hdr;
    uint64_t height = at->height + 1;
    if (h->version != TC_BLOCK_VERSION)
        return tc_fail(e, TC_EBLK_VERSION, "version %u (expected %u)", h->version, TC_BLOCK_VERSION);
    if (h->chain_id != L->g->chain_id)
        return tc_fail(e, TC_EBLK_CHAIN, "chain id %u (this chain is %u)", h->chain_id, L->g->chain_id);
    if (h->height != height)
        return tc_fail(e, TC_EBLK_HEIGHT, "height %llu (next is %llu)", (unsigned long long)h->height,
                       (unsigned long long)height);
    if (!tc_hash_eq(&h->prev, &at->hash))
        return tc_fail(e, TC_EBLK_PREV, "previous hash does not match the tip at height %llu",
                       (unsigned long long)at->height);
    int err = tc_block_check_time(h->time_ms, at->hdr.time_ms, e);
    if (err == 0 && now_ms)
        err = tc_block_check_drift(h->time_ms, *now_ms, L->g->net->max_block_drift_ms, e);
    if (err)
        return err;
    size_t size = tc_block_size(blk);
    if (size > TC_MAX_BLOCK_SIZE)
        return tc_fail(e, TC_EBLK_SIZE, "size %zu bytes exceeds %u", size, TC_MAX_BLOCK_SIZE);
    if (blk->n_tx == 0 || blk->txs[0].kind != TC_TX_COINBASE)
        return tc_fail(e, TC_EBLK_REWARD, "the first transaction must be the coinbase");
    for (size_t i = 1; i < blk->n_tx; i++)
        if (blk->txs[i].kind == TC_TX_COINBASE)
            return tc_fail(e, TC_EBLK_REWARD, "tx %zu: a second coinbase", i);
    err = read_valset(t, height, vs);
    if (err)
        return tc_fail(e, err, "validator set of height %llu: %s", (unsigned long long)height, tc_strerror(err));
    if (tc_valset_find(vs, &h->proposer) < 0)
        return tc_fail(e, TC_EBLK_PROPOSER, "proposer is not a validator at height %llu", (unsigned long long)height);
    tc_hash vh;
    tc_valset_hash(vs, &vh);
    if (!tc_hash_eq(&vh, &h->valset_hash))
        return tc_fail(e, TC_EBLK_VALSET, "validator-set hash does not match height %llu", (unsigned long long)height);
    tc_hash ch;
    tc_cert_hash(&blk->last_commit, &ch);
    if (!tc_hash_eq(&ch, &h->last_commit_hash))
        return tc_fail(e, TC_EBLK_LAST_COMMIT, "last-commit hash does not match the certificate carried");
    if (height == 1) {
        if (blk->last_commit.n != 0)
            return tc_fail(e, TC_EBLK_LAST_COMMIT, "block 1 must carry an empty last commit");
        return 0;
    }
    tc_valset prev;
    if ((err = read_valset(t, height - 1, &prev)))
        return tc_fail(e, err, "validator set of height %llu: %s", (unsigned long long)height - 1, tc_strerror(err));
    tc_errmsg why;
    err = tc_cert_verify(&blk->last_commit, &prev, L->g->chain_id, height - 1, &h->prev, L->cache, &why);
    tc_valset_release(&prev);
    return err ? tc_fail(e, TC_EBLK_LAST_COMMIT, "last commit: %s", why.msg) : 0;
}

/* Everything after the header: transactions in order, the coinbase, liveness,
 * the next validator set. On success *fees holds the block's fees. */
static int apply_body(applier *a, const tc_block *blk, const tc_hash *txids, const tc_valset *signers,
                      tc_errmsg *e)
{
    uint64_t fees = 0;
    int err = 0;
    for (size_t i = 1; i < blk->n_tx; i++) {
        uint64_t fee;
        tc_errmsg why;
        if ((err = tc_tx_check_inputs(&blk->txs[i], &txids[i], &a->view, a->height, &fee, &why)))
            return tc_fail(e, err, "tx %zu: %s", i, why.msg);
        fees += fee;
        if ((err = apply_tx(a, &blk->txs[i], &txids[i], (uint32_t)i)))
            return tc_fail(e, err, "tx %zu: store: %s", i, tc_strerror(err));
    }
    tc_tx expect;
    tc_tx_init(&expect);
    tc_hash expect_id;
    if ((err = tc_reward_coinbase(signers, &blk->last_commit, fees, a->height, &expect)) == 0) {
        tc_tx_txid(&expect, &expect_id);
        if (!tc_hash_eq(&expect_id, &txids[0]))
            err = tc_fail(e, TC_EBLK_REWARD, "coinbase does not pay %llu sat reward + %llu sat fees to the signers",
                          (unsigned long long)TC_BLOCK_REWARD, (unsigned long long)fees);
    } else {
        err = tc_fail(e, TC_EBLK_REWARD, "reward: %s", tc_strerror(err));
    }
    tc_tx_release(&expect);
    if (err)
        return err;
    if ((err = add_outputs(a, &blk->txs[0], &txids[0], TC_UTXO_COINBASE)) || (err = index_tx(a, &txids[0], 0)) ||
        (err = apply_liveness(a, &blk->last_commit)) || (err = update_valset(a)))
        return tc_fail(e, err, "store: %s", tc_strerror(err));
    return 0;
}

/* The validator set whose signers the coinbase pays: height-1's, or at
 * height 1 the set of height 1. */
static int reward_set(tc_txn *t, uint64_t height, tc_valset *out)
{
    return read_valset(t, height > 1 ? height - 1 : 1, out);
}

static void applier_init(applier *a, tc_ledger *L, tc_txn *t, const chain_tip *at)
{
    a->L = L;
    a->t = t;
    a->height = at->height + 1;
    tc_buf_init(&a->undo);
    a->set = at->set;
    a->totals = at->totals;
    a->committing = 0;
    view_init(&a->view, t);
}

static int write_totals(tc_txn *t, const tc_hash *tip_hash, const tc_utxo_totals *totals)
{
    uint8_t v[TOTALS_SIZE];
    v[0] = TOTALS_VERSION;
    memcpy(v + 1, tip_hash->b, 32);
    tc_le64(v + 33, totals->count);
    tc_le64(v + 41, totals->sat);
    return tc_store_put(t, TC_TB_META, META_TOTALS, strlen(META_TOTALS), v, sizeof v);
}

static int write_tip(tc_txn *t, const chain_tip *at)
{
    uint8_t tip[40], lt[TC_LTHASH_BYTES];
    tc_be64(tip, at->height);
    memcpy(tip + 8, at->hash.b, 32);
    tc_lthash_serialize(&at->set, lt);
    int err = tc_store_put(t, TC_TB_META, META_TIP, strlen(META_TIP), tip, sizeof tip);
    if (err == 0)
        err = tc_store_put(t, TC_TB_META, META_LTHASH, strlen(META_LTHASH), lt, sizeof lt);
    return err ? err : write_totals(t, &at->hash, &at->totals);
}

/* Block, certificate, hash index and undo data of a block; the tip record
 * is the caller's, once per transaction. */
static int store_block(applier *a, const tc_block *blk, const tc_hash *hash, const tc_cert *cert)
{
    uint8_t hk[8];
    tc_buf b;
    tc_buf_init(&b);
    tc_be64(hk, a->height);
    tc_block_encode(blk, &b);
    int err = tc_store_put(a->t, TC_TB_BLOCKS, hk, 8, b.p, b.len);
    if (err == 0) {
        tc_buf_reset(&b);
        tc_cert_encode(cert, &b);
        err = tc_store_put(a->t, TC_TB_CERTS, hk, 8, b.p, b.len);
    }
    if (err == 0)
        err = tc_store_put(a->t, TC_TB_HASHES, hash->b, 32, hk, 8);
    if (err == 0)
        err = tc_store_put(a->t, TC_TB_UNDO, hk, 8, a->undo.p, a->undo.len);
    tc_buf_release(&b);
    return err;
}

/* Validates blk as the block after *at inside t and applies its effects. With
 * cert, also verifies a certificate for it against the validator set of its
 * height, writes block, certificate and undo data, and advances *at (nothing
 * is committed here). Without cert it only checks, as for a live proposal:
 * also against the clock rule at *now_ms (non-NULL exactly when cert is NULL).
 *
 * next_commit (may be NULL) is the last commit of the block that follows
 * blk in the same run: when it certifies blk it is the certificate verified
 * and stored, and cert is not looked at. Its signatures are verified for the
 * next block's header anyway, so a run costs one certificate per block, not
 * two (Tendermint's block sync does the same). When it does not hold, cert
 * decides, so a bad next block is never blamed on blk. */
static int apply_in(tc_ledger *L, tc_txn *t, chain_tip *at, const tc_block *blk, const tc_cert *cert,
                    const tc_cert *next_commit, const uint64_t *now_ms, int log_events, tc_errmsg *e)
{
    tc_valset vs, signers;
    tc_hash *txids = NULL, root, hash, digest;
    applier a;
    int err;
    applier_init(&a, L, t, at);
    a.committing = cert != NULL && log_events;
    tc_valset_init(&vs);
    tc_valset_init(&signers);
    if ((err = check_header(L, t, at, blk, now_ms, &vs, e)))
        goto out;
    txids = tc_xcalloc(blk->n_tx, sizeof *txids);
    tc_block_tx_root(blk, txids, &root);
    if (!tc_hash_eq(&root, &blk->hdr.tx_root)) {
        err = tc_fail(e, TC_EBLK_MERKLE, "transaction merkle root does not match the header");
        goto out;
    }
    if ((err = check_txs_parallel(L, blk, txids, e)))
        goto out;
    if ((err = reward_set(t, a.height, &signers))) {
        err = tc_fail(e, err, "store: %s", tc_strerror(err));
        goto out;
    }
    if ((err = apply_body(&a, blk, txids, &signers, e)))
        goto out;
    tc_lthash_digest(&a.set, &digest);
    if (!tc_hash_eq(&digest, &blk->hdr.utxo_commitment)) {
        err = tc_fail(e, TC_EBLK_UTXO, "UTXO commitment after the block does not match the header");
        goto out;
    }
    if (cert == NULL)
        goto out; /* check only */
    tc_header_hash(&blk->hdr, &hash);
    tc_errmsg why;
    if (next_commit && tc_cert_verify(next_commit, &vs, L->g->chain_id, a.height, &hash, L->cache, NULL) == 0)
        cert = next_commit;
    else if ((err = tc_cert_verify(cert, &vs, L->g->chain_id, a.height, &hash, L->cache, &why))) {
        err = tc_fail(e, err, "commit certificate: %s", why.msg);
        goto out;
    }
    if ((err = store_block(&a, blk, &hash, cert))) {
        err = tc_fail(e, err, "store: %s", tc_strerror(err));
        goto out;
    }
    at->height = a.height;
    at->hash = hash;
    at->hdr = blk->hdr;
    at->set = a.set;
    at->totals = a.totals;
out:
    tc_buf_release(&a.undo);
    tc_valset_release(&vs);
    tc_valset_release(&signers);
    free(txids);
    return err;
}

/* Applies blks[0..n) in one write transaction and commits it (one sync). On
 * the first failure nothing is committed and *done says how many blocks
 * before it were valid. */
static int apply_run(tc_ledger *L, const tc_block *const *blks, const tc_cert *const *certs, size_t n, int log_events,
                     size_t *done, tc_errmsg *e)
{
    tc_txn *t;
    chain_tip at = L->tip;
    *done = 0;
    int err = tc_store_begin(L->store, 1, &t);
    if (err)
        return tc_fail(e, err, "store: %s", tc_strerror(err));
    for (size_t i = 0; i < n && err == 0; i++)
        if ((err = apply_in(L, t, &at, blks[i], certs[i], i + 1 < n ? &blks[i + 1]->last_commit : NULL, NULL,
                            log_events, e)) == 0)
            *done = i + 1;
    if (err == 0 && (err = write_tip(t, &at)))
        err = tc_fail(e, err, "store: %s", tc_strerror(err));
    if (err) {
        tc_store_abort(t);
        return err;
    }
    if ((err = tc_store_commit(t)))
        return tc_fail(e, err, "store commit: %s", tc_strerror(err));
    L->tip = at;
    return 0;
}

static int check_only(tc_ledger *L, const tc_block *blk, uint64_t now_ms, tc_errmsg *e)
{
    tc_txn *t;
    chain_tip at = L->tip;
    int err = tc_store_begin(L->store, 1, &t);
    if (err)
        return tc_fail(e, err, "store: %s", tc_strerror(err));
    err = apply_in(L, t, &at, blk, NULL, NULL, &now_ms, 0, e);
    tc_store_abort(t);
    return err;
}

int tc_ledger_apply_block(tc_ledger *L, const tc_block *blk, const tc_cert *cert, tc_errmsg *e)
{
    size_t done;
    return apply_run(L, &blk, &cert, 1, 1, &done, e);
}

int tc_ledger_check_block(tc_ledger *L, const tc_block *blk, uint64_t now_ms, tc_errmsg *e)
{
    return check_only(L, blk, now_ms, e);
}

/* ---- batches of certified blocks (sync) -------------------------------------------- */

/* One unit of signature work ahead of a batch: signer `i` of `cert`, or (cert
 * NULL) every signature of transaction `tx`. */
typedef struct {
    const tc_cert *cert;
    size_t i;
    const tc_tx *tx;
} sigwork;

typedef struct {
    const sigwork *w;
    uint32_t chain_id;
    tc_sigcache *cache;
} warmjob;

/* Verifies through the cache; a failure is not an answer here (only
 * successes are cached): the in-order checks find and report it. */
static void warm(const sigwork *w, uint32_t chain_id, tc_sigcache *cache)
{
    int bad = 0;
    if (w->cert) {
        tc_vote v;
        tc_hash msg;
        tc_cert_vote(w->cert, w->i, &v);
        tc_vote_sign_bytes(&v, chain_id, &msg);
        bad = tc_sigcache_verify(cache, &v.validator, msg.b, sizeof msg.b, &v.sig);
    } else if (tc_tx_check_basic(w->tx, NULL) == 0) {
        tc_hash txid;
        tc_tx_txid(w->tx, &txid);
        bad = tc_tx_check_sigs(w->tx, &txid, chain_id, cache, NULL);
    }
    (void)bad;
}

static void warm_one(void *ctx, size_t k)
{
    const warmjob *j = ctx;
    warm(&j->w[k], j->chain_id, j->cache);
}

void tc_ledger_verify_ahead(const tc_ledger *L, const tc_block *blk)
{
    if (L->cache == NULL)
        return;
    for (size_t i = 0; i < blk->last_commit.n; i++)
        warm(&(sigwork){&blk->last_commit, i, NULL}, L->g->chain_id, L->cache);
    for (size_t i = 1; i < blk->n_tx; i++)
        warm(&(sigwork){NULL, 0, &blk->txs[i]}, L->g->chain_id, L->cache);
}

/* Fills the signature cache with every signature the run's checks will
 * verify, across the pool: each block's last commit (which is also the
 * certificate apply_in keeps for the block before it), the last block's own
 * certificate, and the transactions. Which signatures count, and for which
 * validator set, is still decided in order by apply_in; this only moves the
 * Ed25519 work onto every core. */
static void warm_sigs(tc_ledger *L, const tc_block *const *blks, const tc_cert *const *certs, size_t n)
{
    if (L->cache == NULL || tc_pool_threads(L->pool) < 2)
        return;
    size_t cap = certs[n - 1]->n, k = 0;
    for (size_t b = 0; b < n; b++)
        cap += blks[b]->last_commit.n + blks[b]->n_tx;
    sigwork *w = tc_xcalloc(cap ? cap : 1, sizeof *w);
    for (size_t i = 0; i < certs[n - 1]->n; i++)
        w[k++] = (sigwork){certs[n - 1], i, NULL};
    for (size_t b = 0; b < n; b++) {
        for (size_t i = 0; i < blks[b]->last_commit.n; i++)
            w[k++] = (sigwork){&blks[b]->last_commit, i, NULL};
        for (size_t i = 1; i < blks[b]->n_tx; i++)
            w[k++] = (sigwork){NULL, 0, &blks[b]->txs[i]};
    }
    warmjob j = {w, L->g->chain_id, L->cache};
    tc_pool_run(L->pool, k, warm_one, &j);
    free(w);
}

int tc_ledger_apply_blocks(tc_ledger *L, const tc_block *const *blks, const tc_cert *const *certs, size_t n,
                           size_t *applied, tc_errmsg *e)
{
    size_t good = 0;
    *applied = 0;
    if (n == 0)
        return 0;
    warm_sigs(L, blks, certs, n);
    int err = apply_run(L, blks, certs, n, 1, &good, e);
    if (err == 0) {
        *applied = n;
        return 0;
    }
    if (good > 0) {
        /* The valid prefix again, in a fresh transaction: LMDB cannot keep
         * part of an aborted one. Its signatures are cached by now. */
        size_t again;
        tc_errmsg e2;
        int err2 = apply_run(L, blks, certs, good, 0, &again, &e2);
        if (err2) {
            tc_fail(e, err2, "%s", e2.msg);
            return err2;
        }
        *applied = good;
    }
    return err;
}

/* ---- rollback ------------------------------------------------------------------ */

typedef struct {
    uint8_t table;
    const uint8_t *key, *old;
    size_t kl, ol;
    int had_old;
} undo_rec;

static int parse_undo(const uint8_t *p, size_t len, undo_rec **out, size_t *n)
{
    tc_reader r;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    tc_reader_init(&r, p, len);
    while (tc_rd_left(&r) > 0) {
        undo_rec u = {0};
        uint8_t had;
        tc_rd_u8(&r, &u.table);
        u.key = tc_rd_var(&r, 1 << 16, &u.kl);
        tc_rd_u8(&r, &had);
        u.had_old = had;
        if (had)
            u.old = tc_rd_var(&r, TC_MAX_BLOCK_SIZE, &u.ol);
        if (r.err || u.table >= TC_TB_COUNT || had > 1)
            break;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = tc_xrealloc(*out, cap * sizeof **out);
        }
        (*out)[(*n)++] = u;
    }
    if (r.err || r.pos != len) {
        free(*out);
        *out = NULL;
        return TC_ECORRUPT;
    }
    return 0;
}

/* The commitment, the totals and the address index follow a UTXO entry's
 * undo: cur (NULL if absent) leaves, the recorded old value returns. The
 * index is derived here, not from undo records of its own, so undo data
 * written before the index existed rolls it back as well. */
static int undo_utxo(tc_txn *t, const undo_rec *u, const uint8_t *cur, size_t cl, tc_lthash *set,
                     tc_utxo_totals *totals)
{
    if (u->kl != TC_UTXO_KEY_SIZE)
        return TC_ECORRUPT;
    int err = 0;
    if (cur) {
        if (cl == TC_UTXO_REC_SIZE)
            tc_utxo_commit(set, u->key, cur, -1);
        if ((err = tc_addrindex_update(t, u->key, cur, cl, -1, totals)))
            return err;
    }
    if (u->had_old) {
        if (u->ol == TC_UTXO_REC_SIZE)
            tc_utxo_commit(set, u->key, u->old, 1);
        err = tc_addrindex_update(t, u->key, u->old, u->ol, 1, totals);
    }
    return err;
}

int tc_ledger_rollback_tip(tc_ledger *L, tc_errmsg *e)
{
    if (L->tip.height == 0)
        return tc_fail(e, TC_ETIP, "cannot roll back the genesis block");
    tc_txn *t;
    int err = tc_store_begin(L->store, 1, &t);
    if (err)
        return tc_fail(e, err, "store: %s", tc_strerror(err));
    uint8_t hk[8], pk[8];
    const uint8_t *v;
    size_t vl;
    undo_rec *recs = NULL;
    size_t n = 0;
    tc_lthash set = L->tip.set;
    tc_utxo_totals totals = L->tip.totals;
    tc_block parent;
    tc_block_init(&parent);
    tc_be64(hk, L->tip.height);
    tc_be64(pk, L->tip.height - 1);
    if ((err = tc_store_get(t, TC_TB_UNDO, hk, 8, &v, &vl)) || (err = parse_undo(v, vl, &recs, &n))) {
        err = tc_fail(e, TC_ECORRUPT, "undo data of height %llu is missing or corrupt", (unsigned long long)L->tip.height);
        goto out;
    }
    for (size_t i = n; i-- > 0 && err == 0;) {
        const undo_rec *u = &recs[i];
        const uint8_t *cur;
        size_t cl;
        int have = tc_store_get(t, u->table, u->key, u->kl, &cur, &cl);
        if (have && have != TC_ENOTFOUND) {
            err = have;
            break;
        }
        if (u->table == TC_TB_UTXO && (err = undo_utxo(t, u, have == 0 ? cur : NULL, cl, &set, &totals)))
            break;
        if (u->had_old) {
            err = tc_store_put(t, u->table, u->key, u->kl, u->old, u->ol);
        } else if (have == 0) {
            err = tc_store_del(t, u->table, u->key, u->kl);
        }
    }
    if (err == 0 && (err = tc_store_get(t, TC_TB_BLOCKS, pk, 8, &v, &vl)) == 0)
        err = tc_block_decode(&parent, v, vl) ? TC_ECORRUPT : 0;
    if (err) {
        err = tc_fail(e, err, "rolling back height %llu: %s", (unsigned long long)L->tip.height, tc_strerror(err));
        goto out;
    }
    tc_hash digest, parent_hash;
    tc_lthash_digest(&set, &digest);
    if (!tc_hash_eq(&digest, &parent.hdr.utxo_commitment)) {
        err = tc_fail(e, TC_ECORRUPT, "UTXO commitment after undo does not match block %llu",
                      (unsigned long long)L->tip.height - 1);
        goto out;
    }
    tc_header_hash(&parent.hdr, &parent_hash);
    if ((err = tc_store_del(t, TC_TB_BLOCKS, hk, 8)) == 0 && (err = tc_store_del(t, TC_TB_CERTS, hk, 8)) == 0 &&
        (err = tc_store_del(t, TC_TB_UNDO, hk, 8)) == 0 && (err = tc_store_del(t, TC_TB_HASHES, L->tip.hash.b, 32)) == 0)
        err = write_tip(t, &(chain_tip){L->tip.height - 1, parent_hash, parent.hdr, set, totals});
    if (err == 0) {
        err = tc_store_commit(t);
        t = NULL;
    }
    if (err) {
        err = tc_fail(e, err, "rolling back height %llu: %s", (unsigned long long)L->tip.height, tc_strerror(err));
        goto out;
    }
    L->tip.height--;
    L->tip.hash = parent_hash;
    L->tip.hdr = parent.hdr;
    L->tip.set = set;
    L->tip.totals = totals;
out:
    tc_store_abort(t);
    free(recs);
    tc_block_release(&parent);
    return err;
}

/* ---- building a block (proposer) ------------------------------------------------ */

int tc_ledger_build_block(tc_ledger *L, const tc_tx *const *txs, size_t n, uint64_t time_ms, const tc_pubkey *proposer,
                          const tc_cert *last_commit, tc_block *out, size_t *skipped, tc_errmsg *e)
{
    tc_txn *t;
    applier a;
    tc_valset vs, signers;
    size_t skip = 0;
    uint64_t fees = 0;
    tc_block_init(out);
    int err = tc_store_begin(L->store, 1, &t);
    if (err)
        return tc_fail(e, err, "store: %s", tc_strerror(err));
    applier_init(&a, L, t, &L->tip);
    tc_valset_init(&vs);
    tc_valset_init(&signers);
    if ((err = read_valset(t, a.height, &vs)) || (err = reward_set(t, a.height, &signers))) {
        err = tc_fail(e, err, "validator set: %s", tc_strerror(err));
        goto out;
    }
    tc_header *h = &out->hdr;
    h->version = TC_BLOCK_VERSION;
    h->chain_id = L->g->chain_id;
    h->height = a.height;
    h->prev = L->tip.hash;
    if ((err = tc_block_next_time(L->tip.hdr.time_ms, time_ms, L->g->net->max_block_drift_ms, &h->time_ms, e)))
        goto out;
    h->proposer = *proposer;
    tc_cert_copy(&out->last_commit, last_commit);
    /* Slot 0 holds the coinbase, filled in once the fees are known. */
    tc_tx cb;
    tc_tx_init(&cb);
    cb.kind = TC_TX_COINBASE;
    tc_block_add_tx(out, &cb);
    /* Room kept for the coinbase outputs: at most one per signer. */
    size_t size = tc_block_size(out) + 9 + (signers.n + 1) * (8 + 1 + 32);
    for (size_t i = 0; i < n; i++) {
        tc_hash txid;
        uint64_t fee;
        size_t sz = tc_tx_size(txs[i]);
        tc_tx_txid(txs[i], &txid);
        if (size + sz > TC_MAX_BLOCK_SIZE || tc_tx_check_basic(txs[i], NULL) || txs[i]->kind == TC_TX_COINBASE ||
            tc_tx_check_sigs(txs[i], &txid, L->g->chain_id, L->cache, NULL) ||
            tc_tx_check_inputs(txs[i], &txid, &a.view, a.height, &fee, NULL)) {
            skip++;
            continue;
        }
        if ((err = apply_tx(&a, txs[i], &txid, (uint32_t)out->n_tx))) {
            err = tc_fail(e, err, "store: %s", tc_strerror(err));
            goto out;
        }
        tc_block_add_tx(out, txs[i]);
        fees += fee;
        size += sz;
    }
    if ((err = tc_reward_coinbase(&signers, last_commit, fees, a.height, &out->txs[0]))) {
        err = tc_fail(e, err, "reward: %s", tc_strerror(err));
        goto out;
    }
    tc_hash cbid;
    tc_tx_txid(&out->txs[0], &cbid);
    if ((err = add_outputs(&a, &out->txs[0], &cbid, TC_UTXO_COINBASE)) || (err = apply_liveness(&a, last_commit)) ||
        (err = update_valset(&a))) {
        err = tc_fail(e, err, "store: %s", tc_strerror(err));
        goto out;
    }
    tc_block_tx_root(out, NULL, &h->tx_root);
    tc_valset_hash(&vs, &h->valset_hash);
    tc_cert_hash(&out->last_commit, &h->last_commit_hash);
    tc_lthash_digest(&a.set, &h->utxo_commitment);
out:
    tc_store_abort(t);
    tc_buf_release(&a.undo);
    tc_valset_release(&vs);
    tc_valset_release(&signers);
    if (err)
        tc_block_release(out);
    if (skipped)
        *skipped = skip;
    return err;
}

/* ---- open, genesis, reads --------------------------------------------------------- */

static int write_genesis(tc_ledger *L, tc_txn *t, tc_errmsg *e)
{
    const tc_genesis *g = L->g;
    tc_block blk;
    tc_valset vs;
    tc_buf b;
    applier a;
    applier_init(&a, L, t, &L->tip);
    a.height = 0;
    tc_lthash_init(&a.set);
    a.totals = (tc_utxo_totals){0, 0};
    tc_genesis_block(g, &blk);
    tc_genesis_valset(g, &vs);
    tc_buf_init(&b);
    tc_hash txid;
    tc_tx_txid(&blk.txs[0], &txid);
    int err = add_outputs(&a, &blk.txs[0], &txid, TC_UTXO_COINBASE);
    if (err == 0)
        err = index_tx(&a, &txid, 0);
    for (size_t i = 0; i < g->n_mn && err == 0; i++) {
        uint8_t key[TC_UTXO_KEY_SIZE];
        tc_utxo_key(&g->mn[i].collateral, key);
        if ((err = put_mn(&a, &g->mn[i])) == 0)
            err = tc_store_put(t, TC_TB_MN_OPERATOR, g->mn[i].operator_key.b, 32, key, sizeof key);
    }
    uint8_t k1[8], cid[4];
    tc_be64(k1, 1);
    tc_le32(cid, g->chain_id);
    tc_valset_encode(&vs, &b);
    if (err == 0)
        err = tc_store_put(t, TC_TB_VALSETS, k1, 8, b.p, b.len);
    tc_header_hash(&blk.hdr, &L->genesis_hash);
    tc_hash digest;
    tc_lthash_digest(&a.set, &digest);
    if (err == 0 && !tc_hash_eq(&digest, &blk.hdr.utxo_commitment))
        err = TC_ECORRUPT;
    if (err == 0)
        err = tc_store_put(t, TC_TB_META, META_CHAIN_ID, strlen(META_CHAIN_ID), cid, 4);
    if (err == 0)
        err = tc_store_put(t, TC_TB_META, META_GENESIS, strlen(META_GENESIS), L->genesis_hash.b, 32);
    a.height = 0;
    tc_buf_reset(&a.undo); /* genesis is never rolled back */
    if (err == 0)
        err = store_block(&a, &blk, &L->genesis_hash, &blk.last_commit);
    if (err == 0) {
        L->tip.height = 0;
        L->tip.hash = L->genesis_hash;
        L->tip.hdr = blk.hdr;
        L->tip.set = a.set;
        L->tip.totals = a.totals;
        err = write_tip(t, &L->tip);
    }
    tc_block_release(&blk);
    tc_valset_release(&vs);
    tc_buf_release(&b);
    tc_buf_release(&a.undo);
    return err ? tc_fail(e, err, "writing genesis: %s", tc_strerror(err)) : 0;
}

/* The stored totals when they were written with the current tip and agree
 * with the tables' sizes; otherwise (a store from before the index, or one a
 * binary without it has moved since) the index is built again from the UTXO
 * table, once, inside the open transaction. */
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
        err = write_totals(t, &L->tip.hash, &L->tip.totals);
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
    L->cache = opts ? opts->cache : NULL;
    L->pool = opts ? opts->pool : NULL;
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

void tc_ledger_utxo_commitment(const tc_ledger *L, tc_hash *out)
{
    tc_lthash_digest(&L->tip.set, out);
}

/* Runs fn inside a read transaction. */
#define WITH_READ(L, t, body)                                 \
    do {                                                      \
        tc_txn *t;                                            \
        int werr_ = tc_store_begin((L)->store, 0, &t);        \
        if (werr_)                                            \
            return werr_;                                     \
        body;                                                 \
        tc_store_abort(t);                                    \
    } while (0)

int tc_ledger_valset(tc_ledger *L, uint64_t height, tc_valset *out)
{
    int err;
    tc_valset_init(out);
    if (height == 0 || height > L->tip.height + 1)
        return TC_ENOTFOUND;
    WITH_READ(L, t, err = read_valset(t, height, out));
    return err;
}

static int get_by_height(tc_ledger *L, enum tc_table tb, uint64_t height, tc_buf *copy)
{
    uint8_t hk[8];
    const uint8_t *v;
    size_t vl;
    int err;
    tc_be64(hk, height);
    WITH_READ(L, t, err = tc_store_get(t, tb, hk, 8, &v, &vl); if (err == 0) tc_buf_put(copy, v, vl));
    return err;
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
    uint8_t hk[8];
    const uint8_t *b, *c;
    size_t bl, cl;
    int err;
    tc_be64(hk, height);
    WITH_READ(L, t, err = tc_store_get(t, TC_TB_BLOCKS, hk, 8, &b, &bl);
              if (err == 0) err = tc_store_get(t, TC_TB_CERTS, hk, 8, &c, &cl);
              if (err == 0) {
                  tc_buf_put(block, b, bl);
                  tc_buf_put(cert, c, cl);
              });
    return err;
}

int tc_ledger_height_of(tc_ledger *L, const tc_hash *block, uint64_t *height)
{
    const uint8_t *v;
    size_t vl;
    int err;
    WITH_READ(L, t, err = tc_store_get(t, TC_TB_HASHES, block->b, 32, &v, &vl);
              if (err == 0) *height = vl == 8 ? tc_get_be64(v) : 0; if (err == 0 && vl != 8) err = TC_ECORRUPT);
    return err;
}

int tc_ledger_get_utxo(tc_ledger *L, const tc_outpoint *o, tc_utxo *out)
{
    int err;
    WITH_READ(L, t, err = view_utxo(t, o, out));
    return err;
}

int tc_ledger_get_mn(tc_ledger *L, const tc_outpoint *collateral, tc_mn *out)
{
    int err;
    WITH_READ(L, t, err = view_mn(t, collateral, out));
    return err;
}

int tc_ledger_view_begin(tc_ledger *L, tc_view *out)
{
    tc_txn *t;
    int err = tc_store_begin(L->store, 0, &t);
    if (err)
        return err;
    view_init(out, t);
    return 0;
}

void tc_ledger_view_end(tc_view *v)
{
    tc_store_abort(v->ctx);
    v->ctx = NULL;
}

tc_sigcache *tc_ledger_sigcache(tc_ledger *L)
{
    return L->cache;
}

const tc_genesis *tc_ledger_genesis(const tc_ledger *L)
{
    return L->g;
}

int tc_ledger_tx_location(tc_ledger *L, const tc_hash *txid, uint64_t *height, uint32_t *index)
{
    const uint8_t *v;
    size_t vl;
    int err;
    WITH_READ(L, t, err = tc_store_get(t, TC_TB_TXINDEX, txid->b, 32, &v, &vl);
              if (err == 0 && vl != 12) err = TC_ECORRUPT;
              if (err == 0) {
                  *height = tc_get_be64(v);
                  *index = (uint32_t)v[8] << 24 | (uint32_t)v[9] << 16 | (uint32_t)v[10] << 8 | v[11];
              });
    return err;
}

typedef struct {
    int (*fn)(void *ctx, const tc_mn *m);
    void *ctx;
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
    return w->fn(w->ctx, &m);
}

int tc_ledger_each_mn(tc_ledger *L, int (*fn)(void *ctx, const tc_mn *m), void *ctx)
{
    mn_walk w = {fn, ctx};
    int err;
    WITH_READ(L, t, err = tc_store_each(t, TC_TB_MN, NULL, 0, walk_mn, &w));
    return err;
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

int tc_ledger_each_utxo(tc_ledger *L, int (*fn)(void *ctx, const tc_outpoint *o, const tc_utxo *u), void *ctx)
{
    utxo_walk w = {fn, ctx};
    int err;
    WITH_READ(L, t, err = tc_store_each(t, TC_TB_UTXO, NULL, 0, walk_utxo, &w));
    return err;
}

void tc_ledger_utxo_totals(const tc_ledger *L, uint64_t *count, uint64_t *sat)
{
    *count = L->tip.totals.count;
    *sat = L->tip.totals.sat;
}

int tc_ledger_address_totals(tc_ledger *L, const tc_address *a, uint64_t *count, uint64_t *sat)
{
    tc_utxo_totals s = {0, 0};
    int err;
    WITH_READ(L, t, err = tc_addrindex_totals(t, a, &s));
    *count = s.count;
    *sat = s.sat;
    return err;
}

typedef struct {
    tc_txn *t;
    int (*fn)(void *ctx, const tc_outpoint *o, const tc_utxo *u, int locked);
    void *ctx;
} coin_walk;

static int walk_coin(void *ctx, const tc_outpoint *o, const tc_utxo *u)
{
    coin_walk *w = ctx;
    tc_mn m;
    int found = view_mn(w->t, o, &m); /* a registered collateral is locked */
    if (found != 0 && found != TC_ENOTFOUND)
        return found;
    return w->fn(w->ctx, o, u, found == 0);
}

int tc_ledger_each_address_utxo(tc_ledger *L, const tc_address *a, const tc_outpoint *after,
                                int (*fn)(void *ctx, const tc_outpoint *o, const tc_utxo *u, int locked), void *ctx)
{
    coin_walk w = {NULL, fn, ctx};
    int err;
    WITH_READ(L, t, w.t = t; err = tc_addrindex_each(t, a, after, walk_coin, &w));
    return err;
}

int tc_ledger_check_tx(tc_ledger *L, const tc_tx *tx, uint64_t *fee, tc_errmsg *e)
{
    tc_hash txid;
    tc_view view;
    int err = tc_tx_check_basic(tx, e);
    if (err)
        return err;
    if (tx->kind == TC_TX_COINBASE)
        return tc_fail(e, TC_ETX_KIND, "a coinbase cannot be sent on its own");
    tc_tx_txid(tx, &txid);
    if ((err = tc_tx_check_sigs(tx, &txid, L->g->chain_id, L->cache, e)))
        return err;
    WITH_READ(L, t, view_init(&view, t); err = tc_tx_check_inputs(tx, &txid, &view, L->tip.height + 1, fee, e));
    return err;
}

static int scan_utxo(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    if (kl != TC_UTXO_KEY_SIZE || vl != TC_UTXO_REC_SIZE)
        return TC_ECORRUPT;
    tc_utxo_commit(ctx, k, v, 1);
    return 0;
}

int tc_ledger_scan_utxo_commitment(tc_ledger *L, tc_hash *out)
{
    tc_lthash set;
    int err;
    tc_lthash_init(&set);
    WITH_READ(L, t, err = tc_store_each(t, TC_TB_UTXO, NULL, 0, scan_utxo, &set));
    if (err == 0)
        tc_lthash_digest(&set, out);
    return err;
}
