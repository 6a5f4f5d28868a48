#include "world.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/cert.h"
#include "consensus/core.h"
#include "consensus/proposer.h"
#include "evq.h"
#include "rng.h"
#include "util/mem.h"

#define CHAIN_ID 3
#define GOSSIP_MS 150
#define OWN_MAX 48            /* own signed messages kept for re-gossip */
#define LIVENESS_BOUND_MS 30000
#define EVENT_CAP 20000000ull

enum byz_mode { BYZ_SILENT = 0, BYZ_EQUIVOCATE, BYZ_DOUBLE_VOTE, BYZ_INVALID, BYZ_RANDOM_ROUNDS,
                BYZ_MODES, BYZ_FORK };

static const char *profile_names[PROFILE_COUNT] = {"none", "lossy", "partition", "crash-restart",
                                                   "byzantine", "fork"};

const char *sim_profile_name(enum sim_profile p)
{
    return p < PROFILE_COUNT ? profile_names[p] : "?";
}

int sim_profile_parse(const char *s)
{
    for (int i = 0; i < PROFILE_COUNT; i++)
        if (strcmp(s, profile_names[i]) == 0)
            return i;
    return -1;
}

struct signrec {
    uint64_t h;
    uint32_t r;
    uint8_t step;
    tc_hash value;
};

struct evrec {
    int validator;
    uint64_t h;
    uint32_t r;
    uint8_t type;
};

typedef struct world world;

typedef struct {
    world *w;
    int idx;
    tc_keypair kp;
    uint64_t weight;
    bool byz;
    enum byz_mode mode;
    bool up;
    uint32_t epoch;
    tc_core *core;
    /* durable: survives a crash */
    tc_signstate durable;
    tc_hash *chain;
    tc_cert *certs;
    uint64_t nchain, capchain;
    /* memory: lost on a crash */
    sim_msg own[OWN_MAX];
    size_t nown;
    /* checker records (not node state) */
    struct signrec *signs;
    size_t nsigns, capsigns;
    struct evrec *evid;
    size_t nevid, capevid;
} node;

struct world {
    const sim_config *cfg;
    sim_result *res;
    sim_rng rng;
    sim_evq q;
    uint64_t now;
    int n;
    node nodes[SIM_MAX_NODES];
    tc_valset vs;
    tc_proposer *sched;
    tc_sigcache *cache;   /* shared by the nodes: each signature verified once */
    tc_sigcache *checker; /* the checker's own, for certificate verification */
    tc_consensus_params timing;
    /* network */
    unsigned loss, dup, slow; /* per mille */
    uint64_t delay_lo, delay_hi;
    uint16_t link_lo[SIM_MAX_NODES][SIM_MAX_NODES]; /* per-link delay range, ms */
    uint16_t link_hi[SIM_MAX_NODES][SIM_MAX_NODES];
    bool part_active;
    uint64_t part_mask;
    /* checker */
    tc_hash *decided;
    uint64_t ndecided, capdecided;
    uint64_t stable_ms;
    bool snap_taken, live_done;
    uint64_t live_target;
    bool failed;
};

/* ---- helpers ------------------------------------------------------------ */

