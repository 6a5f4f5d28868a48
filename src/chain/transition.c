#include "chain/transition.h"

#include <stdlib.h>
#include <string.h>

#include "chain/mnstate.h"
#include "chain/reward.h"
#include "util/mem.h"

/* ---- genesis ------------------------------------------------------------------- */

static int add_outputs(const tc_state *st, uint64_t height, const tc_tx *tx, const tc_hash *txid, uint8_t flags)
{
    for (uint32_t i = 0; i < tx->n_out; i++) {
        tc_outpoint op = {*txid, i};
        tc_utxo u = {tx->out[i].value, tx->out[i].addr, height, flags};
        int err = st->put_utxo(st->view.ctx, &op, &u);
        if (err)
            return err;
    }
    return 0;
}

int tc_genesis_apply(const tc_state *st, const tc_genesis *g)
{
    tc_block blk;
    tc_valset vs;
    tc_hash txid, digest;
    tc_genesis_block(g, &blk);
    tc_genesis_valset(g, &vs);
    tc_tx_txid(&blk.txs[0], &txid);
    int err = add_outputs(st, 0, &blk.txs[0], &txid, TC_UTXO_COINBASE);
    if (err == 0)
        err = st->put_tx(st->view.ctx, &txid, 0, 0);
    for (size_t i = 0; i < g->n_mn && err == 0; i++)
        err = st->add_mn(st->view.ctx, &g->mn[i]);
    if (err == 0)
        err = st->put_valset(st->view.ctx, 1, &vs);
    if (err == 0) {
        st->utxo_commitment(st->view.ctx, &digest);
        if (!tc_hash_eq(&digest, &blk.hdr.utxo_commitment))
            err = TC_ECORRUPT;
    }
    tc_block_release(&blk);
    tc_valset_release(&vs);
    return err;
}

/* ---- header ---------------------------------------------------------------------- */

/* Version, chain, height, parent, time, size and the coinbase's place. */
static int check_frame(const tc_rules *r, const tc_header *parent, const tc_hash *parent_hash, const tc_block *blk,
                       const uint64_t *now_ms, tc_errmsg *e)
{
    const tc_header *h = &blk->hdr;
    uint64_t height = parent->height + 1;
    if (h->version != TC_BLOCK_VERSION)
        return tc_fail(e, TC_EBLK_VERSION, "version %u (expected %u)", h->version, TC_BLOCK_VERSION);
    if (h->chain_id != r->g->chain_id)
        return tc_fail(e, TC_EBLK_CHAIN, "chain id %u (this chain is %u)", h->chain_id, r->g->chain_id);
    if (h->height != height)
        return tc_fail(e, TC_EBLK_HEIGHT, "height %llu (next is %llu)", (unsigned long long)h->height,
                       (unsigned long long)height);
    if (!tc_hash_eq(&h->prev, parent_hash))
        return tc_fail(e, TC_EBLK_PREV, "previous hash does not match the tip at height %llu",
                       (unsigned long long)parent->height);
    int err = tc_block_check_time(h->time_ms, parent->time_ms, e);
    if (err == 0 && now_ms)
        err = tc_block_check_drift(h->time_ms, *now_ms, r->g->net->max_block_drift_ms, e);
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
    return 0;
}

/* The last commit: its hash in the header, empty at height 1, else a valid
 * certificate of the parent under the parent height's set (but for its
 * signatures with r->lazy_last_commit). */
static int check_last_commit(const tc_rules *r, const tc_state *st, const tc_block *blk, tc_errmsg *e)
{
    const tc_header *h = &blk->hdr;
    tc_hash ch;
    tc_cert_hash(&blk->last_commit, &ch);
    if (!tc_hash_eq(&ch, &h->last_commit_hash))
        return tc_fail(e, TC_EBLK_LAST_COMMIT, "last-commit hash does not match the certificate carried");
    if (h->height == 1) {
        if (blk->last_commit.n != 0)
            return tc_fail(e, TC_EBLK_LAST_COMMIT, "block 1 must carry an empty last commit");
        return 0;
    }
    tc_valset prev;
    int err = st->get_valset(st->view.ctx, h->height - 1, &prev);
    if (err) {
        tc_valset_release(&prev);
        return tc_fail(e, err, "validator set of height %llu: %s", (unsigned long long)h->height - 1,
                       tc_strerror(err));
    }
    tc_errmsg why;
    if (r->lazy_last_commit)
        err = tc_cert_check(&blk->last_commit, &prev, h->height - 1, &h->prev, &why);
    else
        err = tc_cert_verify(&blk->last_commit, &prev, r->g->chain_id, h->height - 1, &h->prev, r->cache, &why);
    tc_valset_release(&prev);
    return err ? tc_fail(e, TC_EBLK_LAST_COMMIT, "last commit: %s", why.msg) : 0;
}

