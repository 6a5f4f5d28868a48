/* Applying certified blocks (one, or a batch in one transaction), checking
 * a proposal, and building one: the rules are chain/transition.h's, run
 * over the undo-recording state of a write transaction; here is what is
 * about LMDB, the certificate kept with each block and the signature work
 * moved ahead of a batch. */
#include <stdlib.h>
#include <string.h>

#include "store/ledger_impl.h"
#include "util/mem.h"

/* How apply_in certifies a block. cert NULL: it only checks, as for a live
 * proposal, also against the clock rule at *now_ms (non-NULL exactly then).
 * Else cert is verified (verify) or checked but for its signatures, and the
 * block is stored with `stored` (NULL: cert). lazy: the block's last commit
 * is checked but for its signatures (tc_rules.lazy_last_commit). */
typedef struct {
    const tc_cert *cert, *stored;
    bool verify, lazy;
    const uint64_t *now_ms;
} certify;

/* Validates blk as the block after *at inside t and applies its effects;
 * with a certificate (c->cert), also writes block, certificate and undo
 * data, and advances *at (nothing is committed here). */
static int apply_in(tc_ledger *L, tc_txn *t, chain_tip *at, const tc_block *blk, const certify *c, tc_errmsg *e)
{
    tc_rules rules = L->rules;
    rules.lazy_last_commit = c->lazy;
    tc_valset vs;
    tc_hash hash;
    tc_errmsg why;
    ledger_state s;
    tc_ledger_state_init(&s, t, at);
    s.st.log_events = c->cert != NULL;
    int err = tc_block_apply(&rules, &s.st, &at->hdr, &at->hash, blk, c->now_ms, &vs, e);
    if (err || c->cert == NULL)
        goto out; /* failed, or check only */
    uint64_t height = blk->hdr.height;
    tc_header_hash(&blk->hdr, &hash);
    err = c->verify ? tc_cert_verify(c->cert, &vs, L->g->chain_id, height, &hash, L->rules.cache, &why)
                    : tc_cert_check(c->cert, &vs, height, &hash, &why);
    if (err) {
        err = tc_fail(e, err, "commit certificate: %s", why.msg);
        goto out;
    }
    if ((err = tc_ledger_store_block(t, height, blk, &hash, c->stored ? c->stored : c->cert, &s.undo))) {
        err = tc_fail(e, err, "store: %s", tc_strerror(err));
        goto out;
    }
    at->height = height;
    at->hash = hash;
    at->hdr = blk->hdr;
    at->set = s.set;
    at->totals = s.totals;
out:
    tc_ledger_state_release(&s);
    tc_valset_release(&vs);
    return err;
}

