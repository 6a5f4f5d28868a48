/* Applying certified blocks (one, or a batch in one transaction), checking
 * a proposal, and building one: the rules are chain/transition.h's, run
 * over the undo-recording state of a write transaction; here is what is
 * about LMDB, the certificate kept with each block and the signature work
 * moved ahead of a batch. */
#include <stdlib.h>
#include <string.h>

#include "store/ledger_impl.h"
#include "util/mem.h"

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
    tc_valset vs;
    tc_hash hash;
    ledger_state s;
    tc_ledger_state_init(&s, t, at);
    s.st.log_events = cert != NULL && log_events;
    int err = tc_block_apply(&L->rules, &s.st, &at->hdr, &at->hash, blk, now_ms, &vs, e);
    if (err || cert == NULL)
        goto out; /* failed, or check only */
    uint64_t height = blk->hdr.height;
    tc_header_hash(&blk->hdr, &hash);
    tc_errmsg why;
    if (next_commit && tc_cert_verify(next_commit, &vs, L->g->chain_id, height, &hash, L->rules.cache, NULL) == 0)
        cert = next_commit;
    else if ((err = tc_cert_verify(cert, &vs, L->g->chain_id, height, &hash, L->rules.cache, &why))) {
        err = tc_fail(e, err, "commit certificate: %s", why.msg);
        goto out;
    }
    if ((err = tc_ledger_store_block(t, height, blk, &hash, cert, &s.undo))) {
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
    if (err == 0 && (err = tc_ledger_write_tip(t, &at)))
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

int tc_ledger_apply_block(tc_ledger *L, const tc_block *blk, const tc_cert *cert, tc_errmsg *e)
{
    size_t done;
    return apply_run(L, &blk, &cert, 1, 1, &done, e);
}

int tc_ledger_check_block(tc_ledger *L, const tc_block *blk, uint64_t now_ms, tc_errmsg *e)
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
    if (L->rules.cache == NULL)
        return;
    for (size_t i = 0; i < blk->last_commit.n; i++)
        warm(&(sigwork){&blk->last_commit, i, NULL}, L->g->chain_id, L->rules.cache);
    for (size_t i = 1; i < blk->n_tx; i++)
        warm(&(sigwork){NULL, 0, &blk->txs[i]}, L->g->chain_id, L->rules.cache);
}

/* Fills the signature cache with every signature the run's checks will
 * verify, across the pool: each block's last commit (which is also the
 * certificate apply_in keeps for the block before it), the last block's own
 * certificate, and the transactions. Which signatures count, and for which
 * validator set, is still decided in order by apply_in; this only moves the
 * Ed25519 work onto every core. */
static void warm_sigs(tc_ledger *L, const tc_block *const *blks, const tc_cert *const *certs, size_t n)
{
    if (L->rules.cache == NULL || tc_pool_threads(L->rules.pool) < 2)
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
    warmjob j = {w, L->g->chain_id, L->rules.cache};
    tc_pool_run(L->rules.pool, k, warm_one, &j);
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