int tc_block_check_header(const tc_rules *r, const tc_state *st, const tc_header *parent, const tc_hash *parent_hash,
                          const tc_block *blk, const uint64_t *now_ms, tc_valset *vs, tc_errmsg *e)
{
    const tc_header *h = &blk->hdr;
    uint64_t height = parent->height + 1;
    tc_valset_init(vs);
    int err = check_frame(r, parent, parent_hash, blk, now_ms, e);
    if (err)
        return err;
    if ((err = st->get_valset(st->view.ctx, height, vs)))
        return tc_fail(e, err, "validator set of height %llu: %s", (unsigned long long)height, tc_strerror(err));
    if (tc_valset_find(vs, &h->proposer) < 0)
        return tc_fail(e, TC_EBLK_PROPOSER, "proposer is not a validator at height %llu", (unsigned long long)height);
    tc_hash vh;
    tc_valset_hash(vs, &vh);
    if (!tc_hash_eq(&vh, &h->valset_hash))
        return tc_fail(e, TC_EBLK_VALSET, "validator-set hash does not match height %llu", (unsigned long long)height);
    return check_last_commit(r, st, blk, e);
}

int tc_block_reward_set(const tc_state *st, uint64_t height, tc_valset *out)
{
    return st->get_valset(st->view.ctx, height > 1 ? height - 1 : 1, out);
}

/* ---- transactions and the end of a block ------------------------------------------ */

/* Spends o; spending a collateral (allowed once its unbonding is over)
 * removes its masternode. */
static int spend(const tc_state *st, const tc_outpoint *o)
{
    tc_mn m;
    int err = st->del_utxo(st->view.ctx, o);
    if (err)
        return err;
    int found = st->view.get_mn(st->view.ctx, o, &m);
    if (found == 0)
        return st->del_mn(st->view.ctx, &m);
    return found == TC_ENOTFOUND ? 0 : found;
}

int tc_tx_apply(const tc_state *st, const tc_consensus_params *cp, uint64_t height, const tc_tx *tx,
                const tc_hash *txid, uint32_t index)
{
    int err = 0;
    for (size_t i = 0; i < tx->n_in && err == 0; i++)
        err = spend(st, &tx->in[i].prev);
    if (err || (err = add_outputs(st, height, tx, txid, 0)))
        return err;
    switch (tx->kind) {
    case TC_TX_MN_REGISTER:
        err = tc_mn_apply_register(st, cp, tx, height);
        break;
    case TC_TX_MN_UPDATE:
        err = tc_mn_apply_update(st, tx);
        break;
    case TC_TX_MN_DEREGISTER:
        err = tc_mn_apply_deregister(st, cp, &tx->u.dereg.collateral, height);
        break;
    case TC_TX_MN_UNJAIL:
        err = tc_mn_apply_unjail(st, tx);
        break;
    case TC_TX_EVIDENCE:
        err = tc_mn_apply_evidence(st, cp, tx, txid, height);
        break;
    default:
        break;
    }
    return err ? err : st->put_tx(st->view.ctx, txid, height, index);
}

/* Derives the validator set of height + 1 and records it when it differs
 * from the set of height. */
static int update_valset(const tc_state *st, uint64_t height)
{
    tc_valset next, cur;
    tc_buf nb, cb;
    tc_buf_init(&nb);
    tc_buf_init(&cb);
    int err = tc_valset_derive(&next, height + 1, st->each_mn, st->view.ctx);
    if (err)
        return err;
    if (next.n == 0)
        err = TC_ECORRUPT; /* jailing never empties the set */
    if (err == 0 && (err = st->get_valset(st->view.ctx, height, &cur)) == 0) {
        tc_valset_encode(&next, &nb);
        tc_valset_encode(&cur, &cb);
        if (nb.len != cb.len || memcmp(nb.p, cb.p, nb.len) != 0)
            err = st->put_valset(st->view.ctx, height + 1, &next);
        tc_valset_release(&cur);
    }
    tc_valset_release(&next);
    tc_buf_release(&nb);
    tc_buf_release(&cb);
    return err;
}

