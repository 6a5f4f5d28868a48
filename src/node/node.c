#include "node/node.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "chain/genesis.h"
#include "consensus/core.h"
#include "crypto/sigcache.h"
#include "mempool/mempool.h"
#include "net/banlist.h"
#include "net/p2p.h"
#include "net/route.h"
#include "node/candidates.h"
#include "node/datadir.h"
#include "node/nodemetrics.h"
#include "node/reload.h"
#include "node/signhold.h"
#include "node/noderpc.h"
#include "node/txdurable.h"
#include "node/peerstore.h"
#include "node/sync.h"
#include "rpc/rpc.h"
#include "store/chainstore.h"
#include "store/diskguard.h"
#include "store/ledger.h"
#include "store/signlog.h"
#include "store/verify.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/hex.h"
#include "util/hmap.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/pool.h"

#define MAX_TIMERS 64         /* consensus timeouts in flight */
#define BLOCK_MAX_TXS 5000    /* mempool transactions offered to one block */
#define SIGCACHE_ENTRIES (1u << 18)
#define HEARTBEAT_SKEW_MS (10 * 60 * 1000) /* heartbeats dated further off are ignored */
#define HEARTBEAT_MIN_GAP_MS 1000          /* a newer heartbeat of a key counts (and is relayed) only this much later */

/* What the node knows of a masternode's liveness from its heartbeats. */
typedef struct {
    uint64_t time_ms; /* the heartbeat's own timestamp */
    uint64_t seen_ms; /* when we received it (wall) */
    uint64_t height;
    char addr[TC_MAX_NETADDR + 1];
} liveness;

typedef struct {
    struct tc_node *n;
    struct event *ev;
    bool armed;
    uint64_t height;
    uint32_t round;
    enum tc_timeout_kind kind;
} timer;

struct tc_node {
    tc_config cfg;
    tc_genesis g;
    struct event_base *base;
    struct event *sigint, *sigterm, *sighup, *tick;
    tc_datadir *dd;
    tc_keypair node_key, op_key;
    bool has_op_key;
    tc_sigcache *cache;
    tc_pool *pool;
    tc_ledger *L;
    tc_mempool *mp;
    tc_txdurable *txd; /* pending transactions on disk, the relay drain */
    tc_p2p *p2p;
    tc_core *core;
    tc_signlog *slog;
    tc_signhold hold; /* signing paused: the sign log is behind the chain */
    tc_hash lock_saved; /* the locked block last written to consensus.lock */
    tc_rpc *rpc;
    tc_noderpc rpc_ctx;
    tc_netstore netstore; /* bans and address book in <datadir>/peers */
    tc_nodemetrics *metrics;
    uint64_t height_started_ms; /* monotonic: when the current height started */
    tc_cands *cands;              /* authenticated proposed blocks (candidates.h) */
    struct {                      /* a decided block this node does not hold */
        bool active;
        uint64_t height;
        tc_hash hash;
        tc_cert cert;
        uint32_t asks;
        struct event *ev;         /* asks again until it is applied */
    } fetch;
    timer timers[MAX_TIMERS];
    tc_cert last_commit; /* certificate of the tip, for the next proposal */
    uint64_t committed_ms;        /* when the tip was committed (monotonic) */
    tc_valset vs;                 /* validator set of the current height */
    tc_proposal prop;             /* latest proposal seen at the current height */
    bool have_prop;
    uint64_t stuck_height;        /* consensus position at the last tick */
    uint32_t stuck_round;
    int stuck_step, stuck_ticks;
    tc_hash mesh_for;             /* validator-set hash the mesh was built for */
    tc_hmap *seen;                /* operator key -> liveness */
    struct event *heartbeat_ev;
    struct event *next_height_ev; /* paces heights to the block interval */
    tc_sync *sync;
    struct event *sync_ev;        /* the sync's timer */
    int sync_fd;                  /* eventfd: the sync's verifier threads wake the loop */
    struct event *sync_notify_ev; /* reads sync_fd */
    int exit_code;
};

/* ---- candidates ------------------------------------------------------------- */

static const tc_cand *find_candidate(tc_node *n, uint64_t height, const tc_hash *hash)
{
    return tc_cands_find(n->cands, height, hash);
}

/* What the candidate store must never evict at the current height: the
 * core's locked and valid values and a decided value being fetched. */
