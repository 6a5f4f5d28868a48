/* The consensus driver (node_impl.h): the candidate store, the core's
 * actions, committing a decided block or fetching it when it is not held,
 * pacing heights, and the sign log with the locked block it keeps. */
#include "node/node_impl.h"

#include <stdio.h>
#include <string.h>

#include "store/chainstore.h"
#include "store/signlog.h"
#include "util/file.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- candidates ------------------------------------------------------------- */

const tc_cand *tc_node_find_candidate(tc_node *n, uint64_t height, const tc_hash *hash)
{
    return tc_cands_find(n->cands, height, hash);
}

/* What the candidate store must never evict at the current height: the
 * core's locked and valid values and a decided value being fetched. */
void tc_node_consensus_at(const tc_node *n, uint64_t height, tc_cands_at *at)
{
    memset(at, 0, sizeof *at);
    at->height = height;
    if (n->core == NULL || tc_core_height(n->core) != height)
        return;
    at->round = tc_core_round(n->core);
    if (tc_core_locked(n->core, &at->protect[at->n_protect]) >= 0)
        at->n_protect++;
    if (tc_core_valid(n->core, &at->protect[at->n_protect]) >= 0)
        at->n_protect++;
    if (n->fetch.active && n->fetch.height == height)
        at->protect[at->n_protect++] = n->fetch.hash;
}

/* Keeps blk (taken over) as proposed by proposer at round; NULL if the
 * store's bounds refuse it. */
const tc_cand *tc_node_keep_candidate(tc_node *n, tc_block *blk, uint32_t round, const tc_pubkey *proposer)
{
    tc_cands_at at;
    uint64_t current = n->core ? tc_core_height(n->core) : 0;
    tc_node_consensus_at(n, current ? current : blk->hdr.height, &at); /* before the first height: the restored lock's */
    return tc_cands_keep(n->cands, &at, blk, round, proposer);
}

/* A block kept while its height was the next one stays only if its signer
 * proposes its round now that the schedule is known. */
static bool scheduled(void *ctx, const tc_cand *c)
{
    tc_node *n = ctx;
    tc_pubkey key;
    tc_hash locked;
    if (tc_core_locked(n->core, &locked) >= 0 && tc_hash_eq(&locked, &c->hash))
        return true;
    return tc_core_proposer(n->core, c->round, &key) && memcmp(key.b, c->proposer.b, sizeof key.b) == 0;
}

/* ---- consensus driver -------------------------------------------------------- */

/* Genesis timing with the devnet overrides of the config. */
tc_consensus_params tc_node_timing(const tc_node *n)
{
    tc_consensus_params cp = n->g.cp;
    if (n->cfg.block_interval_ms >= 0)
        cp.block_interval_ms = (uint32_t)n->cfg.block_interval_ms;
    if (n->cfg.propose_timeout_ms >= 0)
        cp.propose_timeout_ms = (uint32_t)n->cfg.propose_timeout_ms;
    if (n->cfg.prevote_timeout_ms >= 0)
        cp.prevote_timeout_ms = (uint32_t)n->cfg.prevote_timeout_ms;
    if (n->cfg.precommit_timeout_ms >= 0)
        cp.precommit_timeout_ms = (uint32_t)n->cfg.precommit_timeout_ms;
    return cp;
}

static int save_locked_block(tc_node *n, const tc_signstate *s);

void tc_node_stop_fatal(tc_node *n, const char *why)
{
    const char *damage = tc_chainstore_damaged(n->L); /* the cause of most failures it meets */
    if (damage)
        tc_log_error("node", "stopping", "reason=%s err=%s failed=%s hint=%s", "store: damaged", damage, why,
                     "run timed --verify-store, then restore the data dir or move DATADIR/chain aside to resync; "
                     "keep consensus.log");
    else
        tc_log_error("node", "stopping", "reason=%s", why);
    n->exit_code = 2;
    n->io.stop(n->io.ctx);
}

static int core_sign(void *ctx, const tc_hash *msg, tc_sig *sig)
{
    tc_node *n = ctx;
    if (!n->has_op_key || !tc_signhold_may_sign(&n->hold) || tc_node_fork_halted(n))
        return TC_ESTATE; /* a fork halt: no proposal, no vote (node/forkq.h) */
    tc_sign(&n->op_key, msg->b, 32, sig);
    return 0;
}

