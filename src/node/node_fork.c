/* What the fork query (forkq.h) asks of the node (node_impl.h): our
 * certificates and validator sets, gethash to peers, judging a peer's
 * block or hash answer from another branch, the validator behind a link,
 * and carrying out a decision: rolling back to the fork height's parent,
 * transactions back to the mempool, consensus and sync restarted there. */
#include "node/node_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"

static uint64_t fq_now(void *ctx)
{
    tc_node *n = ctx;
    return n->io.mono_ms(n->io.ctx);
}

static int fq_our_cert(void *ctx, uint64_t height, tc_cert *out)
{
    tc_node *n = ctx;
    tc_cert_init(out);
    if (height == 0 || height > tc_ledger_height(n->L))
        return TC_ENOTFOUND;
    return tc_ledger_get_cert(n->L, height, out);
}

static int fq_valset(void *ctx, uint64_t height, tc_valset *out)
{
    tc_node *n = ctx;
    return tc_ledger_valset(n->L, height, out);
}

static void gethash_msg(tc_msg *m, uint64_t height)
{
    tc_msg_init(m, TC_MSG_GETHASH);
    m->u.gethash = height;
}

/* Evidence from two certificates of one round (forkq.h): as for two votes. */
static void fq_evidence(void *ctx, const tc_vote *a, const tc_vote *b)
{
    tc_node_record_evidence(ctx, a, b);
}

static int fq_send(void *ctx, uint64_t peer, uint64_t height)
{
    tc_node *n = ctx;
    tc_msg m;
    gethash_msg(&m, height);
    return n->io.send(n->io.ctx, peer, &m);
}

static size_t fq_broadcast(void *ctx, uint64_t height)
{
    tc_node *n = ctx;
    tc_msg m;
    gethash_msg(&m, height);
    return n->io.broadcast(n->io.ctx, &m, 0);
}

static void fq_wake(void *ctx, uint64_t ms)
{
    tc_node *n = ctx;
    n->io.timer_set(n->io.ctx, n->fork_ev, ms);
}

static void fq_verdict(void *ctx, uint64_t peer, bool winner)
{
    tc_node *n = ctx;
    tc_sync_set_branch(n->sync, peer, winner);
}

/* The halt lifted: the height in progress begins again (it signed nothing
 * while halted; the core resumes from its sign log, as after the sign
 * hold) and the sync applies what it holds. A rollback that follows
 * restarts both again. */
static void fq_halt(void *ctx, bool on)
{
    tc_node *n = ctx;
    if (on)
        return; /* the driver and the sync ask tc_forkq_halted */
    if (n->core && tc_core_height(n->core) == tc_ledger_height(n->L) + 1)
        tc_node_start_height(n);
    tc_node_sync_peer_heights(n);
}

/* Undoes the tip: its block in *out (for its transactions), one log line. */
static int undo_tip(tc_node *n, tc_block *out)
{
    tc_header hdr;
    tc_hash hash;
    tc_errmsg e;
    uint64_t height = tc_ledger_height(n->L);
    tc_ledger_tip(n->L, &hdr, &hash);
    if (tc_ledger_get_block(n->L, height, out) != 0)
        tc_block_init(out);
    int err = tc_ledger_rollback_tip(n->L, &e);
    if (err) {
        tc_log_error("fork", "cannot roll back the tip", "height=%llu err=%s", (unsigned long long)height, e.msg);
        return err;
    }
    char hex[65];
    tc_log_info("fork", "rolled back block", "height=%llu hash=%s txs=%zu", (unsigned long long)height,
                tc_hex_encode(hex, hash.b, 32), out->n_tx);
    return 0;
}

/* Rolls the ledger back to `to`, puts the undone transactions that are
 * still valid back into the mempool (oldest block first, so parents come
 * before children) and restarts consensus and sync at to + 1. */