static void consensus_at(const tc_node *n, uint64_t height, tc_cands_at *at)
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
static const tc_cand *keep_candidate(tc_node *n, tc_block *blk, uint32_t round, const tc_pubkey *proposer)
{
    tc_cands_at at;
    uint64_t current = n->core ? tc_core_height(n->core) : 0;
    consensus_at(n, current ? current : blk->hdr.height, &at); /* before the first height: the restored lock's */
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
static tc_consensus_params timing(const tc_node *n)
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


static void drain(tc_node *n);
static int save_locked_block(tc_node *n, const tc_signstate *s);

static void stop_fatal(tc_node *n, const char *why)
{
    tc_log_error("node", "stopping", "reason=%s", why);
    n->exit_code = 2;
    event_base_loopexit(n->base, NULL);
}

static int core_sign(void *ctx, const tc_hash *msg, tc_sig *sig)
{
    tc_node *n = ctx;
    if (!n->has_op_key || n->hold.held)
        return TC_ESTATE;
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
    int err = tc_ledger_build_block(n->L, txs, k, tc_clock_wall_ms(), &n->op_key.pk, &n->last_commit, &blk, &skipped,
                                    &e);
    free(txs);
    if (err) {
        tc_log_error("node", "cannot build a block", "height=%llu err=%s hint=%s", (unsigned long long)height, e.msg,
                     "this node skips its turn (prevotes nil); check the store error above (disk, permissions)");
        return err;
    }
    const tc_cand *c = keep_candidate(n, &blk, round, &n->op_key.pk);
    if (c == NULL)
        return TC_ELIMIT; /* cannot happen: our round is the highest */
    *value = c->hash;
    tc_log_debug("node", "proposing", "height=%llu round=%u txs=%zu skipped=%zu", (unsigned long long)height, round,
                 c->blk.n_tx - 1, skipped);
    return 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    timer *t = arg;
    t->armed = false;
    tc_core_on_timeout(t->n->core, t->height, t->round, t->kind);
    drain(t->n);
}

static void schedule_timeout(tc_node *n, uint64_t height, uint32_t round, enum tc_timeout_kind kind, uint32_t ms)
{
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
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(t->ev, &tv);
}

static void push_encoded(tc_node *n, tc_msg *m, enum tc_hash_domain domain, const uint8_t *p, size_t len)
{
    tc_hash h;
    tc_hash_once(domain, p, len, &h);
    tc_p2p_push(n->p2p, m, &h, 0);
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
    push_encoded(n, &m, TC_H_VOTE, b.p, b.len);
    tc_buf_release(&b);
}

static void remember_proposal(tc_node *n, const tc_proposal *p)
{
    if (!n->have_prop || p->round >= n->prop.round) {
        n->prop = *p;
        n->have_prop = true;
    }
}

static void broadcast_proposal(tc_node *n, const tc_proposal *p)
{
    remember_proposal(n, p);
    const tc_cand *c = find_candidate(n, p->height, &p->block);
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
    push_encoded(n, &m, TC_H_PROPOSAL, b.p, b.len);
    tc_buf_release(&b);
}

static void answer_check(tc_node *n, uint64_t height, const tc_hash *value)
{
    const tc_cand *c = find_candidate(n, height, value);
    if (c == NULL)
        return; /* answered when the block arrives with its proposal */
    tc_errmsg e;
    int err = tc_ledger_check_block(n->L, &c->blk, tc_clock_wall_ms(), &e);
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

static void start_height(tc_node *n);
static void update_mesh(tc_node *n);
static void schedule_next_height(tc_node *n);

/* Applies the decided block blk (value at height, decided in round,
 * certified by cert). False if the node is stopping. */
static bool apply_decided(tc_node *n, const tc_block *blk, uint64_t height, uint32_t round, const tc_hash *value,
                          const tc_cert *cert)
{
    tc_errmsg e;
    uint64_t t0 = tc_clock_mono_ms();
    int err = tc_ledger_apply_block(n->L, blk, cert, &e);
    if (err) {
        /* A decided block that does not apply is a broken invariant or a full
         * disk: stop rather than run on. */
        tc_log_error("node", "cannot commit the decided block", "height=%llu err=%s hint=%s", (unsigned long long)height,
                     e.msg, "the node stops; free disk space or fix the store error above, then start it: it syncs");
        stop_fatal(n, "commit failed");
        return false;
    }
    tc_mempool_block_committed(n->mp, blk, tc_clock_wall_ms());
    tc_txdurable_block(n->txd);
    tc_signhold_on_commit(&n->hold, blk->hdr.height, blk->hdr.time_ms);
    uint64_t now = tc_clock_mono_ms();
    tc_nodemetrics_on_commit(n->metrics, blk, now - n->committed_ms, now - n->height_started_ms, round);
    n->committed_ms = now;
    char hex[65];
    tc_log_info("node", "block committed", "height=%llu round=%u hash=%s txs=%zu signers=%zu apply_ms=%llu",
                (unsigned long long)height, round, tc_hex_encode(hex, value->b, 32), blk->n_tx - 1, cert->n,
                (unsigned long long)(tc_clock_mono_ms() - t0));
    tc_hash hash = *value;
    tc_p2p_relay(n->p2p, TC_INV_BLOCK, &hash, 0);
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
    size_t k = tc_p2p_peers(n->p2p, &peers), asked = 0;
    tc_msg m;
    tc_msg_init(&m, TC_MSG_GETDATA);
    m.u.inv.type = TC_INV_BLOCK;
    m.u.inv.n = 1;
    m.u.inv.h = &n->fetch.hash; /* borrowed */
    for (size_t j = 0; j < k && asked < FETCH_PEERS; j++) {
        const tc_peer_info *pi = &peers[(j + n->fetch.asks * FETCH_PEERS) % k];
        if (pi->established && tc_p2p_send(n->p2p, pi->id, &m) == 0)
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
    struct timeval tv = {0, FETCH_RETRY_MS * 1000};
    evtimer_add(n->fetch.ev, &tv);
}

static void fetch_done(tc_node *n)
{
    n->fetch.active = false;
    tc_cert_release(&n->fetch.cert);
    evtimer_del(n->fetch.ev);
}

static void on_fetch_timer(evutil_socket_t fd, short what, void *arg)
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
static int on_block(tc_node *n, uint64_t peer, const tc_msg_block *mb)
{
    if (!n->fetch.active)
        return 0; /* nothing asked: not worth decoding */
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
    const tc_cand *c = find_candidate(n, height, value);
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

static void record_evidence(tc_node *n, const tc_vote *a, const tc_vote *b)
{
    tc_tx tx;
    tc_tx_init(&tx);
    tx.kind = TC_TX_EVIDENCE;
    tx.u.evidence.a = *a;
    tx.u.evidence.b = *b;
    tc_hash txid;
    tc_errmsg e;
    char hex[65];
    int err = tc_mempool_add(n->mp, &tx, tc_clock_wall_ms(), &txid, &e);
    tc_log_warn("node", "double sign seen", "validator=%s height=%llu round=%u evidence=%s hint=%s",
                tc_hex_encode(hex, a->validator.b, 32), (unsigned long long)a->height, a->round,
                err ? e.msg : "queued",
                "that operator key signs on two nodes (a copy of its data dir or key runs elsewhere, or a sign "
                "log was restored from an old backup): its operator must stop all but one; it is jailed");
    if (err == 0) {
        tc_txdurable_admitted(n->txd, &tx, true); /* logs a failure */
        tc_p2p_relay(n->p2p, TC_INV_TX, &txid, 0);
    }
    tc_tx_release(&tx);
}

#define TX_WAIT_POLL_MS 20

/* With block_interval_ms 0, a height starts as soon as a transaction waits,
 * or after empty_block_interval_ms without one. */
static bool ready_for_next_height(tc_node *n)
{
    if (timing(n).block_interval_ms > 0)
        return true;
    tc_mempool_stats st;
    tc_mempool_get_stats(n->mp, &st);
    return st.txs > 0 || tc_clock_mono_ms() - n->committed_ms >= n->cfg.empty_block_interval_ms;
}

static void on_next_height(evutil_socket_t fd, short what, void *arg)
{
    tc_node *n = arg;
    if (!ready_for_next_height(n)) {
        struct timeval poll = {0, TX_WAIT_POLL_MS * 1000};
        evtimer_add(n->next_height_ev, &poll);
        return;
    }
    start_height(n);
}

/* The next height starts block_interval_ms after the last commit (the core's
 * commit wait may already have used part of it). */
static void schedule_next_height(tc_node *n)
{
    uint64_t interval = timing(n).block_interval_ms, since = tc_clock_mono_ms() - n->committed_ms;
    uint64_t ms = since < interval ? interval - since : 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(n->next_height_ev, &tv);
}

static void drain(tc_node *n)
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
                stop_fatal(n, "cannot make the signed state durable (sign log)");
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
            answer_check(n, a.u.check.height, &a.u.check.value);
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
            record_evidence(n, &a.u.evidence.a, &a.u.evidence.b);
            break;
        }
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
        tc_p2p_set_mesh(n->p2p, w.addrs, w.count);
        n->mesh_for = h;
    }
    for (size_t i = 0; i < w.count; i++)
        free((char *)w.addrs[i]);
    free(w.addrs);
}

/* Starts consensus at tip + 1. */
static void start_height(tc_node *n)
{
    uint64_t h = tc_ledger_height(n->L) + 1;
    tc_valset vs;
    if (tc_ledger_valset(n->L, h, &vs) != 0) {
        stop_fatal(n, "no validator set for the next height");
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
    n->height_started_ms = tc_clock_mono_ms();
    tc_core_start_height(n->core, h, &vs, &n->last_commit);
    tc_valset_release(&vs);
    tc_cands_prune(n->cands, h, scheduled, n);
    drain(n);
}

/* ---- catch-up gossip ---------------------------------------------------------- */

/* A reply to a peer that may have gone in the meantime: nothing to do then. */
static void reply(tc_node *n, uint64_t peer, const tc_msg *m)
{
    if (tc_p2p_send(n->p2p, peer, m) != 0)
        tc_log_debug("p2p", "reply not sent", "peer=%llu type=%s", (unsigned long long)peer,
                     tc_msg_type_name(m->type));
}

static void send_or_broadcast(tc_node *n, uint64_t peer, const tc_msg *m)
{
    if (peer)
        reply(n, peer, m);
    else
        tc_p2p_broadcast(n->p2p, m, 0);
}

/* Consensus messages go out once; a peer that connected later, or a round
 * that stalls after restarts, needs them again. Sends the current round's
 * proposal and every vote held for it to `peer` (0: everyone). */
static void regossip(tc_node *n, uint64_t peer)
{
    uint64_t h = tc_core_height(n->core);
    uint32_t r = tc_core_round(n->core);
    if (h == 0 || tc_core_step(n->core) == TC_STEP_NEW)
        return;
    if (n->have_prop && n->prop.height == h && n->prop.round == r) {
        const tc_cand *c = find_candidate(n, h, &n->prop.block);
        tc_buf b;
        tc_msg m;
        tc_buf_init(&b);
        tc_proposal_encode(&n->prop, &b);
        tc_msg_init(&m, TC_MSG_PROPOSAL);
        m.u.proposal.proposal = (tc_bytes){b.p, b.len};
        if (c)
            m.u.proposal.block = (tc_bytes){c->raw.p, c->raw.len};
        send_or_broadcast(n, peer, &m);
        tc_buf_release(&b);
    }
    for (size_t i = 0; i < n->vs.n; i++) {
        for (uint8_t type = TC_VOTE_PREVOTE; type <= TC_VOTE_PRECOMMIT; type++) {
            const tc_vote *v = tc_core_vote(n->core, r, type, &n->vs.v[i].key);
            if (v == NULL)
                continue;
            tc_buf b;
            tc_msg m;
            tc_buf_init(&b);
            tc_vote_encode(v, &b);
            tc_msg_init(&m, TC_MSG_VOTE);
            m.u.vote = (tc_bytes){b.p, b.len};
            send_or_broadcast(n, peer, &m);
            tc_buf_release(&b);
        }
    }
}

/* ---- sync: what tc_sync asks of the node ----------------------------------- */

static uint64_t sync_now(void *ctx)
{
    return tc_clock_mono_ms();
}

static uint64_t sync_tip(void *ctx)
{
    tc_node *n = ctx;
    return tc_ledger_height(n->L);
}

static int sync_send(void *ctx, uint64_t peer, uint64_t from, uint32_t count)
{
    tc_node *n = ctx;
    tc_msg m;
    tc_msg_init(&m, TC_MSG_GETBLOCKS);
    m.u.getblocks.from = from;
    m.u.getblocks.count = count;
    return tc_p2p_send(n->p2p, peer, &m);
}

static int sync_apply(void *ctx, const tc_block *const *blks, const tc_cert *const *certs, size_t count,
                      size_t *applied, tc_errmsg *e)
{
    tc_node *n = ctx;
    int err = tc_ledger_apply_blocks(n->L, blks, certs, count, applied, e);
    if (err == TC_ESTORE_FULL) /* the store guard named it; waiting here would keep a validator half-alive */
        stop_fatal(n, "store: map or disk full");
    uint64_t now = tc_clock_wall_ms();
    for (size_t i = 0; i < *applied; i++) {
        tc_mempool_block_committed(n->mp, blks[i], now);
        tc_signhold_on_commit(&n->hold, blks[i]->hdr.height, blks[i]->hdr.time_ms);
    }
    tc_txdurable_block(n->txd);
    return err;
}

/* A peer other than the one being handled served an invalid block: the
 * same ban a violation returned from on_message gives, by node key. */
static void sync_ban(void *ctx, uint64_t peer, int err, const char *why)
{
    tc_node *n = ctx;
    tc_peer_info pi;
    char subject[TC_BAN_SUBJECT_MAX];
    if (tc_p2p_peer(n->p2p, peer, &pi) != 0)
        return; /* gone already */
    tc_ban_subject_key(subject, &pi.key);
    int rc = tc_p2p_setban(n->p2p, subject, 0, why);
    if (rc)
        tc_log_warn("p2p", "cannot ban peer", "peer=%llu err=%s", (unsigned long long)peer, tc_strerror(rc));
}

/* Back to consensus at the new tip. */
static void sync_rejoin(void *ctx)
{
    tc_node *n = ctx;
    tc_cert_release(&n->last_commit);
    tc_cert_init(&n->last_commit);
    start_height(n);
}

static void sync_wake(void *ctx, uint64_t ms)
{
    tc_node *n = ctx;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    if (!evtimer_pending(n->sync_ev, NULL)) /* a steady tick, not pushed back by every message */
        evtimer_add(n->sync_ev, &tv);
}

static void sync_verify(void *ctx, const tc_block *blk)
{
    tc_node *n = ctx;
    tc_ledger_verify_ahead(n->L, blk);
}

/* From a verifier thread: wake the loop (an eventfd write is thread-safe). */
static void sync_verified(void *ctx)
{
    tc_node *n = ctx;
    uint64_t one = 1;
    if (write(n->sync_fd, &one, sizeof one) < 0) {
        /* the counter is already set: the loop wakes anyway */
    }
}

static void on_sync_verified(evutil_socket_t fd, short what, void *arg)
{
    tc_node *n = arg;
    uint64_t count;
    if (read(fd, &count, sizeof count) < 0) {
        /* nothing pending: a spurious wake */
    }
    tc_sync_tick(n->sync);
}

static void on_sync_timer(evutil_socket_t fd, short what, void *arg)
{
    tc_node *n = arg;
    tc_sync_tick(n->sync);
}

/* Feeds the sync every established peer's reported height (version,
 * ping and pong carry it). */
static void sync_peer_heights(tc_node *n)
{
    tc_peer_info *peers;
    size_t k = tc_p2p_peers(n->p2p, &peers);
    for (size_t i = 0; i < k; i++)
        if (peers[i].established)
            tc_sync_on_height(n->sync, peers[i].id, peers[i].height);
    free(peers);
}

static int serve_getblocks(tc_node *n, uint64_t peer, const tc_msg_getblocks *g)
{
    tc_sync_reply r;
    tc_sync_serve(n->L, g, &r);
    reply(n, peer, &r.msg);
    tc_sync_reply_release(&r);
    return 0;
}

/* ---- P2P messages ----------------------------------------------------------- */


static int on_tx(tc_node *n, uint64_t peer, const tc_bytes *raw)
{
    tc_tx tx;
    if (tc_tx_decode(&tx, raw->p, raw->len) != 0)
        return TC_EBADVAL;
    tc_hash txid;
    tc_errmsg e;
    int err = tc_mempool_add(n->mp, &tx, tc_clock_wall_ms(), &txid, &e);
    if (err == 0)
        tc_txdurable_admitted(n->txd, &tx, false); /* durable within the group window; logs a failure */
    tc_tx_release(&tx);
    if (err == 0)
        tc_p2p_relay(n->p2p, TC_INV_TX, &txid, peer);
    else if (err != TC_EEXIST)
        tc_log_debug("mempool", "transaction refused", "reason=%s", e.msg);
    /* A peer may relay what our state no longer accepts: never a violation. */
    return 0;
}

static int on_inv(tc_node *n, uint64_t peer, const tc_msg_inv *inv)
{
    if (inv->type != TC_INV_TX)
        return 0; /* blocks arrive by sync, driven by heights */
    tc_msg req;
    tc_msg_init(&req, TC_MSG_GETDATA);
    req.u.inv.type = TC_INV_TX;
    req.u.inv.h = tc_xcalloc(inv->n, sizeof *req.u.inv.h);
    for (size_t i = 0; i < inv->n; i++)
        if (!tc_mempool_has(n->mp, &inv->h[i]))
            req.u.inv.h[req.u.inv.n++] = inv->h[i];
    if (req.u.inv.n)
        reply(n, peer, &req);
    free(req.u.inv.h);
    return 0;
}

#define BLOCK_ANSWERS_MAX 4            /* blocks sent for one getdata */
#define BLOCK_ANSWER_QUEUE (8u << 20)  /* no block answer while this much is queued for the peer */

/* getdata(block): a candidate (the block of a proposal, for a peer that
 * decided it without holding it) or a committed block with its certificate.
 * Bounded per message and by what the peer has not read yet. */
static void serve_blocks(tc_node *n, uint64_t peer, const tc_msg_inv *inv)
{
    tc_buf raw, cert;
    tc_buf_init(&raw);
    tc_buf_init(&cert);
    for (size_t i = 0; i < inv->n && i < BLOCK_ANSWERS_MAX; i++) {
        if (tc_p2p_queued(n->p2p, peer) > BLOCK_ANSWER_QUEUE)
            break;
        tc_msg m;
        tc_msg_init(&m, TC_MSG_BLOCK);
        const tc_cand *c = tc_cands_find_hash(n->cands, &inv->h[i]);
        uint64_t height;
        tc_buf_reset(&raw);
        tc_buf_reset(&cert);
        if (c) {
            m.u.block.block = (tc_bytes){c->raw.p, c->raw.len};
        } else if (tc_ledger_height_of(n->L, &inv->h[i], &height) == 0 &&
                   tc_ledger_get_raw(n->L, height, &raw, &cert) == 0) {
            m.u.block.block = (tc_bytes){raw.p, raw.len};
            m.u.block.cert = (tc_bytes){cert.p, cert.len};
        } else {
            continue; /* not ours to give */
        }
        reply(n, peer, &m);
    }
    tc_buf_release(&raw);
    tc_buf_release(&cert);
}

static int on_getdata(tc_node *n, uint64_t peer, const tc_msg_inv *inv)
{
    if (inv->type == TC_INV_BLOCK) {
        serve_blocks(n, peer, inv);
        return 0;
    }
    if (inv->type != TC_INV_TX)
        return 0;
    tc_txdurable_served(n->txd);
    for (size_t i = 0; i < inv->n; i++) {
        const tc_tx *tx = tc_mempool_get(n->mp, &inv->h[i]);
        if (tx == NULL)
            continue;
        tc_buf b;
        tc_msg m;
        tc_buf_init(&b);
        tc_tx_encode(tx, &b);
        tc_msg_init(&m, TC_MSG_TX);
        m.u.tx.p = b.p;
        m.u.tx.len = b.len;
        reply(n, peer, &m);
        tc_buf_release(&b);
    }
    return 0;
}

/* Notes that the network is past height - 1 when a peer talks consensus at a
 * height beyond the next one; a certificate-verified sync follows. */
static void note_height(tc_node *n, uint64_t peer, uint64_t height)
{
    if (height > tc_ledger_height(n->L) + 1)
        tc_sync_on_height(n->sync, peer, height - 1);
}

/* Whether the key is a registered masternode in our state (jailed or not). */
static bool is_masternode(tc_node *n, const tc_pubkey *key)
{
    tc_view view;
    tc_mn m;
    if (tc_ledger_view_begin(n->L, &view) != 0)
        return true; /* cannot tell: give the benefit of the doubt */
    bool known = view.get_mn_by_operator(view.ctx, key, &m) == 0;
    tc_ledger_view_end(&view);
    return known;
}

/* Whether the core's refusal of a proposal proves the peer that sent it
 * dishonest (a ban). No honest node relays a proposal its own core refused,
 * and every honest node derives the same set and schedule for a height, so
 * at the current height a signer outside the set or off the schedule is a
 * violation, as is a bad signature. At the next height the set may gain
 * members that registered activation_delay blocks ago, so there only a key
 * that is no registered masternode at all is one. */
static int proposal_violation(tc_node *n, const tc_proposal *p, int rc)
{
    if (rc == TC_ESIG || rc == TC_ECONS_PROPOSER)
        return rc;
    if (rc != TC_ECONS_NOT_VALIDATOR)
        return 0;
    if (p->height == tc_core_height(n->core))
        return TC_ECONS_PROPOSER;
    if (n->g.cp.activation_delay < 2 || is_masternode(n, &p->proposer))
        return 0;
    return TC_ECONS_PROPOSER;
}

/* The block a proposal the core took carries: decoded, checked against the
 * hash the signer named, kept. TC_EBADVAL if it is not that block. */
static int keep_proposed_block(tc_node *n, const tc_proposal *p, const tc_bytes *raw)
{
    tc_block blk;
    if (tc_block_decode(&blk, raw->p, raw->len) != 0)
        return TC_EBADVAL;
    tc_hash bh;
    tc_header_hash(&blk.hdr, &bh);
    if (!tc_hash_eq(&bh, &p->block) || blk.hdr.height != p->height) {
        tc_block_release(&blk);
        return TC_EBADVAL; /* a proposal must carry the block it names */
    }
    int err = tc_block_check_body(&blk);
    if (err) {
        /* The signed header with another body: kept, it would stand for the
         * real block and make this node prevote nil on it. No honest node
         * relays it (each checks this before keeping and relaying). */
        char hex[65];
        tc_log_warn("node", "proposed block's body does not match its header; banning the peer",
                    "height=%llu round=%u block=%s reason=%s", (unsigned long long)p->height, p->round,
                    tc_hex_encode(hex, p->block.b, 32), tc_strerror(err));
        tc_block_release(&blk);
        return err;
    }
    if (keep_candidate(n, &blk, p->round, &p->proposer) == NULL)
        tc_log_debug("node", "proposed block not kept (store bounds)", "height=%llu round=%u",
                     (unsigned long long)p->height, p->round);
    return 0;
}

static void note_double_proposal(tc_node *n, uint64_t peer, const tc_proposal *p)
{
    char key[65], hash[65];
    tc_log_warn("node", "double proposal seen (equivocation); the second is ignored",
                "proposer=%s height=%llu round=%u block=%s peer=%llu", tc_hex_encode(key, p->proposer.b, 32),
                (unsigned long long)p->height, p->round, tc_hex_encode(hash, p->block.b, 32),
                (unsigned long long)peer);
}

/* Authenticate before storing: the core checks the height, the set, the
 * schedule and the signature first, and only a proposal it took (or holds
 * already) gets its block decoded and kept. Blocks of the next height's
 * proposals are kept too (the core buffers those while this node still waits
 * out the block interval); the store bounds them per signer. */
static int on_proposal(tc_node *n, uint64_t peer, const tc_msg_proposal *mp)
{
    tc_proposal p;
    if (tc_proposal_decode(&p, mp->proposal.p, mp->proposal.len) != 0)
        return TC_EBADVAL;
    note_height(n, peer, p.height);
    /* this key's proposal while held: someone else signs with it (or its
     * earlier run's last messages circulate); counted once verified, so
     * nobody without the key can keep the hold on */
    if (n->hold.held && tc_pubkey_eq(&p.proposer, &n->op_key.pk) && tc_proposal_verify(&p, n->g.chain_id) == 0)
        tc_signhold_sighting(&n->hold, "proposal", p.height, tc_clock_wall_ms());
    int rc = tc_core_on_proposal(n->core, &p);
    tc_nodemetrics_on_proposal(n->metrics, rc);
    int violation = proposal_violation(n, &p, rc);
    if (violation) {
        char key[65];
        tc_log_warn("node", "proposal from a key not scheduled to propose; banning the peer",
                    "peer=%llu signer=%s height=%llu round=%u reason=%s", (unsigned long long)peer,
                    tc_hex_encode(key, p.proposer.b, 32), (unsigned long long)p.height, p.round,
                    tc_strerror(violation));
        drain(n);
        return violation;
    }
    if (rc == TC_ECONS_EQUIVOCATION)
        note_double_proposal(n, peer, &p);
    bool taken = rc == 0 || rc == TC_ECONS_FUTURE || rc == TC_ECONS_DUP;
    bool fresh = false;
    tc_cands_at at;
    consensus_at(n, tc_core_height(n->core), &at);
    if (taken && mp->block.len > 0 && find_candidate(n, p.height, &p.block) == NULL &&
        tc_cands_room(n->cands, &at, p.height, &p.block, p.round, &p.proposer)) {
        int err = keep_proposed_block(n, &p, &mp->block);
        if (err) {
            drain(n);
            return err;
        }
        fresh = true;
    }
    if (rc == 0) {
        remember_proposal(n, &p);
        tc_msg fwd;
        tc_msg_init(&fwd, TC_MSG_PROPOSAL);
        fwd.u.proposal = *mp;
        /* Relay the body we hold (checked against its header when kept),
         * never the bytes this peer sent: a new-round proposal of a block we
         * already have carries a body nobody here checked, and peers ban a
         * relayer whose body does not match. Not held (store bounds): none. */
        const tc_cand *held = find_candidate(n, p.height, &p.block);
        fwd.u.proposal.block = held ? (tc_bytes){held->raw.p, held->raw.len} : (tc_bytes){NULL, 0};
        push_encoded(n, &fwd, TC_H_PROPOSAL, mp->proposal.p, mp->proposal.len);
    } else if (fresh && rc == TC_ECONS_DUP && p.height == tc_core_height(n->core)) {
        answer_check(n, p.height, &p.block); /* the core asked before the block came */
    }
    drain(n); /* a check the core asked for now finds the block */
    return 0;
}

static int on_vote(tc_node *n, uint64_t peer, const tc_bytes *raw)
{
    tc_vote v;
    if (tc_vote_decode(&v, raw->p, raw->len) != 0)
        return TC_EBADVAL;
    note_height(n, peer, v.height);
    if (n->hold.held && tc_pubkey_eq(&v.validator, &n->op_key.pk) && tc_vote_verify(&v, n->g.chain_id) == 0)
        tc_signhold_sighting(&n->hold, "vote", v.height, tc_clock_wall_ms()); /* as for proposals */
    int rc = tc_core_on_vote(n->core, &v);
    tc_nodemetrics_on_vote(n->metrics, v.type, rc);
    if (rc == 0 || rc == TC_ECONS_CONFLICT) {
        tc_msg fwd;
        tc_msg_init(&fwd, TC_MSG_VOTE);
        fwd.u.vote = *raw;
        push_encoded(n, &fwd, TC_H_VOTE, raw->p, raw->len);
    }
    drain(n);
    /* A vote for a height we are not at is what an out-of-sync peer sends:
     * never punished; a future one started a sync through note_height. */
    return rc == TC_ESIG ? rc : 0;
}

/* Signed liveness from a registered masternode: tracked, and relayed once
 * when newer than what we had. */
static int on_heartbeat(tc_node *n, uint64_t peer, const tc_msg_heartbeat *hb)
{
    if (tc_msg_heartbeat_verify(hb, n->g.chain_id) != 0)
        return TC_ESIG;
    uint64_t now = tc_clock_wall_ms();
    uint64_t off = hb->time_ms > now ? hb->time_ms - now : now - hb->time_ms; /* no wrap, either clock at a limit */
    if (off > HEARTBEAT_SKEW_MS)
        return 0; /* stale or clock-skewed: not proof of anything now */
    liveness *l = tc_hmap_get(n->seen, hb->key.b);
    if (l && hb->time_ms < l->time_ms + HEARTBEAT_MIN_GAP_MS)
        return 0; /* not newer by enough: a masternode cannot make the network relay a flood */
    if (!is_masternode(n, &hb->key))
        return 0; /* not registered in our state (yet): ignore, never punish */
    if (l == NULL) {
        l = tc_xcalloc(1, sizeof *l);
        tc_hmap_put(n->seen, hb->key.b, l);
    }
    l->time_ms = hb->time_ms;
    l->seen_ms = now;
    l->height = hb->height;
    snprintf(l->addr, sizeof l->addr, "%s", hb->addr.s);
    char hex[65];
    tc_log_debug("node", "heartbeat", "operator=%s height=%llu addr=%s", tc_hex_encode(hex, hb->key.b, 32),
                 (unsigned long long)hb->height, l->addr);
    tc_msg fwd;
    tc_msg_init(&fwd, TC_MSG_HEARTBEAT);
    fwd.u.heartbeat = *hb;
    tc_hash id;
    tc_msg_heartbeat_sign_bytes(hb, n->g.chain_id, &id);
    tc_p2p_push(n->p2p, &fwd, &id, peer);
    return 0;
}

static int on_message(void *ctx, uint64_t peer, const tc_msg *m)
{
    tc_node *n = ctx;
    switch (m->type) {
    case TC_MSG_TX:
        return on_tx(n, peer, &m->u.tx);
    case TC_MSG_INV:
        return on_inv(n, peer, &m->u.inv);
    case TC_MSG_GETDATA:
        return on_getdata(n, peer, &m->u.inv);
    case TC_MSG_PROPOSAL:
        return on_proposal(n, peer, &m->u.proposal);
    case TC_MSG_VOTE:
        return on_vote(n, peer, &m->u.vote);
    case TC_MSG_GETBLOCKS:
        return serve_getblocks(n, peer, &m->u.getblocks);
    case TC_MSG_BLOCKS:
        return tc_sync_on_blocks(n->sync, peer, &m->u.blocks);
    case TC_MSG_BLOCK:
        return on_block(n, peer, &m->u.block);
    case TC_MSG_HEARTBEAT:
        return on_heartbeat(n, peer, &m->u.heartbeat);
    default:
        return 0;
    }
}

static uint64_t best_height(void *ctx)
{
    tc_node *n = ctx;
    return tc_ledger_height(n->L);
}

static void on_peer(void *ctx, uint64_t peer, bool up)
{
    tc_node *n = ctx;
    tc_peer_info pi;
    if (!up) {
        tc_sync_on_peer_down(n->sync, peer);
    } else {
        if (tc_p2p_peer(n->p2p, peer, &pi) == 0)
            tc_sync_on_height(n->sync, peer, pi.height);
        regossip(n, peer);
        tc_txdurable_announce(n->txd, n->p2p);
    }
}

/* ---- lifecycle ------------------------------------------------------------- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    tc_node *n = arg;
    tc_log_info("node", "shutting down", "signal=%d", (int)sig);
    tc_txdurable_drain(n->txd, n->p2p); /* what we admitted reaches the peers first */
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    tc_node *n = arg;
    (void)tc_reload_run(&n->cfg); /* logs what it did or why not */
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    tc_node *n = arg;
    sync_peer_heights(n);
    uint64_t h = tc_core_height(n->core);
    uint32_t r = tc_core_round(n->core);
    int step = (int)tc_core_step(n->core);
    if (h == n->stuck_height && r == n->stuck_round && step == n->stuck_step) {
        if (++n->stuck_ticks >= 2) {
            regossip(n, 0);
            n->stuck_ticks = 0;
        }
    } else {
        n->stuck_height = h;
        n->stuck_round = r;
        n->stuck_step = step;
        n->stuck_ticks = 0;
    }
}

static void on_heartbeat_timer(evutil_socket_t fd, short what, void *arg)
{
    tc_node *n = arg;
    if (!n->has_op_key)
        return;
    tc_msg m;
    tc_msg_init(&m, TC_MSG_HEARTBEAT);
    tc_msg_heartbeat *hb = &m.u.heartbeat;
    hb->key = n->op_key.pk;
    hb->height = tc_ledger_height(n->L);
    hb->time_ms = tc_clock_wall_ms();
    const char *adv = tc_config_advertise(&n->cfg); /* never a wildcard */
    if (adv == NULL || tc_netaddr_set(&hb->addr, adv) != 0)
        return;
    tc_msg_heartbeat_sign(hb, n->g.chain_id, &n->op_key);
    tc_hash id;
    tc_msg_heartbeat_sign_bytes(hb, n->g.chain_id, &id);
    tc_p2p_push(n->p2p, &m, &id, 0);
}

static void free_liveness(void *ctx, const void *key, void *value)
{
    free(value);
}

static int open_keys(tc_node *n, tc_errmsg *e)
{
    char path[TC_CONFIG_PATH + 32];
    snprintf(path, sizeof path, "%s/%s", n->cfg.datadir, TC_NODE_KEY_FILE);
    int err = tc_keyfile_load(path, true, &n->node_key, e);
    if (err)
        return err;
    err = tc_keyfile_load(n->cfg.operator_key, false, &n->op_key, e);
    if (err == TC_ENOTFOUND && n->cfg.operator_key_given)
        return tc_fail(e, TC_ECONFIG,
                       "operator-key %s: no such file (hint: restore the validator's key file there, or remove the "
                       "operator-key line to run as a follower)",
                       n->cfg.operator_key);
    if (err == TC_ENOTFOUND) {
        tc_log_info("node", "no operator key: running as a follower (never signs)", "operator_key=%s",
                    n->cfg.operator_key);
        return 0;
    }
    if (err)
        return err;
    n->has_op_key = true;
    return 0;
}

/* A key that is neither in the next height's set nor a registered
 * masternode signs nothing: say so at start instead of following silently. */
static void check_operator_key(tc_node *n)
{
    tc_valset vs;
    if (!n->has_op_key || tc_ledger_valset(n->L, tc_ledger_height(n->L) + 1, &vs) != 0)
        return;
    bool in_set = tc_valset_find(&vs, &n->op_key.pk) >= 0;
    tc_valset_release(&vs);
    if (in_set)
        return;
    char hex[65];
    tc_hex_encode(hex, n->op_key.pk.b, 32);
    if (is_masternode(n, &n->op_key.pk))
        tc_log_info("node", "operator key is registered but not in the validator set now", "operator=%s hint=%s", hex,
                    "it signs once activated and unjailed: see time-cli masternode list");
    else
        tc_log_warn("node", "operator key is not a registered masternode: this node will not sign",
                    "operator=%s operator_key=%s hint=%s", hex, n->cfg.operator_key,
                    "register it (time-cli masternode register), or check operator-key names the right file");
}

/* The block of a lock, kept in <datadir>/consensus.lock before the sign log
 * records the lock: after a restart the node still holds it and can propose
 * it again. Without it, validators restarted together while some were locked
 * on a block nobody held any more never formed a polka again (bench/devnet). */
static int save_locked_block(tc_node *n, const tc_signstate *s)
{
    if (s->lock_round < 0 || tc_hash_eq(&s->lock_value, &n->lock_saved))
        return 0;
    const tc_cand *c = find_candidate(n, s->height, &s->lock_value);
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
            keep_candidate(n, &blk, (uint32_t)last->lock_round, &proposer);
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
static int open_signlog(tc_node *n, tc_signstate *last, tc_errmsg *e)
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
                             strcmp(n->cfg.resume_signing, "now") == 0, tc_clock_wall_ms(),
                             n->g.net->max_block_drift_ms, e);
}