static int core_get_value(void *ctx, uint64_t height, uint32_t round, tc_hash *value)
{
    tc_node *n = ctx;
    if (height != tc_ledger_height(n->L) + 1)
        return TC_ESTATE;
    const tc_tx **txs = tc_xcalloc(BLOCK_MAX_TXS, sizeof *txs);
    size_t k = tc_mempool_select(n->mp, txs, BLOCK_MAX_TXS);
    tc_block blk;
    tc_errmsg e;
    size_t skipped = 0;
    int err = tc_ledger_build_block(n->L, txs, k, n->io.wall_ms(n->io.ctx), &n->op_key.pk, &n->last_commit, &blk,
                                    &skipped, &e);
    free(txs);
    if (err) {
        tc_log_error("node", "cannot build a block", "height=%llu err=%s hint=%s", (unsigned long long)height, e.msg,
                     "this node skips its turn (prevotes nil); check the store error above (disk, permissions)");
        return err;
    }
    const tc_cand *c = tc_node_keep_candidate(n, &blk, round, &n->op_key.pk);
    if (c == NULL)
        return TC_ELIMIT; /* cannot happen: our round is the highest */
    *value = c->hash;
    tc_log_debug("node", "proposing", "height=%llu round=%u txs=%zu skipped=%zu", (unsigned long long)height, round,
                 c->blk.n_tx - 1, skipped);
    return 0;
}

static void on_timer(void *arg)
{
    timer *t = arg;
    t->armed = false;
    tc_core_on_timeout(t->n->core, t->height, t->round, t->kind);
    tc_node_drain(t->n);
}

/* Whether the proposer of round at the current height is gone: every link
 * that attested its operator key closed (oplinks.h). */
static bool proposer_gone(const tc_node *n, uint32_t round, tc_pubkey *key)
{
    return tc_core_proposer(n->core, round, key) && !tc_pubkey_eq(key, &n->op_key.pk) &&
           tc_oplinks_gone(n->oplinks, key);
}

static void log_proposer_gone(const tc_pubkey *key, uint64_t height, uint32_t round)
{
    char hex[65];
    tc_log_info("consensus", "the proposer's links are closed; prevoting nil without waiting",
                "height=%llu round=%u proposer=%s", (unsigned long long)height, round, tc_hex_encode(hex, key->b, 32));
}

/* Not waiting for a proposal that cannot come is always safe (a nil prevote
 * is allowed at any time); it saves the whole propose timeout when the
 * proposer's process is gone (Tendermint's timeouts matter for liveness
 * only). If the proposer was only cut off from us, the others still reach
 * a quorum on its block without our prevote while they are more than 2/3. */
void tc_node_operator_gone(tc_node *n, const tc_pubkey *key)
{
    tc_pubkey p;
    uint64_t h = tc_core_height(n->core);
    uint32_t r = tc_core_round(n->core);
    if (tc_core_step(n->core) != TC_STEP_PROPOSE || !proposer_gone(n, r, &p) || !tc_pubkey_eq(&p, key))
        return;
    log_proposer_gone(key, h, r);
    n->proposer_gone_skips++;
    tc_core_on_timeout(n->core, h, r, TC_TIMEOUT_PROPOSE);
    tc_node_drain(n);
}

static void schedule_timeout(tc_node *n, uint64_t height, uint32_t round, enum tc_timeout_kind kind, uint32_t ms)
{
    tc_pubkey gone;
    if (kind == TC_TIMEOUT_PROPOSE && height == tc_core_height(n->core) && proposer_gone(n, round, &gone)) {
        log_proposer_gone(&gone, height, round);
        n->proposer_gone_skips++;
        ms = 0;
    }
    timer *t = NULL;
    for (size_t i = 0; i < MAX_TIMERS && t == NULL; i++)
        if (!n->timers[i].armed)
            t = &n->timers[i];
    if (t == NULL) { /* all in flight: reuse the one for the oldest round */
        t = &n->timers[0];
        for (size_t i = 1; i < MAX_TIMERS; i++)
            if (n->timers[i].height < t->height ||
                (n->timers[i].height == t->height && n->timers[i].round < t->round))
                t = &n->timers[i];
    }
    t->height = height;
    t->round = round;
    t->kind = kind;
    t->armed = true;
    n->io.timer_set(n->io.ctx, t->ev, ms);
}

void tc_node_push_encoded(tc_node *n, tc_msg *m, enum tc_hash_domain domain, const uint8_t *p, size_t len)
{
    tc_hash h;
    tc_hash_once(domain, p, len, &h);
    n->io.push(n->io.ctx, m, &h, 0);
}