static void roll_back(tc_node *n, uint64_t to)
{
    uint64_t tip = tc_ledger_height(n->L), t0 = n->io.mono_ms(n->io.ctx);
    size_t depth = (size_t)(tip - to), done = 0, back = 0;
    tc_block *undone = tc_xcalloc(depth ? depth : 1, sizeof *undone);
    while (done < depth && undo_tip(n, &undone[done]) == 0)
        done++;
    uint64_t now = n->io.wall_ms(n->io.ctx);
    for (size_t i = done; i-- > 0;) {
        for (size_t k = 1; k < undone[i].n_tx; k++) { /* 0 is the coinbase */
            tc_errmsg e;
            tc_hash txid;
            if (tc_mempool_add(n->mp, &undone[i].txs[k], now, &txid, &e) == 0) {
                (void)tc_txdurable_admitted(n->txd, &undone[i].txs[k], false); /* logs its own failure */
                back++;
            }
        }
        tc_block_release(&undone[i]);
    }
    free(undone);
    if (done < depth) {
        tc_node_stop_fatal(n, "store: rollback failed");
        return;
    }
    /* pending transactions that spent what the rollback removed (an output
     * or masternode state of an undone block) would wait until expiry */
    size_t dropped = tc_mempool_revalidate(n->mp, now);
    tc_txdurable_block(n->txd);
    tc_log_warn("fork", "rollback done; syncing the network's branch",
                "height=%llu blocks=%zu txs_to_mempool=%zu mempool_dropped=%zu ms=%llu", (unsigned long long)to, done,
                back, dropped, (unsigned long long)(n->io.mono_ms(n->io.ctx) - t0));
    tc_cert_release(&n->last_commit);
    tc_cert_init(&n->last_commit);
    tc_node_start_height(n);
    tc_sync_restart(n->sync);
    tc_node_sync_peer_heights(n);
}

static bool fq_decided(void *ctx, uint64_t height, const tc_hash *hash)
{
    tc_node *n = ctx;
    uint64_t tip = tc_ledger_height(n->L), depth = tip >= height ? tip - height + 1 : 0;
    if (depth > n->cfg.fork_max_rollback) {
        char hex[65];
        tc_log_error("fork", "our branch lost, deeper than fork-max-rollback: not rolling back; waiting for the operator",
                     "height=%llu block=%s tip=%llu blocks=%llu max=%llu hint=%s", (unsigned long long)height,
                     tc_hex_encode(hex, hash->b, 32), (unsigned long long)tip, (unsigned long long)depth,
                     (unsigned long long)n->cfg.fork_max_rollback,
                     "check getchaintips, then time-cli --datadir DIR forkrollback <height - 1> rolls back and "
                     "syncs the network's branch; docs/operations.md 'halted node'");
        return false;
    }
    roll_back(n, height - 1);
    return true;
}

/* Whether peer is a validator of height's set, and which: the operator
 * key the link attested with mnauth (signed over this link's channel
 * binding: net/msg.h), if that key is in the set. A node key is not an
 * operator key; a link without mnauth counts for no one. */
static bool voter_of(tc_node *n, uint64_t peer, uint64_t height, tc_pubkey *out)
{
    tc_valset vs;
    if (!tc_oplinks_operator(n->oplinks, peer, out) || tc_ledger_valset(n->L, height, &vs) != 0)
        return false;
    bool found = tc_valset_find(&vs, out) >= 0;
    tc_valset_release(&vs);
    return found;
}

/* Checks that cert certifies hash at height under that height's set. */
static int check_cert(tc_node *n, const tc_cert *cert, uint64_t height, const tc_hash *hash, tc_errmsg *e)
{
    tc_valset vs;
    int err = tc_ledger_valset(n->L, height, &vs);
    if (err == 0)
        err = tc_cert_verify(cert, &vs, n->g.chain_id, height, hash, tc_ledger_sigcache(n->L), e);
    else
        tc_fail(e, err, "no validator set for height %llu", (unsigned long long)height);
    tc_valset_release(&vs);
    return err;
}