static int open_p2p(tc_node *n, tc_errmsg *e)
{
    tc_p2p_config pc;
    tc_p2p_config_default(&pc);
    pc.node_key = &n->node_key;
    memcpy(pc.magic, n->g.net->magic, 4);
    pc.chain_id = n->g.chain_id;
    pc.genesis = *tc_ledger_genesis_hash(n->L);
    pc.datadir = n->cfg.datadir;
    pc.listen = n->cfg.listen;
    pc.advertise = tc_config_advertise(&n->cfg);
    _Static_assert(TC_CONFIG_MAX_PEERS <= TC_ROUTE_MAX, "every peer-address entry fits the route table");
    const char *routes[TC_CONFIG_MAX_PEERS];
    for (size_t i = 0; i < n->cfg.n_peer_address; i++)
        routes[i] = n->cfg.peer_address[i];
    pc.routes = routes;
    pc.n_routes = n->cfg.n_peer_address;
    pc.max_inbound = (uint32_t)n->cfg.max_inbound;
    pc.outbound_target = (uint32_t)n->cfg.max_outbound;
    pc.inbound_per_minute = (uint32_t)n->cfg.inbound_per_minute;
    pc.inbound_per_group = (uint32_t)n->cfg.inbound_per_minute_per_group;
    pc.idle_timeout_ms = (uint32_t)(n->cfg.peer_timeout_s * 1000);
    pc.ban_ms = n->cfg.ban_time_s * 1000;
    pc.rates[TC_MC_REQUEST].rate = (uint32_t)n->cfg.request_rate;
    pc.rates[TC_MC_REQUEST].burst = (uint32_t)n->cfg.request_burst;
    tc_legacy_bans legacy = tc_chainstore_legacy_bans(n->L); /* bans older versions kept in the chain store */
    int perr = tc_peerstore_open(&n->netstore, n->cfg.datadir, &legacy, e); /* <datadir>/peers */
    if (perr)
        return perr;
    pc.store = &n->netstore;
    pc.ctx = n;
    pc.best_height = best_height;
    pc.on_message = on_message;
    pc.on_peer = on_peer;
    int err = 0;
    n->p2p = tc_p2p_new(n->base, &pc, &err);
    if (n->p2p == NULL)
        return tc_fail(e, err, "P2P on %s: %s", n->cfg.listen, tc_strerror(err));
    for (size_t i = 0; i < n->cfg.n_connect; i++)
        if ((err = tc_p2p_add_address(n->p2p, n->cfg.connect[i], TC_ADDR_CONNECT)) != 0 ||
            (err = tc_p2p_connect(n->p2p, n->cfg.connect[i])) != 0)
            tc_log_warn("p2p", "cannot connect yet; will retry", "addr=%s err=%s hint=%s", n->cfg.connect[i],
                        tc_strerror(err),
                        err == TC_ELIMIT ? "no descriptor or link slot left for it: raise ulimit -n "
                                           "(LimitNOFILE=) if the descriptor limit is low"
                                         : "the next try is automatic; check the address is right");
    for (size_t i = 0; i < n->cfg.n_addnode; i++)
        if (tc_p2p_add_address(n->p2p, n->cfg.addnode[i], TC_ADDR_CONNECT) != 0)
            tc_log_warn("p2p", "address not added", "addr=%s", n->cfg.addnode[i]);
    for (size_t i = 0; i < n->cfg.n_seednode; i++)
        if (tc_p2p_add_address(n->p2p, n->cfg.seednode[i], TC_ADDR_SEED) != 0)
            tc_log_warn("p2p", "address not added", "addr=%s", n->cfg.seednode[i]);
    return 0;
}