static void broadcast_vote(tc_node *n, const tc_vote *v)
{
    tc_buf b;
    tc_msg m;
    tc_buf_init(&b);
    tc_vote_encode(v, &b);
    tc_msg_init(&m, TC_MSG_VOTE);
    m.u.vote.p = b.p;
    m.u.vote.len = b.len;
    tc_node_push_encoded(n, &m, TC_H_VOTE, b.p, b.len);
    tc_buf_release(&b);
}

void tc_node_remember_proposal(tc_node *n, const tc_proposal *p)
{
    if (!n->have_prop || p->round >= n->prop.round) {
        n->prop = *p;
        n->have_prop = true;
    }
}

static void broadcast_proposal(tc_node *n, const tc_proposal *p)
{
    tc_node_remember_proposal(n, p);
    const tc_cand *c = tc_node_find_candidate(n, p->height, &p->block);
    if (c == NULL) {
        tc_log_error("node", "proposal without its block", "height=%llu", (unsigned long long)p->height);
        return;
    }
    tc_buf b;
    tc_msg m;
    tc_buf_init(&b);
    tc_proposal_encode(p, &b);
    tc_msg_init(&m, TC_MSG_PROPOSAL);
    m.u.proposal.proposal.p = b.p;
    m.u.proposal.proposal.len = b.len;
    m.u.proposal.block.p = c->raw.p;
    m.u.proposal.block.len = c->raw.len;
    tc_node_push_encoded(n, &m, TC_H_PROPOSAL, b.p, b.len);
    tc_buf_release(&b);
}

void tc_node_answer_check(tc_node *n, uint64_t height, const tc_hash *value)
{
    const tc_cand *c = tc_node_find_candidate(n, height, value);
    if (c == NULL)
        return; /* answered when the block arrives with its proposal */
    tc_errmsg e;
    int err = tc_ledger_check_block(n->L, &c->blk, n->io.wall_ms(n->io.ctx), &e);
    if (err) {
        char hex[65];
        tc_log_warn("node", "proposed block is invalid", "height=%llu proposer=%s reason=%s hint=%s",
                    (unsigned long long)height, tc_hex_encode(hex, c->blk.hdr.proposer.b, 32), e.msg,
                    err == TC_EBLK_TIME ? "the proposer's clock or this node's is wrong: compare both with an "
                                          "NTP server (timedatectl, chronyc tracking) and fix the one that is off"
                                        : "this node prevotes nil and the round moves on; if that proposer's "
                                          "blocks fail every time, its node runs another build or genesis");
    }
    tc_core_on_validity(n->core, height, value, err == 0);
}

static void update_mesh(tc_node *n);
static void schedule_next_height(tc_node *n);

/* Applies the decided block blk (value at height, decided in round,
 * certified by cert). False if the node is stopping. */
static bool apply_decided(tc_node *n, const tc_block *blk, uint64_t height, uint32_t round, const tc_hash *value,
                          const tc_cert *cert)
{
    tc_errmsg e;
    uint64_t t0 = n->io.mono_ms(n->io.ctx);
    int err = tc_ledger_apply_block(n->L, blk, cert, &e);
    if (err) {
        /* A decided block that does not apply is a broken invariant or a full
         * disk: stop rather than run on. */
        tc_log_error("node", "cannot commit the decided block", "height=%llu err=%s hint=%s", (unsigned long long)height,
                     e.msg, "the node stops; free disk space or fix the store error above, then start it: it syncs");
        tc_node_stop_fatal(n, "commit failed");
        return false;
    }
    tc_mempool_block_committed(n->mp, blk, n->io.wall_ms(n->io.ctx));
    tc_txdurable_block(n->txd);
    tc_signhold_on_commit(&n->hold, blk->hdr.height, blk->hdr.time_ms);
    uint64_t now = n->io.mono_ms(n->io.ctx);
    tc_nodemetrics_on_commit(n->metrics, blk, now - n->committed_ms, now - n->height_started_ms, round);
    n->committed_ms = now;
    char hex[65];
    tc_log_info("node", "block committed", "height=%llu round=%u hash=%s txs=%zu signers=%zu apply_ms=%llu",
                (unsigned long long)height, round, tc_hex_encode(hex, value->b, 32), blk->n_tx - 1, cert->n,
                (unsigned long long)(n->io.mono_ms(n->io.ctx) - t0));
    tc_hash hash = *value;
    n->io.relay(n->io.ctx, TC_INV_BLOCK, &hash, 0);
    return true;
}

/* ---- fetching a decided block ------------------------------------------------ */

#define FETCH_RETRY_MS 500 /* a decided block not held is asked for again this often */
#define FETCH_PEERS 8      /* peers asked at a time */

/* Asks peers for the block being fetched: getdata(block) to up to
 * FETCH_PEERS established peers (rotating, so every peer is asked in
 * turn), and a sync hint, so whichever path has it first applies it. */