/* Whether a certificate that failed check_cert is provably invalid, on any
 * branch: it names another height or block, or one of its signatures does
 * not verify under its own key. Otherwise it failed only on membership or
 * weight under *our* set of that height, and another branch's set can
 * differ there (registrations in its blocks above the fork); at the fork
 * height itself both branches derive the set from their common parent. */
static bool provably_invalid(tc_node *n, const tc_cert *cert, uint64_t height, const tc_hash *hash, uint64_t fork_height)
{
    if (cert->height != height || !tc_hash_eq(&cert->block, hash) || (fork_height && height == fork_height))
        return true;
    for (size_t i = 0; i < cert->n; i++) {
        tc_vote v;
        tc_cert_vote(cert, i, &v);
        if (tc_vote_verify(&v, n->g.chain_id) != 0)
            return true;
    }
    return false;
}

int tc_node_fork_branch(void *ctx, uint64_t peer, const tc_block *blk, const tc_cert *cert, tc_errmsg *e)
{
    tc_node *n = ctx;
    uint64_t height = blk->hdr.height;
    tc_hash hash;
    tc_errmsg why;
    tc_header_hash(&blk->hdr, &hash);
    int err = check_cert(n, cert, height, &hash, &why);
    if (err && provably_invalid(n, cert, height, &hash, 0)) { /* its parent differs: never the fork height's set */
        tc_log_warn("fork", "peer served a block of another branch with an invalid certificate; banning it",
                    "height=%llu peer=%llu reason=%s", (unsigned long long)height, (unsigned long long)peer, why.msg);
        return tc_fail(e, err, "another branch with an invalid certificate: %s", why.msg);
    }
    if (err) /* signatures good, but not a quorum of our set there: its branch's set may differ */
        tc_log_info("fork", "peer served a block of another branch certified under another validator set; not banned, "
                    "looking for the fork height", "height=%llu peer=%llu reason=%s", (unsigned long long)height,
                    (unsigned long long)peer, why.msg);
    bool warned = false;
    for (size_t i = 0; i < sizeof n->fork_warned / sizeof n->fork_warned[0] && !warned; i++)
        warned = n->fork_warned[i] == peer;
    if (!warned) {
        n->fork_warned[n->n_fork_warned++ % (sizeof n->fork_warned / sizeof n->fork_warned[0])] = peer;
        tc_log_warn("fork", "peer holds another certified branch; not banned, not asked for blocks", "height=%llu peer=%llu",
                    (unsigned long long)height, (unsigned long long)peer);
    }
    tc_forkq_suspect(n->forkq, peer, height - 1); /* it names another parent: another block at our tip */
    return 0;
}

int tc_node_on_hash(tc_node *n, uint64_t peer, const tc_msg_hash *mh)
{
    tc_forkq_status st;
    tc_forkq_status_get(n->forkq, &st);
    if (st.state == TC_FORKQ_IDLE && tc_hash_is_zero(&mh->hash))
        return 0; /* a probe answer from a peer without that block */
    tc_forkq_answer a = {mh->height, mh->hash, false, NULL, NULL};
    tc_cert cert;
    tc_cert_init(&cert);
    if (!tc_hash_is_zero(&mh->hash)) {
        tc_cert ours;
        bool same = fq_our_cert(n, mh->height, &ours) == 0 && tc_hash_eq(&ours.block, &mh->hash);
        tc_cert_release(&ours);
        if (st.state == TC_FORKQ_IDLE && (same || mh->height > tc_ledger_height(n->L)))
            return 0; /* nothing asked, nothing differs: not worth a signature check */
        if (mh->height > tc_ledger_height(n->L) + 1)
            return 0; /* a set we cannot know: no judgement either way */
        if (tc_cert_decode(&cert, mh->cert.p, mh->cert.len) != 0)
            return TC_EBADVAL;
        tc_errmsg e;
        int err = check_cert(n, &cert, mh->height, &mh->hash, &e);
        uint64_t fork_height = st.state == TC_FORKQ_QUERYING || st.state == TC_FORKQ_HALTED ? st.height : 0;
        if (err && provably_invalid(n, &cert, mh->height, &mh->hash, fork_height)) {
            tc_log_warn("fork", "peer answered gethash with an invalid certificate; banning it",
                        "height=%llu peer=%llu reason=%s", (unsigned long long)mh->height, (unsigned long long)peer,
                        e.msg);
            tc_cert_release(&cert);
            return err;
        }
        a.cert_valid = err == 0; /* else counted as an answer without a valid certificate: its set may differ */
        a.cert = err == 0 ? &cert : NULL;
    }
    tc_pubkey voter;
    if (voter_of(n, peer, mh->height, &voter))
        a.voter = &voter;
    tc_forkq_on_hash(n->forkq, peer, &a);
    tc_cert_release(&cert);
    return 0;
}