static int open_rpc(tc_node *n, tc_errmsg *e)
{
    tc_rpc_opts ro = {.cookie_dir = n->cfg.datadir,
                      .max_connections = (unsigned)n->cfg.rpc_max_connections};
    if (n->cfg.rpcuser[0]) {
        ro.user = n->cfg.rpcuser;
        ro.password = n->cfg.rpcpassword;
    }
    int err = 0;
    n->rpc = tc_rpc_new(n->base, n->cfg.rpc_listen, &ro, &err);
    if (n->rpc == NULL)
        return tc_fail(e, err, "RPC on %s: %s", n->cfg.rpc_listen, tc_strerror(err));
    n->rpc_ctx = (tc_noderpc){n->L, n->mp, n->p2p, n->core, &n->g, n->base, tc_clock_wall_ms(),
                              n->has_op_key ? &n->op_key.pk : NULL, &n->hold, n->txd};
    if ((err = tc_noderpc_register(n->rpc, &n->rpc_ctx)))
        return tc_fail(e, err, "RPC methods: %s", tc_strerror(err));
    return 0;
}

static void node_status(void *arg, tc_node_status *out)
{
    tc_node *n = arg;
    tc_consensus_params cp = timing(n);
    uint64_t wait = cp.block_interval_ms ? cp.block_interval_ms : n->cfg.empty_block_interval_ms;
    out->last_commit_age_ms = tc_clock_mono_ms() - n->committed_ms;
    out->health_limit_ms = 3 * wait + cp.propose_timeout_ms + cp.prevote_timeout_ms + cp.precommit_timeout_ms;
    out->sync_target = tc_sync_target(n->sync);
    out->syncing = out->sync_target > tc_ledger_height(n->L);
    out->validator = n->has_op_key && tc_valset_find(&n->vs, &n->op_key.pk) >= 0;
}