static void fetch_ask(tc_node *n)
{
    tc_peer_info *peers;
    size_t k = n->io.peers(n->io.ctx, &peers), asked = 0;
    tc_msg m;
    tc_msg_init(&m, TC_MSG_GETDATA);
    m.u.inv.type = TC_INV_BLOCK;
    m.u.inv.n = 1;
    m.u.inv.h = &n->fetch.hash; /* borrowed */
    for (size_t j = 0; j < k && asked < FETCH_PEERS; j++) {
        const tc_peer_info *pi = &peers[(j + n->fetch.asks * FETCH_PEERS) % k];
        if (pi->established && n->io.send(n->io.ctx, pi->id, &m) == 0)
            asked++;
    }
    free(peers);
    if (n->fetch.asks % 10 == 0) {
        char hex[65];
        tc_log_warn("node", "decided a block it does not hold; fetching it from peers", "height=%llu hash=%s "
                    "attempt=%u peers_asked=%zu", (unsigned long long)n->fetch.height,
                    tc_hex_encode(hex, n->fetch.hash.b, 32), n->fetch.asks + 1, asked);
    }
    n->fetch.asks++;
    tc_sync_on_height(n->sync, 0, n->fetch.height);
    n->io.timer_set(n->io.ctx, n->fetch.ev, FETCH_RETRY_MS);
}

static void fetch_done(tc_node *n)
{
    n->fetch.active = false;
    tc_cert_release(&n->fetch.cert);
    n->io.timer_cancel(n->io.ctx, n->fetch.ev);
}

static void on_fetch_timer(void *arg)
{
    tc_node *n = arg;
    if (!n->fetch.active)
        return;
    if (tc_ledger_height(n->L) >= n->fetch.height) { /* sync applied it */
        fetch_done(n);
        return;
    }
    fetch_ask(n);
}

static void start_fetch(tc_node *n, uint64_t height, const tc_hash *value, const tc_cert *cert)
{
    if (n->fetch.active && n->fetch.height == height && tc_hash_eq(&n->fetch.hash, value))
        return;
    if (n->fetch.active)
        fetch_done(n);
    n->fetch.active = true;
    n->fetch.height = height;
    n->fetch.hash = *value;
    n->fetch.asks = 0;
    tc_cert_copy(&n->fetch.cert, cert);
    fetch_ask(n);
}

/* A `block` message: taken only if it is the decided block being fetched
 * (its hash is certified by the precommits the core counted); anything else
 * is a late or unasked answer, ignored. */
int tc_node_on_block(tc_node *n, uint64_t peer, const tc_msg_block *mb)
{
    if (!n->fetch.active || tc_node_fork_halted(n))
        return 0; /* nothing asked (or a fork halts commits): not worth decoding */
    tc_reader r;
    tc_header hdr;
    tc_hash h;
    tc_reader_init(&r, mb->block.p, mb->block.len);
    if (tc_header_read(&r, &hdr) != 0)
        return TC_EBADVAL; /* the wire decoder checked its shape */
    tc_header_hash(&hdr, &h);
    if (!tc_hash_eq(&h, &n->fetch.hash) || hdr.height != n->fetch.height ||
        n->fetch.height != tc_ledger_height(n->L) + 1)
        return 0; /* another block: a late answer */
    tc_block blk;
    if (tc_block_decode(&blk, mb->block.p, mb->block.len) != 0)
        return TC_EBADVAL; /* the certified block's hash with a body that does not decode */
    int err = tc_block_check_body(&blk);
    if (err) {
        /* the certified header with another body: applying it would fail
         * and stop this node; the real one comes from another peer */
        tc_log_warn("node", "fetched block's body does not match its certified header; banning the peer",
                    "height=%llu peer=%llu reason=%s", (unsigned long long)n->fetch.height, (unsigned long long)peer,
                    tc_strerror(err));
        tc_block_release(&blk);
        return err;
    }
    tc_log_info("node", "fetched the decided block", "height=%llu peer=%llu attempts=%u",
                (unsigned long long)n->fetch.height, (unsigned long long)peer, n->fetch.asks);
    uint64_t height = n->fetch.height;
    tc_cert cert = n->fetch.cert;
    tc_cert_init(&n->fetch.cert);
    fetch_done(n);
    bool ok = apply_decided(n, &blk, height, cert.round, &h, &cert);
    if (ok && tc_core_step(n->core) == TC_STEP_DONE && tc_core_height(n->core) == height) {
        /* the core's NEXT_HEIGHT came while the block was missing */
        tc_cert_release(&n->last_commit);
        n->last_commit = cert;
        tc_cert_init(&cert);
        schedule_next_height(n);
    }
    tc_cert_release(&cert);
    tc_block_release(&blk);
    return 0;
}