static void violation(world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void violation(world *w, const char *fmt, ...)
{
    if (w->failed)
        return;
    w->failed = true;
    w->res->ok = false;
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(w->res->violation, sizeof w->res->violation, "t=%" PRIu64 "ms ", w->now);
    vsnprintf(w->res->violation + k, sizeof w->res->violation - (size_t)k, fmt, ap);
    va_end(ap);
}

static void push_ev(world *w, sim_event *e)
{
    sim_evq_push(&w->q, e);
}

static bool partitioned(const world *w, int a, int b)
{
    return w->part_active && (((w->part_mask >> a) ^ (w->part_mask >> b)) & 1);
}

static uint64_t link_delay(world *w, int from, int to)
{
    uint64_t d = sim_range(&w->rng, w->link_lo[from][to], w->link_hi[from][to]);
    if (w->slow && sim_chance(&w->rng, w->slow))
        d *= 8; /* a straggler: reorders behind later messages */
    return d;
}

static void send_msg(world *w, int from, int to, const sim_msg *m)
{
    if (from == to || partitioned(w, from, to))
        return;
    if (w->loss && sim_chance(&w->rng, w->loss))
        return;
    int copies = (w->dup && sim_chance(&w->rng, w->dup)) ? 2 : 1;
    for (int c = 0; c < copies; c++) {
        sim_event e;
        memset(&e, 0, sizeof e);
        e.t = w->now + link_delay(w, from, to);
        e.kind = EV_DELIVER;
        e.node = to;
        e.u.m = *m;
        push_ev(w, &e);
    }
}

static void broadcast(world *w, int from, const sim_msg *m)
{
    for (int i = 0; i < w->n; i++)
        send_msg(w, from, i, m);
}

static void value_for(world *w, int node_idx, uint64_t h, uint32_t r, char tag, tc_hash *out)
{
    uint64_t x = w->cfg->seed ^ (h * 0x100000001b3ull) ^ ((uint64_t)r << 40) ^ (uint64_t)node_idx;
    for (int i = 0; i < 4; i++)
        tc_le64(out->b + 8 * i, sim_splitmix64(&x));
    out->b[0] = (uint8_t)tag; /* 'V' valid, 'X' invalid: every node judges alike */
}

static bool value_valid(const tc_hash *v)
{
    return v->b[0] == 'V';
}

/* ---- node callbacks ----------------------------------------------------- */

static int node_sign(void *ctx, const tc_hash *msg, tc_sig *sig)
{
    node *nd = ctx;
    tc_sign(&nd->kp, msg->b, sizeof msg->b, sig);
    return 0;
}

static int node_value(void *ctx, uint64_t h, uint32_t r, tc_hash *out)
{
    node *nd = ctx;
    value_for(nd->w, nd->idx, h, r, 'V', out);
    return 0;
}

static void node_boot(world *w, node *nd)
{
    tc_core_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chain_id = CHAIN_ID;
    cfg.timing = w->timing;
    cfg.self = nd->kp.pk;
    cfg.iface.ctx = nd;
    cfg.iface.sign = node_sign;
    cfg.iface.get_value = node_value;
    cfg.cache = w->cache;
    cfg.last_signed = nd->durable;
    nd->core = tc_core_new(&cfg);
    nd->up = true;
    nd->nown = 0;
    const tc_cert *last = nd->nchain ? &nd->certs[nd->nchain - 1] : NULL;
    tc_core_start_height(nd->core, nd->nchain + 1, &w->vs, last);
    sim_event e;
    memset(&e, 0, sizeof e);
    e.t = w->now + sim_range(&w->rng, 1, GOSSIP_MS);
    e.kind = EV_GOSSIP;
    e.node = nd->idx;
    e.epoch = nd->epoch;
    push_ev(w, &e);
}

static void remember_own(node *nd, const sim_msg *m)
{
    uint64_t h = tc_core_height(nd->core);
    /* drop what belongs to finished heights, then the oldest */
    size_t k = 0;
    for (size_t i = 0; i < nd->nown; i++) {
        uint64_t mh = nd->own[i].kind == MSG_PROPOSAL ? nd->own[i].u.p.height : nd->own[i].u.v.height;
        if (mh >= h)
            nd->own[k++] = nd->own[i];
    }
    nd->nown = k;
    if (nd->nown == OWN_MAX) {
        memmove(&nd->own[0], &nd->own[1], (OWN_MAX - 1) * sizeof nd->own[0]);
        nd->nown--;
    }
    nd->own[nd->nown++] = *m;
}

/* ---- the checker -------------------------------------------------------- */

/* No honest double-sign: over the whole run, across restarts. */
static void check_signed(world *w, node *nd, uint64_t h, uint32_t r, uint8_t step, const tc_hash *v)
{
    for (size_t i = nd->nsigns; i-- > 0;) {
        const struct signrec *s = &nd->signs[i];
        if (s->h != h)
            break;
        if (s->r == r && s->step == step && !tc_hash_eq(&s->value, v))
            violation(w, "honest double-sign: node %d at h=%" PRIu64 " r=%u step=%u", nd->idx, h,
                      r, step);
        if (s->r == r && s->step == step)
            return;
    }
    if (nd->nsigns == nd->capsigns) {
        nd->capsigns = nd->capsigns ? 2 * nd->capsigns : 64;
        nd->signs = tc_xrealloc(nd->signs, nd->capsigns * sizeof *nd->signs);
    }
    nd->signs[nd->nsigns++] = (struct signrec){h, r, step, *v};
}

static void check_commit(world *w, node *nd, uint64_t h, const tc_hash *v, const tc_cert *cert)
{
    if (h != nd->nchain + 1)
        violation(w, "node %d committed height %" PRIu64 " after %" PRIu64, nd->idx, h, nd->nchain);
    if (!value_valid(v))
        violation(w, "validity: node %d committed an invalid block at h=%" PRIu64, nd->idx, h);
    tc_errmsg e;
    int rc = tc_cert_verify(cert, &w->vs, CHAIN_ID, h, v, w->checker, &e);
    if (rc != 0)
        violation(w, "certificate: node %d h=%" PRIu64 ": %s (%s)", nd->idx, h, tc_errname(rc), e.msg);
    if (h > w->ndecided) {
        if (w->ndecided == w->capdecided) {
            w->capdecided = w->capdecided ? 2 * w->capdecided : 64;
            w->decided = tc_xrealloc(w->decided, w->capdecided * sizeof *w->decided);
        }
        w->decided[w->ndecided++] = *v;
    } else if (!tc_hash_eq(&w->decided[h - 1], v)) {
        violation(w, "agreement: node %d committed a different block at h=%" PRIu64, nd->idx, h);
    }
    if (cert->round > w->res->max_round)
        w->res->max_round = cert->round;
}

static bool has_evidence(const node *nd, int validator, const tc_vote *v)
{
    for (size_t i = 0; i < nd->nevid; i++) {
        const struct evrec *e = &nd->evid[i];
        if (e->validator == validator && e->h == v->height && e->r == v->round && e->type == v->type)
            return true;
    }
    return false;
}

static void record_evidence(world *w, node *nd, const tc_vote *a, const tc_vote *b)
{
    if (!tc_vote_conflict(a, b))
        violation(w, "node %d emitted evidence of votes that do not conflict", nd->idx);
    long vi = tc_valset_find(&w->vs, &a->validator);
    if (nd->nevid == nd->capevid) {
        nd->capevid = nd->capevid ? 2 * nd->capevid : 16;
        nd->evid = tc_xrealloc(nd->evid, nd->capevid * sizeof *nd->evid);
    }
    nd->evid[nd->nevid++] = (struct evrec){(int)vi, a->height, a->round, a->type};
    if (!nd->byz)
        w->res->evidence++;
}

/* ---- actions ------------------------------------------------------------ */

/* The durable state covers v: it is the last signed vote, or the prevote of
 * that round recorded beside a later precommit. */
static bool persisted_vote(const tc_signstate *d, const tc_vote *v)
{
    if (d->height != v->height)
        return false;
    if (v->type == TC_VOTE_PREVOTE && d->prevote_round == (int32_t)v->round &&
        tc_hash_eq(&d->prevote_value, &v->block))
        return true;
    return d->round == v->round && tc_hash_eq(&d->value, &v->block) &&
           d->step == (v->type == TC_VOTE_PREVOTE ? TC_SIGN_PREVOTE : TC_SIGN_PRECOMMIT);
}

static void byz_proposal(world *w, node *nd, const tc_proposal *p);
static void byz_vote(world *w, node *nd, const tc_vote *v);

static void run_actions(world *w, node *nd)
{
    tc_core_action a;
    while (tc_core_next_action(nd->core, &a)) {
        sim_msg m;
        memset(&m, 0, sizeof m);
        m.from = nd->idx;
        switch (a.kind) {
        case TC_ACT_PERSIST:
            nd->durable = a.u.persist; /* durable before anything after it is sent */
            break;
        case TC_ACT_PROPOSAL:
            m.kind = MSG_PROPOSAL;
            m.u.p = a.u.proposal;
            if (nd->byz) {
                byz_proposal(w, nd, &a.u.proposal);
                break;
            }
            if (nd->durable.height != m.u.p.height || nd->durable.round != m.u.p.round ||
                nd->durable.step != TC_SIGN_PROPOSAL)
                violation(w, "node %d sent a proposal before persisting it", nd->idx);
            check_signed(w, nd, m.u.p.height, m.u.p.round, TC_SIGN_PROPOSAL, &m.u.p.block);
            remember_own(nd, &m);
            broadcast(w, nd->idx, &m);
            break;
        case TC_ACT_VOTE:
            m.kind = MSG_VOTE;
            m.u.v = a.u.vote;
            if (nd->byz) {
                byz_vote(w, nd, &a.u.vote);
                break;
            }
            if (!persisted_vote(&nd->durable, &m.u.v))
                violation(w, "node %d sent a vote before persisting it", nd->idx);
            check_signed(w, nd, m.u.v.height, m.u.v.round,
                         m.u.v.type == TC_VOTE_PREVOTE ? TC_SIGN_PREVOTE : TC_SIGN_PRECOMMIT,
                         &m.u.v.block);
            remember_own(nd, &m);
            broadcast(w, nd->idx, &m);
            break;
        case TC_ACT_TIMEOUT: {
            sim_event e;
            memset(&e, 0, sizeof e);
            e.t = w->now + a.u.timeout.ms;
            e.kind = EV_TIMEOUT;
            e.node = nd->idx;
            e.epoch = nd->epoch;
            e.u.timeout.height = a.u.timeout.height;
            e.u.timeout.round = a.u.timeout.round;
            e.u.timeout.kind = (uint8_t)a.u.timeout.kind;
            push_ev(w, &e);
            break;
        }
        case TC_ACT_CHECK: {
            sim_event e;
            memset(&e, 0, sizeof e);
            e.t = w->now + sim_range(&w->rng, 0, 3);
            e.kind = EV_VALIDITY;
            e.node = nd->idx;
            e.epoch = nd->epoch;
            e.u.validity.height = a.u.check.height;
            e.u.validity.value = a.u.check.value;
            push_ev(w, &e);
            break;
        }
        case TC_ACT_COMMIT:
            if (!nd->byz)
                check_commit(w, nd, a.u.commit.height, &a.u.commit.value, a.u.commit.cert);
            if (nd->nchain == nd->capchain) {
                nd->capchain = nd->capchain ? 2 * nd->capchain : 32;
                nd->chain = tc_xrealloc(nd->chain, nd->capchain * sizeof *nd->chain);
                nd->certs = tc_xrealloc(nd->certs, nd->capchain * sizeof *nd->certs);
            }
            nd->chain[nd->nchain] = a.u.commit.value;
            tc_cert_copy(&nd->certs[nd->nchain], a.u.commit.cert);
            nd->nchain++;
            break;
        case TC_ACT_NEXT_HEIGHT:
            tc_core_start_height(nd->core, a.u.commit.height + 1, &w->vs, a.u.commit.cert);
            break;
        case TC_ACT_EVIDENCE:
            record_evidence(w, nd, &a.u.evidence.a, &a.u.evidence.b);
            break;
        }
    }
}

/* ---- Byzantine behaviour ------------------------------------------------ */

static void sign_vote(node *nd, tc_vote *v)
{
    tc_vote_sign(v, CHAIN_ID, &nd->kp);
}

static bool is_byz_proposer(world *w, uint64_t h, uint32_t r)
{
    size_t vi = tc_proposer_index(w->sched, h, r);
    for (int i = 0; i < w->n; i++)
        if (w->nodes[i].byz && tc_valset_find(&w->vs, &w->nodes[i].kp.pk) == (long)vi)
            return true;
    return false;
}

/* Fork coalition: honest nodes split by index parity into side A and B. */
static bool side_b(int i)
{
    return i % 2 == 1;
}

static void fork_value(world *w, uint64_t h, uint32_t r, bool b, tc_hash *out)
{
    value_for(w, b ? 1000 : 2000, h, r, 'V', out);
}

static void byz_proposal(world *w, node *nd, const tc_proposal *p)
{
    sim_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_PROPOSAL;
    m.from = nd->idx;
    tc_proposal q = *p;
    switch (nd->mode) {
    case BYZ_SILENT:
        return;
    case BYZ_EQUIVOCATE:
        for (int i = 0; i < w->n; i++) {
            q = *p;
            if (i % 2) {
                value_for(w, nd->idx + 500, p->height, p->round, 'V', &q.block);
                q.pol_round = -1;
                tc_proposal_sign(&q, CHAIN_ID, &nd->kp);
            }
            m.u.p = q;
            send_msg(w, nd->idx, i, &m);
        }
        return;
    case BYZ_INVALID:
        value_for(w, nd->idx, p->height, p->round, 'X', &q.block);
        q.pol_round = -1;
        tc_proposal_sign(&q, CHAIN_ID, &nd->kp);
        m.u.p = q;
        broadcast(w, nd->idx, &m);
        return;
    case BYZ_FORK:
        for (int i = 0; i < w->n; i++) {
            q = *p;
            fork_value(w, p->height, p->round, side_b(i), &q.block);
            q.pol_round = -1;
            tc_proposal_sign(&q, CHAIN_ID, &nd->kp);
            m.u.p = q;
            send_msg(w, nd->idx, i, &m);
        }
        return;
    default:
        m.u.p = q;
        broadcast(w, nd->idx, &m);
        return;
    }
}

static void byz_vote(world *w, node *nd, const tc_vote *v)
{
    sim_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_VOTE;
    m.from = nd->idx;
    tc_vote alt = *v;
    switch (nd->mode) {
    case BYZ_SILENT:
        return;
    case BYZ_DOUBLE_VOTE: {
        if (tc_hash_is_zero(&v->block))
            value_for(w, nd->idx + 700, v->height, v->round, 'V', &alt.block);
        else
            memset(alt.block.b, 0, 32);
        sign_vote(nd, &alt);
        int both = (int)sim_range(&w->rng, 0, (uint64_t)w->n - 1);
        for (int i = 0; i < w->n; i++) {
            m.u.v = (i % 2) ? alt : *v;
            send_msg(w, nd->idx, i, &m);
            if (i == both) {
                m.u.v = (i % 2) ? *v : alt;
                send_msg(w, nd->idx, i, &m);
            }
        }
        return;
    }
    case BYZ_INVALID:
        value_for(w, nd->idx, v->height, v->round, 'X', &alt.block);
        sign_vote(nd, &alt);
        m.u.v = alt;
        broadcast(w, nd->idx, &m);
        return;
    case BYZ_RANDOM_ROUNDS:
        m.u.v = *v;
        broadcast(w, nd->idx, &m);
        alt.round = v->round + (uint32_t)sim_range(&w->rng, 0, 6);
        if (sim_chance(&w->rng, 500))
            memset(alt.block.b, 0, 32);
        else
            value_for(w, nd->idx + 900, v->height, alt.round, 'V', &alt.block);
        sign_vote(nd, &alt);
        m.u.v = alt;
        broadcast(w, nd->idx, &m);
        return;
    case BYZ_FORK:
        if (!is_byz_proposer(w, v->height, v->round)) {
            m.u.v = *v;
            broadcast(w, nd->idx, &m);
            return;
        }
        for (int i = 0; i < w->n; i++) {
            alt = *v;
            fork_value(w, v->height, v->round, side_b(i), &alt.block);
            sign_vote(nd, &alt);
            m.u.v = alt;
            send_msg(w, nd->idx, i, &m);
        }
        return;
    default:
        m.u.v = *v;
        broadcast(w, nd->idx, &m);
        return;
    }
}

/* ---- events ------------------------------------------------------------- */

/* Height, round and which votes of that round this node holds. */
static void make_status(world *w, node *nd, sim_msg *m)
{
    memset(m, 0, sizeof *m);
    m->kind = MSG_STATUS;
    m->from = nd->idx;
    m->u.status.height = tc_core_height(nd->core);
    m->u.status.round = tc_core_round(nd->core);
    for (uint8_t t = TC_VOTE_PREVOTE; t <= TC_VOTE_PRECOMMIT; t++)
        for (size_t i = 0; i < w->vs.n; i++)
            if (tc_core_vote(nd->core, m->u.status.round, t, &w->vs.v[i].key))
                m->u.status.have[t - 1] |= 1ull << i;
}

static void deliver(world *w, node *nd, const sim_msg *m)
{
    w->res->delivered++;
    switch (m->kind) {
    case MSG_PROPOSAL:
        (void)tc_core_on_proposal(nd->core, &m->u.p);
        break;
    case MSG_VOTE: {
        /* A double vote this node can see: the core must turn it into evidence. */
        const tc_vote *held = NULL;
        if (m->u.v.height == tc_core_height(nd->core))
            held = tc_core_vote(nd->core, m->u.v.round, m->u.v.type, &m->u.v.validator);
        bool conflict = held && tc_vote_conflict(held, &m->u.v);
        (void)tc_core_on_vote(nd->core, &m->u.v);
        run_actions(w, nd);
        if (conflict && !nd->byz &&
            !has_evidence(nd, (int)tc_valset_find(&w->vs, &m->u.v.validator), &m->u.v))
            violation(w, "evidence: node %d saw a double vote at h=%" PRIu64 " r=%u without evidence",
                      nd->idx, m->u.v.height, m->u.v.round);
        return;
    }
    case MSG_STATUS:
        if (nd->nchain >= m->u.status.height && m->u.status.height > 0) {
            sim_msg c;
            memset(&c, 0, sizeof c);
            c.kind = MSG_CERT;
            c.from = nd->idx;
            c.u.height = m->u.status.height;
            send_msg(w, nd->idx, m->from, &c);
        } else if (m->u.status.height == tc_core_height(nd->core)) {
            /* Tendermint-style vote gossip: send the peer the votes of its
             * round it lacks (it may have lost them, or restarted). */
            sim_msg v;
            memset(&v, 0, sizeof v);
            v.kind = MSG_VOTE;
            v.from = nd->idx;
            for (uint8_t t = TC_VOTE_PREVOTE; t <= TC_VOTE_PRECOMMIT; t++)
                for (size_t i = 0; i < w->vs.n; i++) {
                    if ((m->u.status.have[t - 1] >> i) & 1)
                        continue;
                    const tc_vote *held =
                        tc_core_vote(nd->core, m->u.status.round, t, &w->vs.v[i].key);
                    if (held) {
                        v.u.v = *held;
                        send_msg(w, nd->idx, m->from, &v);
                    }
                }
        }
        break;
    case MSG_CERT: {
        node *src = &w->nodes[m->from];
        if (m->u.height <= src->nchain && m->u.height == tc_core_height(nd->core) &&
            tc_core_on_certificate(nd->core, &src->certs[m->u.height - 1]) == 0) {
            run_actions(w, nd);
            sim_msg st; /* block sync: ask the same peer for the next height at once */
            make_status(w, nd, &st);
            send_msg(w, nd->idx, m->from, &st);
        }
        break;
    }
    }
    run_actions(w, nd);
}

static void gossip(world *w, node *nd)
{
    sim_msg m;
    make_status(w, nd, &m);
    broadcast(w, nd->idx, &m);
    if (nd->byz && nd->mode == BYZ_SILENT)
        goto next;
    for (size_t i = 0; i < nd->nown; i++)
        broadcast(w, nd->idx, &nd->own[i]);
    /* Relay the polka behind validValue, as Tendermint's gossip does with a
     * proposal's POL prevotes: a node that missed them (lost, or restarted)
     * could never accept the re-proposal otherwise. */
    int32_t vr = tc_core_valid(nd->core, NULL);
    if (vr >= 0) {
        sim_msg pv;
        memset(&pv, 0, sizeof pv);
        pv.kind = MSG_VOTE;
        pv.from = nd->idx;
        for (size_t i = 0; i < w->vs.n; i++) {
            const tc_vote *v = tc_core_vote(nd->core, (uint32_t)vr, TC_VOTE_PREVOTE, &w->vs.v[i].key);
            if (v) {
                pv.u.v = *v;
                broadcast(w, nd->idx, &pv);
            }
        }
    }
next:;
    sim_event e;
    memset(&e, 0, sizeof e);
    e.t = w->now + GOSSIP_MS + sim_range(&w->rng, 0, 20);
    e.kind = EV_GOSSIP;
    e.node = nd->idx;
    e.epoch = nd->epoch;
    push_ev(w, &e);
}

static void crash(world *w, node *nd)
{
    if (!nd->up)
        return;
    tc_core_stats st;
    tc_core_get_stats(nd->core, &st);
    w->res->refused += st.refused;
    tc_core_free(nd->core);
    nd->core = NULL;
    nd->up = false;
    nd->nown = 0;
    nd->epoch++;
}

static void handle(world *w, const sim_event *e)
{
    node *nd = e->node >= 0 ? &w->nodes[e->node] : NULL;
    switch (e->kind) {
    case EV_DELIVER:
        if (nd->up && !partitioned(w, e->u.m.from, e->node))
            deliver(w, nd, &e->u.m);
        return;
    case EV_TIMEOUT:
        if (nd->up && e->epoch == nd->epoch) {
            tc_core_on_timeout(nd->core, e->u.timeout.height, e->u.timeout.round,
                               (enum tc_timeout_kind)e->u.timeout.kind);
            run_actions(w, nd);
        }
        return;
    case EV_VALIDITY:
        if (nd->up && e->epoch == nd->epoch) {
            tc_core_on_validity(nd->core, e->u.validity.height, &e->u.validity.value,
                                value_valid(&e->u.validity.value));
            run_actions(w, nd);
        }
        return;
    case EV_GOSSIP:
        if (nd->up && e->epoch == nd->epoch)
            gossip(w, nd);
        return;
    case EV_CRASH:
        crash(w, nd);
        return;
    case EV_RESTART:
        if (!nd->up) {
            if (w->cfg->amnesia)
                tc_signstate_init(&nd->durable);
            node_boot(w, nd);
            run_actions(w, nd);
        }
        return;
    case EV_PART_START:
        w->part_active = true;
        w->part_mask = e->u.part_mask;
        return;
    case EV_PART_END:
        w->part_active = false;
        return;
    }
}

/* ---- setup -------------------------------------------------------------- */

static void fault_at(world *w, uint64_t t, uint8_t kind, int node_idx, uint64_t mask)
{
    sim_event e;
    memset(&e, 0, sizeof e);
    e.t = t;
    e.kind = kind;
    e.node = node_idx;
    e.u.part_mask = mask;
    push_ev(w, &e);
    if (t > w->stable_ms)
        w->stable_ms = t;
}

static int random_honest(world *w)
{
    for (;;) {
        int i = (int)sim_range(&w->rng, 0, (uint64_t)w->n - 1);
        if (!w->nodes[i].byz)
            return i;
    }
}

static void plan_faults(world *w)
{
    const sim_config *c = w->cfg;
    w->delay_lo = 2;
    w->delay_hi = 40;
    switch (c->profile) {
    case PROFILE_LOSSY:
        w->loss = (unsigned)sim_range(&w->rng, 50, 200);
        w->dup = (unsigned)sim_range(&w->rng, 20, 150);
        w->slow = (unsigned)sim_range(&w->rng, 10, 60);
        w->delay_hi = sim_range(&w->rng, 20, 120);
        break;
    case PROFILE_PARTITION: {
        uint64_t t = sim_range(&w->rng, 0, 1500);
        int episodes = (int)sim_range(&w->rng, 1, 3);
        for (int k = 0; k < episodes; k++) {
            uint64_t mask = 0;
            while (mask == 0 || mask == (1ull << w->n) - 1)
                mask = sim_next(&w->rng) & ((1ull << w->n) - 1);
            uint64_t len = sim_range(&w->rng, 300, 4000);
            fault_at(w, t, EV_PART_START, -1, mask);
            fault_at(w, t + len, EV_PART_END, -1, 0);
            t += len + sim_range(&w->rng, 0, 1500);
        }
        w->slow = 20;
        break;
    }
    case PROFILE_CRASH: {
        int episodes = (int)sim_range(&w->rng, 1, 4);
        for (int k = 0; k < episodes; k++) {
            int i = random_honest(w);
            uint64_t t = sim_range(&w->rng, 50, 4000);
            fault_at(w, t, EV_CRASH, i, 0);
            fault_at(w, t + sim_range(&w->rng, 50, 2500), EV_RESTART, i, 0);
        }
        w->loss = 10;
        break;
    }
    case PROFILE_BYZANTINE:
        w->loss = 20;
        w->slow = 20;
        break;
    default:
        break;
    }
    /* every link gets its own delay range inside the profile's */
    for (int a = 0; a < w->n; a++)
        for (int b = 0; b < w->n; b++) {
            uint64_t lo = sim_range(&w->rng, w->delay_lo, w->delay_hi);
            uint64_t hi = sim_range(&w->rng, lo, w->delay_hi);
            w->link_lo[a][b] = (uint16_t)lo;
            w->link_hi[a][b] = (uint16_t)hi;
        }
}

static void cleanup(world *w)
{
    for (int i = 0; i < w->n; i++) {
        node *nd = &w->nodes[i];
        tc_core_free(nd->core);
        for (uint64_t k = 0; k < nd->nchain; k++)
            tc_cert_release(&nd->certs[k]);
        free(nd->certs);
        free(nd->chain);
        free(nd->signs);
        free(nd->evid);
        tc_keypair_wipe(&nd->kp);
    }
    sim_evq_release(&w->q);
    tc_proposer_free(w->sched);
    tc_valset_release(&w->vs);
    tc_sigcache_free(w->cache);
    tc_sigcache_free(w->checker);
    free(w->decided);
}

static uint64_t honest_min_height(const world *w, uint64_t *max)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < w->n; i++)
        if (!w->nodes[i].byz) {
            uint64_t h = w->nodes[i].nchain;
            lo = h < lo ? h : lo;
            hi = h > hi ? h : hi;
        }
    if (max)
        *max = hi;
    return lo;
}