int tc_ledger_apply_block(tc_ledger *L, const tc_block *blk, const tc_cert *cert, tc_errmsg *e)
{
    tc_txn *t;
    chain_tip at = L->tip;
    int err = tc_store_begin(L->store, 1, &t);
    if (err)
        return tc_fail(e, err, "store: %s", tc_strerror(err));
    if ((err = apply_in(L, t, &at, blk, &(certify){cert, NULL, true, false, NULL}, e)) == 0 &&
        (err = tc_ledger_write_tip(t, &at)))
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

int tc_ledger_check_block(tc_ledger *L, const tc_block *blk, uint64_t now_ms, tc_errmsg *e)
{
    tc_txn *t;
    chain_tip at = L->tip;
    int err = tc_store_begin(L->store, 1, &t);
    if (err)
        return tc_fail(e, err, "store: %s", tc_strerror(err));
    err = apply_in(L, t, &at, blk, &(certify){NULL, NULL, false, false, &now_ms}, e);
    tc_store_abort(t);
    return err;
}

int tc_ledger_build_block(tc_ledger *L, const tc_tx *const *txs, size_t n, uint64_t time_ms, const tc_pubkey *proposer,
                          const tc_cert *last_commit, tc_block *out, size_t *skipped, tc_errmsg *e)
{
    tc_txn *t;
    ledger_state s;
    tc_block_init(out);
    int err = tc_store_begin(L->store, 1, &t);
    if (err)
        return tc_fail(e, err, "store: %s", tc_strerror(err));
    tc_ledger_state_init(&s, t, &L->tip);
    err = tc_block_build(&L->rules, &s.st, &L->tip.hdr, &L->tip.hash, txs, n, time_ms, proposer, last_commit, out,
                         skipped, e);
    tc_store_abort(t); /* a proposal changes nothing */
    tc_ledger_state_release(&s);
    return err;
}

/* ---- batches of certified blocks (sync) -------------------------------------------- */

/* Whether block i of a batch has its certificate verified (store/ledger.h):
 * it ends the batch or a part the caller marked, or the next block names
 * another validator set. A next header that lies about its set fails its own
 * checks (so the batch), or merely adds a check here. */
static bool checkpoint(const tc_block *const *blks, const bool *ends, size_t n, size_t i)
{
    return i + 1 == n || (ends && ends[i]) || !tc_hash_eq(&blks[i + 1]->hdr.valset_hash, &blks[i]->hdr.valset_hash);
}

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

void tc_ledger_verify_ahead(const tc_ledger *L, const tc_block *blk, const tc_cert *cert)
{
    if (L->rules.cache == NULL)
        return;
    for (size_t i = 0; cert && i < cert->n; i++)
        warm(&(sigwork){cert, i, NULL}, L->g->chain_id, L->rules.cache);
    for (size_t i = 1; i < blk->n_tx; i++)
        warm(&(sigwork){NULL, 0, &blk->txs[i]}, L->g->chain_id, L->rules.cache);
}

/* Fills the signature cache with every signature the batch's checks will
 * verify, across the pool: the certificates of its checkpoints and the
 * transactions. Which signatures count, and for which validator set, is
 * still decided in order by batch_in; this only moves the Ed25519 work onto
 * every core. */
static void warm_sigs(tc_ledger *L, const tc_block *const *blks, const tc_cert *const *certs, const bool *ends,
                      size_t n)
{
    if (L->rules.cache == NULL || tc_pool_threads(L->rules.pool) < 2)
        return;
    size_t cap = 0, k = 0;
    for (size_t b = 0; b < n; b++)
        cap += (checkpoint(blks, ends, n, b) ? certs[b]->n : 0) + blks[b]->n_tx;
    sigwork *w = tc_xcalloc(cap ? cap : 1, sizeof *w);
    for (size_t b = 0; b < n; b++) {
        for (size_t i = 0; checkpoint(blks, ends, n, b) && i < certs[b]->n; i++)
            w[k++] = (sigwork){certs[b], i, NULL};
        for (size_t i = 1; i < blks[b]->n_tx; i++)
            w[k++] = (sigwork){NULL, 0, &blks[b]->txs[i]};
    }
    warmjob j = {w, L->g->chain_id, L->rules.cache};
    tc_pool_run(L->rules.pool, k, warm_one, &j);
    free(w);
}

int tc_ledger_apply_blocks(tc_ledger *L, const tc_block *const *blks, const tc_cert *const *certs, const bool *ends,
                           size_t n, size_t *bad, tc_errmsg *e)
{
    tc_txn *t;
    chain_tip at = L->tip;
    *bad = 0;
    if (n == 0)
        return 0;
    warm_sigs(L, blks, certs, ends, n);
    int err = tc_store_begin(L->store, 1, &t);
    if (err)
        return tc_fail(e, err, "store: %s", tc_strerror(err));
    for (size_t i = 0; i < n && err == 0; i++) {
        *bad = i;
        /* a block followed by another is stored with its last commit: that
         * block's checkpoint proves it; the last with its own */
        certify c = {certs[i], i + 1 < n ? &blks[i + 1]->last_commit : NULL, checkpoint(blks, ends, n, i), true, NULL};
        err = apply_in(L, t, &at, blks[i], &c, e);
    }
    if (err == 0 && (err = tc_ledger_write_tip(t, &at)))
        err = tc_fail(e, err, "store: %s", tc_strerror(err));
    if (err) {
        tc_store_abort(t); /* nothing of the batch is kept */
        return err;
    }
    *bad = 0;
    if ((err = tc_store_commit(t)))
        return tc_fail(e, err, "store commit: %s", tc_strerror(err));
    L->tip = at;
    return 0;
}