static void commit_block(tc_node *n, uint64_t height, uint32_t round, const tc_hash *value, const tc_cert *cert)
{
    if (height != tc_ledger_height(n->L) + 1)
        return; /* already applied (by sync) */
    if (tc_node_fork_halted(n)) { /* the halt lifted, the height begins again or the sync brings it */
        char hex[65];
        tc_log_warn("node", "decided block not committed: a fork halts commits", "height=%llu hash=%s",
                    (unsigned long long)height, tc_hex_encode(hex, value->b, 32));
        return;
    }
    const tc_cand *c = tc_node_find_candidate(n, height, value);
    if (c == NULL) {
        /* Decided by a quorum of precommits without the block: the honest
         * validators that prevoted it hold it. Ask until it is applied. */
        start_fetch(n, height, value, cert);
        return;
    }
    if (n->fetch.active)
        fetch_done(n);
    apply_decided(n, &c->blk, height, round, value, cert);
}

void tc_node_record_evidence(tc_node *n, const tc_vote *a, const tc_vote *b)
{
    tc_tx tx;
    tc_tx_init(&tx);
    tx.kind = TC_TX_EVIDENCE;
    tx.u.evidence.a = *a;
    tx.u.evidence.b = *b;
    tc_hash txid;
    tc_errmsg e;
    char hex[65];
    int err = tc_mempool_add(n->mp, &tx, n->io.wall_ms(n->io.ctx), &txid, &e);
    tc_log_warn("node", "double sign seen", "validator=%s height=%llu round=%u evidence=%s hint=%s",
                tc_hex_encode(hex, a->validator.b, 32), (unsigned long long)a->height, a->round,
                err ? e.msg : "queued",
                "that operator key signs on two nodes (a copy of its data dir or key runs elsewhere, or a sign "
                "log was restored from an old backup): its operator must stop all but one; it is jailed");
    if (err == 0) {
        tc_txdurable_admitted(n->txd, &tx, true); /* logs a failure */
        n->io.relay(n->io.ctx, TC_INV_TX, &txid, 0);
    }
    tc_tx_release(&tx);
}

#define TX_WAIT_POLL_MS 20

/* With block_interval_ms 0, a height starts as soon as a transaction waits,
 * or after empty_block_interval_ms without one. */
static bool ready_for_next_height(tc_node *n)
{
    if (tc_node_timing(n).block_interval_ms > 0)
        return true;
    tc_mempool_stats st;
    tc_mempool_get_stats(n->mp, &st);
    return st.txs > 0 || n->io.mono_ms(n->io.ctx) - n->committed_ms >= n->cfg.empty_block_interval_ms;
}

static void on_next_height(void *arg)
{
    tc_node *n = arg;
    if (!ready_for_next_height(n)) {
        n->io.timer_set(n->io.ctx, n->next_height_ev, TX_WAIT_POLL_MS);
        return;
    }
    tc_node_start_height(n);
}

/* The next height starts block_interval_ms after the last commit (the core's
 * commit wait may already have used part of it). */
static void schedule_next_height(tc_node *n)
{
    uint64_t interval = tc_node_timing(n).block_interval_ms, since = n->io.mono_ms(n->io.ctx) - n->committed_ms;
    n->io.timer_set(n->io.ctx, n->next_height_ev, since < interval ? interval - since : 0);
}

void tc_node_drain(tc_node *n)
{
    tc_core_action a;
    bool persist_failed = false;
    while (tc_core_next_action(n->core, &a)) {
        switch (a.kind) {
        case TC_ACT_PERSIST: {
            uint8_t rec[TC_SIGNSTATE_SIZE];
            tc_signstate_encode(&a.u.persist, rec);
            if (persist_failed || save_locked_block(n, &a.u.persist) != 0 ||
                tc_signlog_append(n->slog, rec) != 0) {
                persist_failed = true;
                tc_node_stop_fatal(n, "cannot make the signed state durable (sign log)");
            }
            break;
        }
        case TC_ACT_PROPOSAL:
            if (!persist_failed)
                broadcast_proposal(n, &a.u.proposal);
            break;
        case TC_ACT_VOTE:
            if (!persist_failed)
                broadcast_vote(n, &a.u.vote);
            break;
        case TC_ACT_TIMEOUT:
            schedule_timeout(n, a.u.timeout.height, a.u.timeout.round, a.u.timeout.kind, a.u.timeout.ms);
            break;
        case TC_ACT_CHECK:
            tc_node_answer_check(n, a.u.check.height, &a.u.check.value);
            break;
        case TC_ACT_COMMIT:
            commit_block(n, a.u.commit.height, a.u.commit.round, &a.u.commit.value, a.u.commit.cert);
            break;
        case TC_ACT_NEXT_HEIGHT:
            if (tc_ledger_height(n->L) >= a.u.commit.height) {
                tc_cert_release(&n->last_commit);
                tc_cert_copy(&n->last_commit, a.u.commit.cert);
                schedule_next_height(n);
            }
            break;
        case TC_ACT_EVIDENCE:
            tc_node_record_evidence(n, &a.u.evidence.a, &a.u.evidence.b);
            break;
        }
    }
}