int tc_block_finish(const tc_state *st, const tc_consensus_params *cp, uint64_t height, const tc_tx *coinbase,
                    const tc_hash *coinbase_id, const tc_cert *last_commit)
{
    int err = add_outputs(st, height, coinbase, coinbase_id, TC_UTXO_COINBASE);
    if (err == 0)
        err = st->put_tx(st->view.ctx, coinbase_id, height, 0);
    if (err == 0)
        err = tc_mn_apply_liveness(st, cp, height, last_commit);
    return err ? err : update_valset(st, height);
}

/* ---- whole blocks ------------------------------------------------------------------ */

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
static int check_txs_parallel(const tc_rules *r, const tc_block *blk, const tc_hash *txids, tc_errmsg *e)
{
    sigjob j = {blk, txids, r->g->chain_id, r->cache, tc_xcalloc(blk->n_tx, sizeof(int)),
                tc_xcalloc(blk->n_tx, sizeof(tc_errmsg))};
    tc_pool_run(r->pool, blk->n_tx, check_one, &j);
    int err = 0;
    for (size_t i = 0; i < blk->n_tx && err == 0; i++)
        if (j.errs[i])
            err = tc_fail(e, j.errs[i], "tx %zu: %s", i, j.msgs[i].msg);
    free(j.errs);
    free(j.msgs);
    return err;
}

/* The coinbase txids[0] must be the one tc_reward_coinbase makes. */
static int check_coinbase(const tc_block *blk, const tc_hash *txids, const tc_valset *signers, uint64_t fees,
                          tc_errmsg *e)
{
    tc_tx expect;
    tc_hash expect_id;
    tc_tx_init(&expect);
    int err = tc_reward_coinbase(signers, &blk->last_commit, fees, blk->hdr.height, &expect);
    if (err == 0) {
        tc_tx_txid(&expect, &expect_id);
        if (!tc_hash_eq(&expect_id, &txids[0]))
            err = tc_fail(e, TC_EBLK_REWARD, "coinbase does not pay %llu sat reward + %llu sat fees to the signers",
                          (unsigned long long)TC_BLOCK_REWARD, (unsigned long long)fees);
    } else {
        err = tc_fail(e, TC_EBLK_REWARD, "reward: %s", tc_strerror(err));
    }
    tc_tx_release(&expect);
    return err;
}

/* Everything after the header: transactions in order, the coinbase, the end
 * of the block. */
static int apply_body(const tc_rules *r, const tc_state *st, const tc_block *blk, const tc_hash *txids,
                      const tc_valset *signers, tc_errmsg *e)
{
    const tc_consensus_params *cp = &r->g->cp;
    uint64_t height = blk->hdr.height, fees = 0;
    int err = 0;
    for (size_t i = 1; i < blk->n_tx; i++) {
        uint64_t fee;
        tc_errmsg why;
        if ((err = tc_tx_check_inputs(&blk->txs[i], &txids[i], &st->view, height, &fee, &why)))
            return tc_fail(e, err, "tx %zu: %s", i, why.msg);
        fees += fee;
        if ((err = tc_tx_apply(st, cp, height, &blk->txs[i], &txids[i], (uint32_t)i)))
            return tc_fail(e, err, "tx %zu: store: %s", i, tc_strerror(err));
    }
    if ((err = check_coinbase(blk, txids, signers, fees, e)))
        return err;
    if ((err = tc_block_finish(st, cp, height, &blk->txs[0], &txids[0], &blk->last_commit)))
        return tc_fail(e, err, "store: %s", tc_strerror(err));
    return 0;
}