/* For the status page: when the operator key was last heard from. */
static bool node_heartbeat(void *arg, const tc_pubkey *key, uint64_t *age_ms, bool *self)
{
    tc_node *n = arg;
    const liveness *l = tc_hmap_get(n->seen, key->b);
    uint64_t now = tc_clock_wall_ms();
    *self = n->has_op_key && memcmp(key->b, n->op_key.pk.b, 32) == 0;
    *age_ms = l && now > l->seen_ms ? now - l->seen_ms : 0;
    return l != NULL;
}

static int open_metrics(tc_node *n, tc_errmsg *e)
{
    tc_nodemetrics_ctx mc = {n->L, n->mp, n->p2p, n->core, n->cache, n, node_status, node_heartbeat,
                             (unsigned)n->cfg.metrics_max_connections};
    int err = 0;
    n->metrics = tc_nodemetrics_new(n->base, n->cfg.metrics_listen, &mc, &err);
    if (n->metrics == NULL)
        return tc_fail(e, err, "metrics on %s: %s", n->cfg.metrics_listen, tc_strerror(err));
    return 0;
}

int tc_node_new(tc_node **out, const tc_config *cfg, tc_errmsg *e)
{
    *out = NULL;
    tc_node *n = tc_xcalloc(1, sizeof *n);
    n->cfg = *cfg;
    n->sync_fd = -1;
    tc_cert_init(&n->last_commit);
    tc_cert_init(&n->fetch.cert);
    tc_valset_init(&n->vs);
    n->cands = tc_cands_new();
    int err;
    if ((err = tc_crypto_init())) {
        tc_fail(e, err, "libsodium failed to initialise");
        goto fail;
    }
    if ((err = tc_datadir_open(&n->dd, cfg->datadir, e)))
        goto fail;
    if (access(cfg->genesis, F_OK) != 0) { /* the first start on a fresh machine: say what to do */
        err = tc_fail(e, TC_ECONFIG, "%s: no genesis document; a devnet's comes from `time-cli devnet init` "
                      "(then --config DIR/node0/time.conf), any network's can be named with --genesis FILE",
                      cfg->genesis);
        goto fail;
    }
    if ((err = tc_genesis_load(&n->g, cfg->genesis, e)))
        goto fail;
    if (n->g.net != cfg->net) {
        err = tc_fail(e, TC_ECONFIG, "%s is a %s genesis but the node runs %s", cfg->genesis, n->g.net->name,
                      cfg->net->name);
        goto fail;
    }
    if ((err = open_keys(n, e)))
        goto fail;
    n->cache = tc_sigcache_new(SIGCACHE_ENTRIES);
    n->pool = tc_pool_new(0);
    tc_ledger_opts lo = {cfg->store_map_mb << 20, n->cache, n->pool};
    char store[TC_CONFIG_PATH + 16];
    snprintf(store, sizeof store, "%s/chain", cfg->datadir);
    if ((err = tc_diskguard_check_start(cfg->datadir, e)) || (err = tc_verify_open(&n->L, store, &n->g, &lo, e)))
        goto fail;
    tc_mempool_opts mo = {cfg->mempool_max_txs, cfg->mempool_max_mb * 1000 * 1000,
                          cfg->mempool_expiry_h * 3600 * 1000};
    n->mp = tc_mempool_new(tc_chainstore_view(n->L), &mo);
    tc_signstate last;
    if ((err = open_signlog(n, &last, e)))
        goto fail;
    check_operator_key(n);
    n->base = event_base_new();
    if (n->base == NULL) {
        err = tc_fail(e, TC_EIO, "cannot create the event loop");
        goto fail;
    }
    n->sync_ev = evtimer_new(n->base, on_sync_timer, n);
    n->sync_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (n->sync_fd >= 0) {
        n->sync_notify_ev = event_new(n->base, n->sync_fd, EV_READ | EV_PERSIST, on_sync_verified, n);
        event_add(n->sync_notify_ev, NULL);
    }
    tc_sync_iface si = {n,         sync_now,   sync_tip,    sync_send,
                        sync_apply, sync_ban,  sync_rejoin, sync_wake,
                        sync_verify, n->sync_fd >= 0 ? sync_verified : NULL};
    n->sync = tc_sync_new(&si);
    if ((err = tc_txdurable_open(&n->txd, n->base, cfg->datadir, cfg->mempool_persist != 0, n->mp, e)))
        goto fail;
    if ((err = open_p2p(n, e)))
        goto fail;
    tc_core_config cc = {.chain_id = n->g.chain_id,
                         .timing = timing(n),
                         .self = n->has_op_key ? n->op_key.pk : (tc_pubkey){{0}},
                         .iface = {n, n->has_op_key ? core_sign : NULL, core_get_value},
                         .cache = n->cache,
                         .last_signed = last};
    n->core = tc_core_new(&cc);
    if ((err = open_rpc(n, e)) || (err = open_metrics(n, e)))
        goto fail;
    n->committed_ms = tc_clock_mono_ms(); /* health counts from the start */
    for (size_t i = 0; i < MAX_TIMERS; i++) {
        n->timers[i].n = n;
        n->timers[i].ev = evtimer_new(n->base, on_timer, &n->timers[i]);
    }
    n->sigint = evsignal_new(n->base, SIGINT, on_signal, n);
    n->sigterm = evsignal_new(n->base, SIGTERM, on_signal, n);
    n->sighup = evsignal_new(n->base, SIGHUP, on_sighup, n);
    n->tick = event_new(n->base, -1, EV_PERSIST, on_tick, n);
    n->next_height_ev = evtimer_new(n->base, on_next_height, n);
    n->fetch.ev = evtimer_new(n->base, on_fetch_timer, n);
    n->seen = tc_hmap_new(32);
    n->heartbeat_ev = event_new(n->base, -1, EV_PERSIST, on_heartbeat_timer, n);
    struct timeval hb_every = {(time_t)cfg->heartbeat_interval_s, 0};
    event_add(n->heartbeat_ev, &hb_every);
    struct timeval second = {1, 0};
    evsignal_add(n->sigint, NULL);
    evsignal_add(n->sigterm, NULL);
    evsignal_add(n->sighup, NULL);
    event_add(n->tick, &second);
    char hex[65];
    tc_log_info("node", "started", "network=%s datadir=%s height=%llu validator_key=%s p2p=%s",
                n->g.net->name, cfg->datadir, (unsigned long long)tc_ledger_height(n->L),
                n->has_op_key ? tc_hex_encode(hex, n->op_key.pk.b, 32) : "none", cfg->listen);
    *out = n;
    return 0;
fail:
    tc_node_free(n);
    return err;
}