/* ---- the once-a-second tick ---------------------------------------------------- */

/* Damaged pages met by any read or write (an RPC, the mempool, sync): the
 * node stops with exit 2 rather than serve or build on a store it cannot
 * trust. Checked every tick, so within a second of the first. */
static bool stop_if_damaged(tc_node *n)
{
    if (tc_chainstore_damaged(n->L) == NULL)
        return false;
    tc_node_stop_fatal(n, "a store read met damaged pages");
    return true;
}

void tc_node_tick(tc_node *n)
{
    if (stop_if_damaged(n))
        return;
    tc_node_sync_peer_heights(n);
    tc_node_signhold_gate(n);
    tc_node_txreq_tick(n);
    uint64_t h = tc_core_height(n->core);
    uint32_t r = tc_core_round(n->core);
    int step = (int)tc_core_step(n->core);
    if (h == n->stuck_height && r == n->stuck_round && step == n->stuck_step) {
        if (++n->stuck_ticks >= 2) {
            tc_node_regossip(n, 0);
            n->stuck_ticks = 0;
        }
    } else {
        n->stuck_height = h;
        n->stuck_round = r;
        n->stuck_step = step;
        n->stuck_ticks = 0;
    }
}

typedef struct {
    const tc_node *n;
    const char **addrs;
    size_t count;
} mesh_walk;

static int mesh_add(void *ctx, const tc_mn *m)
{
    mesh_walk *w = ctx;
    if (tc_valset_find(&w->n->vs, &m->operator_key) >= 0 &&
        !(w->n->has_op_key && memcmp(m->operator_key.b, w->n->op_key.pk.b, 32) == 0))
        w->addrs[w->count++] = tc_xstrdup(m->netaddr);
    return 0;
}

/* A validator keeps links to every validator of the set (their on-chain
 * addresses); recomputed when the set changes. */
static void update_mesh(tc_node *n)
{
    tc_hash h;
    tc_valset_hash(&n->vs, &h);
    if (!n->has_op_key || tc_valset_find(&n->vs, &n->op_key.pk) < 0 || tc_hash_eq(&h, &n->mesh_for))
        return;
    mesh_walk w = {n, tc_xcalloc(n->vs.n, sizeof(char *)), 0};
    if (tc_ledger_each_mn(n->L, mesh_add, &w) == 0) {
        n->io.set_mesh(n->io.ctx, w.addrs, w.count);
        n->mesh_for = h;
    }
    for (size_t i = 0; i < w.count; i++)
        free((char *)w.addrs[i]);
    free(w.addrs);
}

/* Heartbeats dated after the start (signed by the validator's own key, so
 * whichever peer relayed them) report their sender's height too. */
static void heartbeat_reports(tc_node *n, const tc_valset *vs, tc_signhold_report *r)
{
    for (size_t i = 0; i < vs->n; i++) {
        const liveness *l = tc_hmap_get(n->seen, vs->v[i].key.b);
        if (l && l->time_ms >= n->hold.start_ms)
            tc_signhold_report_note(&r[i], l->height);
    }
}

/* While the sign hold's gate is closed: the validators' weight at or below
 * the tip by what established peers and heartbeats report
 * (node/signhold.h). True if the gate opened now. */