int sim_run(const sim_config *cfg, sim_result *res)
{
    memset(res, 0, sizeof *res);
    res->ok = true;
    if (cfg->n < 1 || cfg->n > SIM_MAX_NODES || cfg->byzantine < 0 || cfg->byzantine >= cfg->n ||
        cfg->heights < 1) {
        snprintf(res->violation, sizeof res->violation, "bad configuration");
        return -1;
    }
    world *w = tc_xcalloc(1, sizeof *w);
    w->cfg = cfg;
    w->res = res;
    w->n = cfg->n;
    sim_rng_seed(&w->rng, cfg->seed);
    sim_evq_init(&w->q);
    w->timing = (tc_consensus_params){.propose_timeout_ms = 300, .propose_delta_ms = 100,
                                      .prevote_timeout_ms = 150, .prevote_delta_ms = 50,
                                      .precommit_timeout_ms = 150, .precommit_delta_ms = 50,
                                      .block_interval_ms = 60};
    w->cache = tc_sigcache_new(1 << 14);
    w->checker = tc_sigcache_new(1 << 12);
    /* validators: keys and weights from the seed; Byzantine ones get the lowest weight */
    bool tiers = cfg->weights == NULL && sim_chance(&w->rng, 500) && cfg->profile != PROFILE_FORK;
    static const uint64_t tier_w[3] = {1, 10, 100};
    tc_valset_init(&w->vs);
    for (int i = 0; i < w->n; i++) {
        node *nd = &w->nodes[i];
        uint8_t seed[32];
        for (int k = 0; k < 4; k++)
            tc_le64(seed + 8 * k, sim_next(&w->rng));
        tc_keypair_from_seed(&nd->kp, seed);
        nd->w = w;
        nd->idx = i;
        nd->byz = i < cfg->byzantine;
        if (cfg->weights)
            nd->weight = cfg->weights[i];
        else if (tiers && !nd->byz)
            nd->weight = tier_w[sim_range(&w->rng, 0, 2)];
        else
            nd->weight = 1;
        nd->mode = cfg->profile == PROFILE_FORK ? BYZ_FORK
                                                : (enum byz_mode)sim_range(&w->rng, 0, BYZ_MODES - 1);
        tc_signstate_init(&nd->durable);
        if (tc_valset_add(&w->vs, &nd->kp.pk, nd->weight, NULL) != 0)
            abort();
        res->total_weight += nd->weight;
        if (nd->byz)
            res->byz_weight += nd->weight;
    }
    w->sched = tc_proposer_new(&w->vs);
    plan_faults(w);
    res->stable_ms = w->stable_ms;
    res->liveness_bound_ms = LIVENESS_BOUND_MS;
    for (int i = 0; i < w->n; i++) {
        node_boot(w, &w->nodes[i]);
        run_actions(w, &w->nodes[i]);
    }
    sim_event e;
    while (!w->failed && sim_evq_pop(&w->q, &e)) {
        w->now = e.t;
        res->events++;
        if (!w->snap_taken && w->now >= w->stable_ms) {
            uint64_t hi;
            honest_min_height(w, &hi);
            w->live_target = hi + 1;
            w->snap_taken = true;
        }
        handle(w, &e);
        uint64_t lo = honest_min_height(w, NULL);
        if (w->snap_taken && !w->live_done && lo >= w->live_target) {
            w->live_done = true;
            res->liveness_ms = w->now - w->stable_ms;
        }
        if (w->live_done && lo >= (uint64_t)cfg->heights)
            break;
        if (w->now > w->stable_ms + LIVENESS_BOUND_MS) {
            violation(w, "liveness: honest nodes at height %" PRIu64 " (target %" PRIu64
                         ") %d ms after the network healed",
                      lo, w->live_done ? (uint64_t)cfg->heights : w->live_target, LIVENESS_BOUND_MS);
            break;
        }
        if (res->events > EVENT_CAP) {
            violation(w, "event cap reached");
            break;
        }
    }
    if (w->failed && getenv("TC_SIM_DUMP"))
        for (int i = 0; i < w->n; i++) {
            node *nd = &w->nodes[i];
            if (!nd->core) {
                fprintf(stderr, "node %d down chain=%" PRIu64 "\n", i, nd->nchain);
                continue;
            }
            tc_hash lv;
            int32_t lr = tc_core_locked(nd->core, &lv);
            fprintf(stderr, "node %d byz=%d chain=%" PRIu64 " h=%" PRIu64 " r=%u step=%d lock=%d/%02x"
                            " signed=%" PRIu64 "/%u/%u/%02x\n",
                    i, nd->byz, nd->nchain, tc_core_height(nd->core), tc_core_round(nd->core),
                    tc_core_step(nd->core), lr, lv.b[1], nd->durable.height, nd->durable.round,
                    nd->durable.step, nd->durable.value.b[1]);
            for (size_t k = 0; k < w->vs.n; k++) {
                const tc_vote *pv = tc_core_vote(nd->core, tc_core_round(nd->core), 1, &w->vs.v[k].key);
                const tc_vote *pc = tc_core_vote(nd->core, tc_core_round(nd->core), 2, &w->vs.v[k].key);
                fprintf(stderr, "   val %zu w=%" PRIu64 " prevote=%02x precommit=%02x\n", k,
                        w->vs.v[k].weight, pv ? pv->block.b[1] : 0xee, pc ? pc->block.b[1] : 0xee);
            }
        }
    res->sim_ms = w->now;
    res->min_height = honest_min_height(w, NULL);
    for (int i = 0; i < w->n; i++)
        if (w->nodes[i].core) {
            tc_core_stats st;
            tc_core_get_stats(w->nodes[i].core, &st);
            res->refused += st.refused;
        }
    cleanup(w);
    free(w);
    return 0;
}