int tc_node_run(tc_node *n)
{
    start_height(n);
    event_base_dispatch(n->base);
    tc_log_info("node", "stopped", "height=%llu", (unsigned long long)tc_ledger_height(n->L));
    return n->exit_code;
}

void tc_node_free(tc_node *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < MAX_TIMERS; i++)
        if (n->timers[i].ev)
            event_free(n->timers[i].ev);
    if (n->sigint)
        event_free(n->sigint);
    if (n->sigterm)
        event_free(n->sigterm);
    if (n->sighup)
        event_free(n->sighup);
    if (n->tick)
        event_free(n->tick);
    if (n->next_height_ev)
        event_free(n->next_height_ev);
    if (n->sync_ev)
        event_free(n->sync_ev);
    if (n->heartbeat_ev)
        event_free(n->heartbeat_ev);
    if (n->seen) {
        tc_hmap_each(n->seen, free_liveness, NULL);
        tc_hmap_free(n->seen);
    }
    tc_nodemetrics_free(n->metrics);
    tc_rpc_free(n->rpc); /* removes the cookie */
    tc_p2p_free(n->p2p);
    tc_peerstore_close(&n->netstore); /* after the P2P endpoint's last flush */
    tc_core_free(n->core);
    tc_sync_free(n->sync); /* joins the verifier threads before their eventfd goes */
    if (n->sync_notify_ev)
        event_free(n->sync_notify_ev);
    if (n->sync_fd >= 0)
        close(n->sync_fd);
    tc_cands_free(n->cands);
    tc_cert_release(&n->fetch.cert);
    if (n->fetch.ev)
        event_free(n->fetch.ev);
    tc_cert_release(&n->last_commit);
    tc_valset_release(&n->vs);
    tc_txdurable_close(n->txd); /* the journal rewritten from the pool */
    tc_mempool_free(n->mp);
    tc_signlog_close(n->slog);
    tc_ledger_close(n->L); /* the store closes last: every commit is already durable */
    tc_pool_free(n->pool);
    tc_sigcache_free(n->cache);
    if (n->base)
        event_base_free(n->base);
    tc_genesis_release(&n->g);
    tc_keypair_wipe(&n->node_key);
    tc_keypair_wipe(&n->op_key);
    tc_datadir_close(n->dd);
    free(n);
}