static bool signhold_gate_check(tc_node *n)
{
    if (!n->hold.gated)
        return false;
    uint64_t tip = tc_ledger_height(n->L);
    tc_valset vs;
    if (tc_ledger_valset(n->L, tip + 1, &vs) != 0)
        return false; /* the start of the height says why */
    tc_peer_info *peers;
    size_t k = n->io.peers(n->io.ctx, &peers);
    tc_signhold_report *r = tc_xcalloc(vs.n ? vs.n : 1, sizeof *r);
    tc_signhold_reports(&vs, &n->op_key.pk, tip, peers, k, n->oplinks, r);
    if (n->seen)
        heartbeat_reports(n, &vs, r);
    uint64_t agree = tc_signhold_weight_at(r, vs.n, tip);
    bool opened = false;
    tc_errmsg e;
    if (tc_signhold_gate(&n->hold, n->L, &n->op_key.pk, tip, agree, vs.total, &opened, &e) != 0)
        tc_log_error("node", "cannot check the synced blocks for this validator's key; not signing yet",
                     "reason=%s", e.msg);
    free(r);
    free(peers);
    tc_valset_release(&vs);
    return opened;
}

#define HOLD_STUCK_WARN_MS 60000 /* at most one 'held while nothing commits' error a minute */

/* Held, and nothing has committed for the hold's wait (2 x drift) and two
 * block gaps of a live chain more: the hold ends only with a block dated
 * after its wait, this validator's weight is missing from the quorum, and
 * if held validators hold more than 1/3 the chain stands still until
 * operators act. Says so, once a minute. */
static void warn_held_and_stuck(tc_node *n)
{
    uint64_t gap = tc_node_timing(n).block_interval_ms;
    gap = gap ? gap : n->cfg.empty_block_interval_ms;
    uint64_t now = n->io.mono_ms(n->io.ctx), wait = 2ull * n->hold.drift_ms + 2 * gap;
    if (!n->hold.held || now - n->committed_ms < wait ||
        (n->hold_stuck_warned_ms && now - n->hold_stuck_warned_ms < HOLD_STUCK_WARN_MS))
        return;
    n->hold_stuck_warned_ms = now;
    tc_log_error("node", "signing held and no block has committed since; the chain may be waiting for held validators",
                 "height=%llu held_because=%s no_commit_ms=%llu hint=%s",
                 (unsigned long long)tc_core_height(n->core), tc_signhold_why_name(n->hold.why),
                 (unsigned long long)(now - n->committed_ms),
                 "if more than a third of the validators restarted without their sign logs, none signs until "
                 "operators act: docs/operations.md 'Sign hold: the chain stops'");
}

void tc_node_signhold_gate(tc_node *n)
{
    warn_held_and_stuck(n);
    if (!signhold_gate_check(n) || !tc_signhold_may_sign(&n->hold) || tc_sync_active(n->sync))
        return;
    /* A height begun while gated signed nothing in it: no proposal in its
     * turn, no vote, not even the votes a restart inside a height sends
     * again from the sign log. Begin it again, now able to (the core still
     * holds only the sign log's state: nothing was signed since). */
    uint64_t h = tc_core_height(n->core);
    enum tc_step step = tc_core_step(n->core);
    if (h == tc_ledger_height(n->L) + 1 && step >= TC_STEP_PROPOSE && step <= TC_STEP_PRECOMMIT)
        tc_node_start_height(n);
}

/* Starts consensus at tip + 1 (the sign hold's gate is asked first, so a
 * node that has just caught up signs in this height). */
void tc_node_start_height(tc_node *n)
{
    (void)signhold_gate_check(n);
    uint64_t h = tc_ledger_height(n->L) + 1;
    tc_valset vs;
    if (tc_ledger_valset(n->L, h, &vs) != 0) {
        tc_node_stop_fatal(n, "no validator set for the next height");
        return;
    }
    tc_cands_drop_below(n->cands, h);
    tc_valset_release(&n->vs);
    tc_valset_copy(&n->vs, &vs);
    n->have_prop = false;
    update_mesh(n);
    if (n->last_commit.height != h - 1 || (h > 1 && n->last_commit.n == 0)) {
        tc_cert_release(&n->last_commit);
        if (h > 1 && tc_ledger_get_cert(n->L, h - 1, &n->last_commit) != 0)
            tc_cert_init(&n->last_commit);
    }
    n->height_started_ms = n->io.mono_ms(n->io.ctx);
    tc_core_start_height(n->core, h, &vs, &n->last_commit);
    tc_valset_release(&vs);
    tc_cands_prune(n->cands, h, scheduled, n);
    tc_node_drain(n);
}


/* The block of a lock, kept in <datadir>/consensus.lock before the sign log
 * records the lock: after a restart the node still holds it and can propose
 * it again. Without it, validators restarted together while some were locked
 * on a block nobody held any more never formed a polka again (bench/devnet). */