int tc_node_fork_allowed(tc_node *n, const tc_block *const *blks, size_t count, size_t *allowed, tc_errmsg *e)
{
    uint64_t height;
    tc_hash pin;
    *allowed = count;
    if (n->forkq && tc_forkq_halted(n->forkq, &height)) {
        size_t below = 0;
        while (below < count && blks[below]->hdr.height < height)
            below++;
        *allowed = below;
        return below < count ? tc_fail(e, TC_ECONS_HALTED, "commits halted at fork height %llu",
                                       (unsigned long long)height)
                             : 0;
    }
    if (n->forkq == NULL || !tc_forkq_pinned(n->forkq, &height, &pin))
        return 0;
    for (size_t i = 0; i < count; i++) {
        tc_hash h;
        if (blks[i]->hdr.height != height)
            continue;
        tc_header_hash(&blks[i]->hdr, &h);
        if (tc_hash_eq(&h, &pin))
            return 0;
        *allowed = i; /* another branch's block where the network decided: the sync sets it aside */
        return tc_fail(e, TC_EBLK_PREV, "not the block the network holds at fork height %llu",
                       (unsigned long long)height);
    }
    return 0;
}

bool tc_node_fork_halted(const tc_node *n)
{
    return n->forkq && tc_forkq_halted(n->forkq, NULL);
}

/* "<hash> (ours), <hash>": the branches at the fork height with a valid
 * certificate, for an operator who named another. */
static void certified_branches(tc_node *n, char *out, size_t size)
{
    tc_forkq_status st;
    tc_forkq_status_get(n->forkq, &st);
    size_t at = 0;
    out[0] = 0;
    for (size_t i = 0; i < st.n_branches && at < size; i++) {
        char hex[65];
        if (!st.branches[i].cert_valid)
            continue;
        at += (size_t)snprintf(out + at, size - at, "%s%s%s", at ? ", " : "",
                               tc_hex_encode(hex, st.branches[i].hash.b, 32), st.branches[i].ours ? " (ours)" : "");
    }
}

int tc_node_fork_choose(void *ctx, const tc_hash *hash, uint64_t *fork_height, bool *ours, tc_errmsg *e)
{
    tc_node *n = ctx;
    tc_forkq_status st;
    tc_forkq_status_get(n->forkq, &st);
    if (!tc_forkq_halted(n->forkq, fork_height))
        return tc_fail(e, TC_ESTATE, "commits are not halted by a fork (fork state %s); forkchoose is for a halted "
                       "node, forkrollback for one waiting for the operator", tc_forkq_state_name(st.state));
    int err = tc_forkq_operator_choose(n->forkq, hash, ours);
    if (err) {
        char list[TC_FORKQ_MAX_BRANCHES * 75 + 1];
        certified_branches(n, list, sizeof list);
        return tc_fail(e, err, "not a block with a valid certificate at fork height %llu; the branches there: %s",
                       (unsigned long long)*fork_height, list);
    }
    char hex[65];
    tc_hex_encode(hex, hash->b, 32);
    if (*ours) {
        tc_log_warn("fork", "operator kept our block at the fork height; committing again, the other branch's peers set "
                    "aside", "height=%llu block=%s", (unsigned long long)*fork_height, hex);
        return 0;
    }
    tc_log_warn("fork", "operator chose the other block at the fork height; rolling back to its parent",
                "height=%llu block=%s blocks=%llu", (unsigned long long)*fork_height, hex,
                (unsigned long long)(tc_ledger_height(n->L) - (*fork_height - 1)));
    roll_back(n, *fork_height - 1);
    return 0;
}

