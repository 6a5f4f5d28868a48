/* P2P message handlers (node_impl.h): transactions, inventory, block
 * requests, proposals and votes (authenticated before anything is kept),
 * heartbeats; and the regossip that repeats a round's messages to peers that
 * missed them. A handler returns a protocol error only for what proves the
 * peer dishonest: the P2P layer bans for it. */
#include "node/node_impl.h"

#include <stdio.h>
#include <string.h>

#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- catch-up gossip ---------------------------------------------------------- */

/* A reply to a peer that may have gone in the meantime: nothing to do then. */
static void reply(tc_node *n, uint64_t peer, const tc_msg *m)
{
    if (n->io.send(n->io.ctx, peer, m) != 0)
        tc_log_debug("p2p", "reply not sent", "peer=%llu type=%s", (unsigned long long)peer,
                     tc_msg_type_name(m->type));
}

static void send_or_broadcast(tc_node *n, uint64_t peer, const tc_msg *m)
{
    if (peer)
        reply(n, peer, m);
    else
        n->io.broadcast(n->io.ctx, m, 0);
}

/* Consensus messages go out once; a peer that connected later, or a round
 * that stalls after restarts, needs them again. Sends the current round's
 * proposal and every vote held for it to `peer` (0: everyone). */
void tc_node_regossip(tc_node *n, uint64_t peer)
{
    uint64_t h = tc_core_height(n->core);
    uint32_t r = tc_core_round(n->core);
    if (h == 0 || tc_core_step(n->core) == TC_STEP_NEW)
        return;
    if (n->have_prop && n->prop.height == h && n->prop.round == r) {
        const tc_cand *c = tc_node_find_candidate(n, h, &n->prop.block);
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

static int serve_getblocks(tc_node *n, uint64_t peer, const tc_msg_getblocks *g)
{
    tc_sync_reply r;
    tc_sync_serve(n->L, g, &r);
    reply(n, peer, &r.msg);
    tc_sync_reply_release(&r);
    return 0;
}

/* gethash (the fork query): our block id at that height and its
 * certificate, or a zero hash and no certificate if we hold none. A cheap
 * read, rate-limited by P2P as a request like getblocks. */
static int serve_gethash(tc_node *n, uint64_t peer, uint64_t height)
{
    tc_msg m;
    tc_msg_init(&m, TC_MSG_HASH);
    m.u.hash.height = height;
    tc_buf raw;
    tc_buf_init(&raw);
    tc_cert cert; /* a stored certificate names the stored block: no block read */
    if (height > 0 && height <= tc_ledger_height(n->L) && tc_ledger_get_cert(n->L, height, &cert) == 0) {
        m.u.hash.hash = cert.block;
        tc_cert_encode(&cert, &raw);
        m.u.hash.cert = (tc_bytes){raw.p, raw.len};
        tc_cert_release(&cert);
    }
    reply(n, peer, &m);
    tc_buf_release(&raw);
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
    tc_tx_txid(&tx, &txid);
    tc_txreq_received(n->txreq, &txid); /* asked or not, accepted or not: no one is asked for it again */
    int err = tc_mempool_add(n->mp, &tx, n->io.wall_ms(n->io.ctx), NULL, &e);
    if (err == 0)
        tc_txdurable_admitted(n->txd, &tx, false); /* durable within the group window; logs a failure */
    tc_tx_release(&tx);
    if (err == 0)
        n->io.relay(n->io.ctx, TC_INV_TX, &txid, peer);
    else if (err != TC_EEXIST)
        tc_log_debug("mempool", "transaction refused", "reason=%s", e.msg);
    /* A peer may relay what our state no longer accepts: never a violation. */
    return 0;
}

/* getdata(tx) for one hash: a request the tracker moved to another announcer. */
static void ask_tx(void *ctx, uint64_t peer, const tc_hash *h)
{
    tc_node *n = ctx;
    tc_msg req;
    tc_msg_init(&req, TC_MSG_GETDATA);
    req.u.inv.type = TC_INV_TX;
    req.u.inv.h = (tc_hash *)h;
    req.u.inv.n = 1;
    reply(n, peer, &req);
}

/* inv(tx): what we lack is asked of this peer unless another announcer
 * was asked and has time left (txreq.h: one fetch per transaction, not one
 * per announcer). */
static int on_inv(tc_node *n, uint64_t peer, const tc_msg_inv *inv)
{
    if (inv->type != TC_INV_TX)
        return 0; /* blocks arrive by sync, driven by heights */
    tc_msg req;
    tc_msg_init(&req, TC_MSG_GETDATA);
    req.u.inv.type = TC_INV_TX;
    req.u.inv.h = tc_xcalloc(inv->n, sizeof *req.u.inv.h);
    uint64_t now = n->io.mono_ms(n->io.ctx);
    for (size_t i = 0; i < inv->n; i++)
        if (!tc_mempool_has(n->mp, &inv->h[i]) && tc_txreq_announced(n->txreq, peer, &inv->h[i], now))
            req.u.inv.h[req.u.inv.n++] = inv->h[i];
    if (req.u.inv.n)
        reply(n, peer, &req);
    free(req.u.inv.h);
    return 0;
}

void tc_node_txreq_tick(tc_node *n)
{
    tc_txreq_expire(n->txreq, n->io.mono_ms(n->io.ctx), ask_tx, n);
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
        if (n->io.queued(n->io.ctx, peer) > BLOCK_ANSWER_QUEUE)
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
bool tc_node_is_masternode(tc_node *n, const tc_pubkey *key)
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
    if (n->g.cp.activation_delay < 2 || tc_node_is_masternode(n, &p->proposer))
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
    if (tc_node_keep_candidate(n, &blk, p->round, &p->proposer) == NULL)
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
    if (n->has_op_key && !tc_signhold_may_sign(&n->hold) && tc_pubkey_eq(&p.proposer, &n->op_key.pk) &&
        tc_proposal_verify(&p, n->g.chain_id) == 0)
        tc_signhold_sighting(&n->hold, "proposal", p.height, n->io.wall_ms(n->io.ctx));
    int rc = tc_core_on_proposal(n->core, &p);
    tc_nodemetrics_on_proposal(n->metrics, rc);
    int violation = proposal_violation(n, &p, rc);
    if (violation) {
        char key[65];
        tc_log_warn("node", "proposal from a key not scheduled to propose; banning the peer",
                    "peer=%llu signer=%s height=%llu round=%u reason=%s", (unsigned long long)peer,
                    tc_hex_encode(key, p.proposer.b, 32), (unsigned long long)p.height, p.round,
                    tc_strerror(violation));
        tc_node_drain(n);
        return violation;
    }
    if (rc == TC_ECONS_EQUIVOCATION)
        note_double_proposal(n, peer, &p);
    bool taken = rc == 0 || rc == TC_ECONS_FUTURE || rc == TC_ECONS_DUP;
    bool fresh = false;
    tc_cands_at at;
    tc_node_consensus_at(n, tc_core_height(n->core), &at);
    if (taken && mp->block.len > 0 && tc_node_find_candidate(n, p.height, &p.block) == NULL &&
        tc_cands_room(n->cands, &at, p.height, &p.block, p.round, &p.proposer)) {
        int err = keep_proposed_block(n, &p, &mp->block);
        if (err) {
            tc_node_drain(n);
            return err;
        }
        fresh = true;
    }
    if (rc == 0) {
        (void)tc_oplinks_heard(n->oplinks, &p.proposer, p.height);
        tc_node_remember_proposal(n, &p);
        tc_msg fwd;
        tc_msg_init(&fwd, TC_MSG_PROPOSAL);
        fwd.u.proposal = *mp;
        /* Relay the body we hold (checked against its header when kept),
         * never the bytes this peer sent: a new-round proposal of a block we
         * already have carries a body nobody here checked, and peers ban a
         * relayer whose body does not match. Not held (store bounds): none. */
        const tc_cand *held = tc_node_find_candidate(n, p.height, &p.block);
        fwd.u.proposal.block = held ? (tc_bytes){held->raw.p, held->raw.len} : (tc_bytes){NULL, 0};
        tc_node_push_encoded(n, &fwd, TC_H_PROPOSAL, mp->proposal.p, mp->proposal.len);
    } else if (fresh && rc == TC_ECONS_DUP && p.height == tc_core_height(n->core)) {
        tc_node_answer_check(n, p.height, &p.block); /* the core asked before the block came */
    }
    tc_node_drain(n); /* a check the core asked for now finds the block */
    return 0;
}

static int on_vote(tc_node *n, uint64_t peer, const tc_bytes *raw)
{
    tc_vote v;
    if (tc_vote_decode(&v, raw->p, raw->len) != 0)
        return TC_EBADVAL;
    note_height(n, peer, v.height);
    if (n->has_op_key && !tc_signhold_may_sign(&n->hold) && tc_pubkey_eq(&v.validator, &n->op_key.pk) &&
        tc_vote_verify(&v, n->g.chain_id) == 0)
        tc_signhold_sighting(&n->hold, "vote", v.height, n->io.wall_ms(n->io.ctx)); /* as for proposals */
    int rc = tc_core_on_vote(n->core, &v);
    tc_nodemetrics_on_vote(n->metrics, v.type, rc);
    if (rc == 0 || rc == TC_ECONS_CONFLICT) {
        (void)tc_oplinks_heard(n->oplinks, &v.validator, v.height); /* verified: its signer is alive */
        tc_msg fwd;
        tc_msg_init(&fwd, TC_MSG_VOTE);
        fwd.u.vote = *raw;
        tc_node_push_encoded(n, &fwd, TC_H_VOTE, raw->p, raw->len);
    }
    tc_node_drain(n);
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
    uint64_t now = n->io.wall_ms(n->io.ctx);
    uint64_t off = hb->time_ms > now ? hb->time_ms - now : now - hb->time_ms; /* no wrap, either clock at a limit */
    if (off > HEARTBEAT_SKEW_MS)
        return 0; /* stale or clock-skewed: not proof of anything now */
    liveness *l = tc_hmap_get(n->seen, hb->key.b);
    if (l && hb->time_ms < l->time_ms + HEARTBEAT_MIN_GAP_MS)
        return 0; /* not newer by enough: a masternode cannot make the network relay a flood */
    if (!tc_node_is_masternode(n, &hb->key))
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
    n->io.push(n->io.ctx, &fwd, &id, peer);
    tc_node_signhold_gate(n); /* a validator's height: what the sign hold's gate may wait for */
    return 0;
}

/* ---- mnauth: which operator a link speaks for ------------------------------ */

/* Tells a peer of protocol 2 or newer which masternode this node is. */
static void send_mnauth(tc_node *n, uint64_t peer, const tc_peer_info *pi)
{
    uint8_t exporter[32];
    if (!n->has_op_key || pi->protocol < 2 || n->io.binding(n->io.ctx, peer, exporter) != 0)
        return;
    tc_msg m;
    tc_msg_init(&m, TC_MSG_MNAUTH);
    tc_msg_mnauth_sign(&m.u.mnauth, exporter, n->g.chain_id, &n->node_key.pk, &n->op_key);
    (void)n->io.send(n->io.ctx, peer, &m); /* gone already: nothing to attest */
}

/* A peer's attestation: kept if its operator key signed this link's binding
 * (a repeat of the same key changes nothing); a bad signature, or a second
 * operator key on one link, is a violation (the caller bans). Whether the
 * key is registered is decided where its weight counts. */
static int on_mnauth(tc_node *n, uint64_t peer, const tc_msg_mnauth *a)
{
    tc_peer_info pi;
    uint8_t exporter[32];
    if (n->io.peer(n->io.ctx, peer, &pi) != 0 || n->io.binding(n->io.ctx, peer, exporter) != 0)
        return 0; /* gone */
    if (tc_msg_mnauth_verify(a, exporter, n->g.chain_id, &pi.key) != 0) {
        tc_log_warn("p2p", "mnauth signature invalid; banning the peer", "peer=%llu", (unsigned long long)peer);
        return TC_ESIG;
    }
    if (tc_oplinks_attest(n->oplinks, peer, &a->operator_key) != 0) {
        tc_log_warn("p2p", "mnauth for a second operator key on one link; banning the peer", "peer=%llu",
                    (unsigned long long)peer);
        return TC_ENET_PROTOCOL;
    }
    tc_node_signhold_gate(n); /* it may be a validator the gate waits for */
    char hex[65];
    tc_log_debug("p2p", "link speaks for operator", "peer=%llu operator=%s", (unsigned long long)peer,
                 tc_hex_encode(hex, a->operator_key.b, 32));
    return 0;
}

int tc_node_on_message(void *ctx, uint64_t peer, const tc_msg *m)
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
    case TC_MSG_GETHASH:
        return serve_gethash(n, peer, m->u.gethash);
    case TC_MSG_HASH:
        return tc_node_on_hash(n, peer, &m->u.hash);
    case TC_MSG_BLOCKS:
        return tc_sync_on_blocks(n->sync, peer, &m->u.blocks);
    case TC_MSG_BLOCK:
        return tc_node_on_block(n, peer, &m->u.block);
    case TC_MSG_HEARTBEAT:
        return on_heartbeat(n, peer, &m->u.heartbeat);
    case TC_MSG_MNAUTH:
        return on_mnauth(n, peer, &m->u.mnauth);
    default:
        return 0;
    }
}