static int save_locked_block(tc_node *n, const tc_signstate *s)
{
    if (s->lock_round < 0 || tc_hash_eq(&s->lock_value, &n->lock_saved))
        return 0;
    const tc_cand *c = tc_node_find_candidate(n, s->height, &s->lock_value);
    if (c == NULL)
        return 0; /* locked on a block we never held: nothing to keep */
    char path[TC_CONFIG_PATH + 32];
    tc_errmsg e;
    snprintf(path, sizeof path, "%s/consensus.lock", n->cfg.datadir);
    int err = tc_file_write(path, c->raw.p, c->raw.len, 0600, true, &e);
    if (err) {
        tc_log_error("node", "cannot keep the locked block", "reason=%s", e.msg);
        return err;
    }
    n->lock_saved = s->lock_value;
    return 0;
}

/* Takes back the block of the lock the sign log ended on, if the file has it. */
static void load_locked_block(tc_node *n, const tc_signstate *last)
{
    char path[TC_CONFIG_PATH + 32], *raw = NULL;
    size_t len = 0;
    tc_errmsg e;
    snprintf(path, sizeof path, "%s/consensus.lock", n->cfg.datadir);
    if (last->lock_round < 0 || tc_file_read(path, TC_MAX_BLOCK_SIZE, false, &raw, &len, &e) != 0)
        return;
    tc_block blk;
    tc_hash h;
    if (tc_block_decode(&blk, (const uint8_t *)raw, len) == 0) {
        tc_header_hash(&blk.hdr, &h);
        if (blk.hdr.height == last->height && tc_hash_eq(&h, &last->lock_value)) {
            tc_pubkey proposer = blk.hdr.proposer;
            tc_node_keep_candidate(n, &blk, (uint32_t)last->lock_round, &proposer);
            n->lock_saved = h;
            tc_log_info("node", "holding the locked block again", "height=%llu round=%d",
                        (unsigned long long)last->height, last->lock_round);
        }
        tc_block_release(&blk);
    }
    tc_file_free(raw, false);
}

/* Opens the sign log, takes back its lock's block, and decides the sign
 * hold (node/signhold.h) from the log's last height. */
int tc_node_open_signlog(tc_node *n, tc_signstate *last, tc_errmsg *e)
{
    char path[TC_CONFIG_PATH + 32];
    uint8_t rec[TC_SIGNSTATE_SIZE];
    bool have = false;
    snprintf(path, sizeof path, "%s/consensus.log", n->cfg.datadir);
    tc_signstate_init(last);
    int err = tc_signlog_open(&n->slog, path, TC_SIGNSTATE_SIZE, rec, &have);
    if (err)
        return tc_fail(e, err, "%s: %s", path, tc_strerror(err));
    if (have && tc_signstate_decode(last, rec, sizeof rec) != 0)
        return tc_fail(e, TC_ECORRUPT, "%s: last record does not decode", path);
    load_locked_block(n, last);
    if (!n->has_op_key)
        return 0;
    return tc_signhold_start(&n->hold, n->L, &n->op_key.pk, last->height, path,
                             strcmp(n->cfg.resume_signing, "now") == 0, n->io.wall_ms(n->io.ctx),
                             n->g.net->max_block_drift_ms, (uint32_t)n->cfg.double_sign_check_height, e);
}

void tc_node_driver_open(tc_node *n, const tc_signstate *last)
{
    tc_core_config cc = {.chain_id = n->g.chain_id,
                         .timing = tc_node_timing(n),
                         .self = n->has_op_key ? n->op_key.pk : (tc_pubkey){{0}},
                         .iface = {n, n->has_op_key ? core_sign : NULL, core_get_value},
                         .cache = n->cache,
                         .last_signed = *last};
    n->core = tc_core_new(&cc);
    for (size_t i = 0; i < MAX_TIMERS; i++) {
        n->timers[i].n = n;
        n->timers[i].ev = n->io.timer_new(n->io.ctx, on_timer, &n->timers[i]);
    }
    n->next_height_ev = n->io.timer_new(n->io.ctx, on_next_height, n);
    n->fetch.ev = n->io.timer_new(n->io.ctx, on_fetch_timer, n);
}

void tc_node_driver_close(tc_node *n)
{
    for (size_t i = 0; i < MAX_TIMERS; i++)
        if (n->timers[i].ev)
            n->io.timer_free(n->io.ctx, n->timers[i].ev);
    if (n->next_height_ev)
        n->io.timer_free(n->io.ctx, n->next_height_ev);
    tc_core_free(n->core);
    tc_cands_free(n->cands);
    tc_cert_release(&n->fetch.cert);
    if (n->fetch.ev)
        n->io.timer_free(n->io.ctx, n->fetch.ev);
    tc_cert_release(&n->last_commit);
    tc_valset_release(&n->vs);
}