int tc_block_apply(const tc_rules *r, const tc_state *st, const tc_header *parent, const tc_hash *parent_hash,
                   const tc_block *blk, const uint64_t *now_ms, tc_valset *vs, tc_errmsg *e)
{
    tc_valset signers;
    tc_hash *txids = NULL, root, digest;
    tc_valset_init(&signers);
    int err = tc_block_check_header(r, st, parent, parent_hash, blk, now_ms, vs, e);
    if (err)
        goto out;
    txids = tc_xcalloc(blk->n_tx, sizeof *txids);
    tc_block_tx_root(blk, txids, &root);
    if (!tc_hash_eq(&root, &blk->hdr.tx_root)) {
        err = tc_fail(e, TC_EBLK_MERKLE, "transaction merkle root does not match the header");
        goto out;
    }
    if ((err = check_txs_parallel(r, blk, txids, e)))
        goto out;
    if ((err = tc_block_reward_set(st, blk->hdr.height, &signers))) {
        err = tc_fail(e, err, "store: %s", tc_strerror(err));
        goto out;
    }
    if ((err = apply_body(r, st, blk, txids, &signers, e)))
        goto out;
    st->utxo_commitment(st->view.ctx, &digest);
    if (!tc_hash_eq(&digest, &blk->hdr.utxo_commitment))
        err = tc_fail(e, TC_EBLK_UTXO, "UTXO commitment after the block does not match the header");
out:
    tc_valset_release(&signers);
    free(txids);
    return err;
}

/* ---- building a block (proposer) ------------------------------------------------- */

/* Candidates that pass every rule, applied to st in order, after the
 * coinbase slot of out; *size and *fees grow with each one kept. */
static int build_body(const tc_rules *r, const tc_state *st, const tc_tx *const *txs, size_t n, tc_block *out,
                      size_t *size, uint64_t *fees, size_t *skip, tc_errmsg *e)
{
    uint64_t height = out->hdr.height;
    for (size_t i = 0; i < n; i++) {
        tc_hash txid;
        uint64_t fee;
        size_t sz = tc_tx_size(txs[i]);
        tc_tx_txid(txs[i], &txid);
        if (*size + sz > TC_MAX_BLOCK_SIZE || tc_tx_check_basic(txs[i], NULL) || txs[i]->kind == TC_TX_COINBASE ||
            tc_tx_check_sigs(txs[i], &txid, r->g->chain_id, r->cache, NULL) ||
            tc_tx_check_inputs(txs[i], &txid, &st->view, height, &fee, NULL)) {
            (*skip)++;
            continue;
        }
        int err = tc_tx_apply(st, &r->g->cp, height, txs[i], &txid, (uint32_t)out->n_tx);
        if (err)
            return tc_fail(e, err, "store: %s", tc_strerror(err));
        tc_block_add_tx(out, txs[i]);
        *fees += fee;
        *size += sz;
    }
    return 0;
}

int tc_block_build(const tc_rules *r, const tc_state *st, const tc_header *parent, const tc_hash *parent_hash,
                   const tc_tx *const *txs, size_t n, uint64_t time_ms, const tc_pubkey *proposer,
                   const tc_cert *last_commit, tc_block *out, size_t *skipped, tc_errmsg *e)
{
    tc_valset vs, signers;
    tc_header *h = &out->hdr;
    size_t skip = 0;
    uint64_t fees = 0;
    tc_block_init(out);
    tc_valset_init(&vs);
    tc_valset_init(&signers);
    h->height = parent->height + 1;
    int err = st->get_valset(st->view.ctx, h->height, &vs);
    if (err || (err = tc_block_reward_set(st, h->height, &signers))) {
        err = tc_fail(e, err, "validator set: %s", tc_strerror(err));
        goto out;
    }
    h->version = TC_BLOCK_VERSION;
    h->chain_id = r->g->chain_id;
    h->prev = *parent_hash;
    if ((err = tc_block_next_time(parent->time_ms, time_ms, r->g->net->max_block_drift_ms, &h->time_ms, e)))
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
    if ((err = build_body(r, st, txs, n, out, &size, &fees, &skip, e)))
        goto out;
    if ((err = tc_reward_coinbase(&signers, last_commit, fees, h->height, &out->txs[0]))) {
        err = tc_fail(e, err, "reward: %s", tc_strerror(err));
        goto out;
    }
    tc_hash cbid;
    tc_tx_txid(&out->txs[0], &cbid);
    if ((err = tc_block_finish(st, &r->g->cp, h->height, &out->txs[0], &cbid, last_commit))) {
        err = tc_fail(e, err, "store: %s", tc_strerror(err));
        goto out;
    }
    tc_block_tx_root(out, NULL, &h->tx_root);
    tc_valset_hash(&vs, &h->valset_hash);
    tc_cert_hash(&out->last_commit, &h->last_commit_hash);
    st->utxo_commitment(st->view.ctx, &h->utxo_commitment);
out:
    tc_valset_release(&vs);
    tc_valset_release(&signers);
    if (err)
        tc_block_release(out);
    if (skipped)
        *skipped = skip;
    return err;
}