static bool make_heartbeat(tc_node *n, tc_msg *m);

uint64_t tc_node_best_height(void *ctx)
{
    tc_node *n = ctx;
    return tc_ledger_height(n->L);
}

void tc_node_on_peer(void *ctx, uint64_t peer, bool up)
{
    tc_node *n = ctx;
    tc_peer_info pi;
    if (!up) {
        tc_sync_on_peer_down(n->sync, peer);
        tc_pubkey op;
        if (tc_oplinks_down(n->oplinks, peer, tc_core_height(n->core), &op))
            tc_node_operator_gone(n, &op);
        tc_forkq_on_peer_down(n->forkq, peer);
        tc_txreq_peer_down(n->txreq, peer, n->io.mono_ms(n->io.ctx), ask_tx, n);
    } else {
        if (n->io.peer(n->io.ctx, peer, &pi) == 0) {
            tc_sync_on_height(n->sync, peer, pi.height);
            send_mnauth(n, peer, &pi);
        }
        tc_node_signhold_gate(n); /* its height may be what the gate waits for */
        tc_msg hb;
        if (make_heartbeat(n, &hb)) /* our height, signed and fresh, for a peer whose sign hold waits for it */
            reply(n, peer, &hb);
        tc_node_regossip(n, peer);
        tc_txdurable_announce(n->txd);
    }
}

/* A fresh heartbeat of ours in *m (validators only; false without one). */
static bool make_heartbeat(tc_node *n, tc_msg *m)
{
    if (!n->has_op_key)
        return false;
    tc_msg_init(m, TC_MSG_HEARTBEAT);
    tc_msg_heartbeat *hb = &m->u.heartbeat;
    hb->key = n->op_key.pk;
    hb->height = tc_ledger_height(n->L);
    hb->time_ms = n->io.wall_ms(n->io.ctx);
    const char *adv = tc_config_advertise(&n->cfg); /* never a wildcard */
    if (adv == NULL || tc_netaddr_set(&hb->addr, adv) != 0)
        return false;
    tc_msg_heartbeat_sign(hb, n->g.chain_id, &n->op_key);
    return true;
}

void tc_node_heartbeat(tc_node *n)
{
    tc_msg m;
    if (!make_heartbeat(n, &m))
        return;
    tc_hash id;
    tc_msg_heartbeat_sign_bytes(&m.u.heartbeat, n->g.chain_id, &id);
    n->io.push(n->io.ctx, &m, &id, 0);
}