int tc_node_fork_operator_rollback(void *ctx, uint64_t to, tc_errmsg *e)
{
    tc_node *n = ctx;
    uint64_t height;
    tc_hash hash;
    tc_forkq_status st;
    tc_forkq_status_get(n->forkq, &st);
    if (st.state != TC_FORKQ_WAITING_OPERATOR || !tc_forkq_decision(n->forkq, &height, &hash))
        return tc_fail(e, TC_ESTATE, "no fork waits for the operator (fork state %s)", tc_forkq_state_name(st.state));
    if (to != height - 1)
        return tc_fail(e, TC_EINVAL, "the network's branch forks at height %llu: the rollback goes to %llu, not %llu",
                       (unsigned long long)height, (unsigned long long)(height - 1), (unsigned long long)to);
    char hex[65];
    tc_log_warn("fork", "operator asked to roll back to the fork height's parent", "height=%llu blocks=%llu block=%s",
                (unsigned long long)to, (unsigned long long)(tc_ledger_height(n->L) - to),
                tc_hex_encode(hex, hash.b, 32));
    roll_back(n, to);
    (void)tc_forkq_operator_rolled_back(n->forkq);
    return 0;
}

static void on_fork_timer(void *arg)
{
    tc_node *n = arg;
    tc_forkq_tick(n->forkq);
}

#define PROBE_MS 10000 /* gethash to each peer this often while no fork is in question */

/* Each established peer is asked for its block at the highest height both
 * hold; an answer that differs from ours starts the fork query
 * (tc_node_on_hash). One request per peer per PROBE_MS. */
static void on_probe_timer(void *arg)
{
    tc_node *n = arg;
    tc_forkq_status st;
    tc_forkq_status_get(n->forkq, &st);
    uint64_t tip = tc_ledger_height(n->L);
    if (st.state == TC_FORKQ_IDLE && tip > 0) {
        tc_peer_info *peers;
        size_t k = n->io.peers(n->io.ctx, &peers);
        for (size_t i = 0; i < k; i++)
            if (peers[i].established && peers[i].height > 0)
                (void)fq_send(n, peers[i].id, peers[i].height < tip ? peers[i].height : tip);
        free(peers);
    }
    n->io.timer_set(n->io.ctx, n->fork_probe_ev, PROBE_MS);
}

void tc_node_fork_open(tc_node *n)
{
    n->fork_ev = n->io.timer_new(n->io.ctx, on_fork_timer, n);
    n->fork_probe_ev = n->io.timer_new(n->io.ctx, on_probe_timer, n);
    n->io.timer_set(n->io.ctx, n->fork_probe_ev, PROBE_MS);
    tc_forkq_iface fi = {n,        fq_now,     fq_our_cert, fq_valset, fq_send, fq_broadcast, fq_wake, fq_decided,
                         fq_verdict, fq_evidence, fq_halt};
    uint64_t timeout = n->cfg.fork_query_timeout_s ? n->cfg.fork_query_timeout_s * 1000 : 5000;
    n->forkq = tc_forkq_new(&fi, timeout, 12 * timeout);
}

void tc_node_fork_close(tc_node *n)
{
    if (n->fork_ev)
        n->io.timer_free(n->io.ctx, n->fork_ev);
    if (n->fork_probe_ev)
        n->io.timer_free(n->io.ctx, n->fork_probe_ev);
    tc_forkq_free(n->forkq);
}
