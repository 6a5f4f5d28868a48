#include "consensus/core.h"

#include <stdlib.h>
#include <string.h>

#include "consensus/proposer.h"
#include "consensus/voteset.h"
#include "util/mem.h"

#define MAX_PROPOSALS TC_VOTESET_MAX_ROUNDS
#define MAX_VALIDITY 64

enum validity { V_UNKNOWN = 0, V_PENDING, V_VALID, V_INVALID };

/* Messages for the next height from one validator, newest last. */
struct future {
    tc_vote votes[TC_CORE_FUTURE_VOTES];
    size_t nv;
    tc_proposal props[TC_CORE_FUTURE_PROPOSALS];
    size_t np;
};

struct tc_core {
    tc_core_config cfg;
    tc_core_action *q; /* FIFO of actions: [qhead, qlen) pending */
    size_t qhead, qlen, qcap;

    /* the height */
    uint64_t height;
    uint32_t round;
    enum tc_step step;
    tc_valset vs;
    tc_proposer *proposer;
    tc_voteset *votes;
    long self; /* index in vs, -1 when not a validator */
    tc_cert last_commit;
    int32_t locked_round, valid_round;
    tc_hash locked_value, valid_value;
    tc_proposal props[MAX_PROPOSALS];
    size_t nprops;
    struct {
        tc_hash value;
        uint8_t state;
    } validity[MAX_VALIDITY];
    size_t nvalidity;
    uint32_t *maxround; /* per validator: highest round seen at this height */
    uint8_t *seen;

    /* "for the first time" guards of the current round */
    bool prevote_timeout_set, precommit_timeout_set, polka_done;

    /* the decision */
    uint32_t decided_round;
    tc_hash decided_value;
    tc_cert commit_cert, final_cert;

    /* messages for height + 1, per validator of the current set */
    struct future *future;
    size_t nfuture;

    tc_signstate last;
    tc_core_stats stats;
};

static const tc_hash NIL;

/* ---- actions ------------------------------------------------------------ */

static tc_core_action *push(tc_core *c, enum tc_action_kind kind)
{
    if (c->qhead == c->qlen)
        c->qhead = c->qlen = 0;
    if (c->qlen == c->qcap) {
        c->qcap = c->qcap ? 2 * c->qcap : 16;
        c->q = tc_xrealloc(c->q, c->qcap * sizeof *c->q);
    }
    tc_core_action *a = &c->q[c->qlen++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    return a;
}

bool tc_core_next_action(tc_core *c, tc_core_action *out)
{
    if (c->qhead == c->qlen)
        return false;
    *out = c->q[c->qhead++];
    return true;
}

static uint32_t timeout_ms(uint32_t base, uint32_t delta, uint32_t round)
{
    uint64_t ms = (uint64_t)base + (uint64_t)delta * round;
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static void schedule(tc_core *c, enum tc_timeout_kind kind)
{
    const tc_consensus_params *t = &c->cfg.timing;
    tc_core_action *a = push(c, TC_ACT_TIMEOUT);
    a->u.timeout.height = c->height;
    a->u.timeout.round = c->round;
    a->u.timeout.kind = kind;
    switch (kind) {
    case TC_TIMEOUT_PROPOSE:
        a->u.timeout.ms = timeout_ms(t->propose_timeout_ms, t->propose_delta_ms, c->round);
        break;
    case TC_TIMEOUT_PREVOTE:
        a->u.timeout.ms = timeout_ms(t->prevote_timeout_ms, t->prevote_delta_ms, c->round);
        break;
    case TC_TIMEOUT_PRECOMMIT:
        a->u.timeout.ms = timeout_ms(t->precommit_timeout_ms, t->precommit_delta_ms, c->round);
        break;
    case TC_TIMEOUT_COMMIT:
        a->u.timeout.ms = t->block_interval_ms;
        break;
    }
}

/* ---- per-height tables -------------------------------------------------- */

static uint8_t validity_of(const tc_core *c, const tc_hash *v)
{
    for (size_t i = 0; i < c->nvalidity; i++)
        if (tc_hash_eq(&c->validity[i].value, v))
            return c->validity[i].state;
    return V_UNKNOWN;
}

static void validity_set(tc_core *c, const tc_hash *v, uint8_t state)
{
    for (size_t i = 0; i < c->nvalidity; i++)
        if (tc_hash_eq(&c->validity[i].value, v)) {
            c->validity[i].state = state;
            return;
        }
    if (c->nvalidity == MAX_VALIDITY) { /* forget the oldest; it is asked again if needed */
        memmove(&c->validity[0], &c->validity[1], (MAX_VALIDITY - 1) * sizeof c->validity[0]);
        c->nvalidity--;
    }
    c->validity[c->nvalidity].value = *v;
    c->validity[c->nvalidity].state = state;
    c->nvalidity++;
}

static void request_check(tc_core *c, const tc_hash *v)
{
    if (validity_of(c, v) != V_UNKNOWN)
        return;
    validity_set(c, v, V_PENDING);
    tc_core_action *a = push(c, TC_ACT_CHECK);
    a->u.check.height = c->height;
    a->u.check.value = *v;
}

static bool is_valid(const tc_core *c, const tc_hash *v)
{
    return validity_of(c, v) == V_VALID;
}

static bool is_protected(const tc_core *c, uint32_t r)
{
    return r == c->round || (int64_t)r == c->locked_round || (int64_t)r == c->valid_round ||
           (uint64_t)r == (uint64_t)c->round + 1;
}

static void protect_rounds(tc_core *c)
{
    uint32_t keep[TC_VOTESET_MAX_PROTECT];
    size_t n = 0;
    keep[n++] = c->round;
    keep[n++] = c->round + 1;
    if (c->locked_round >= 0)
        keep[n++] = (uint32_t)c->locked_round;
    if (c->valid_round >= 0)
        keep[n++] = (uint32_t)c->valid_round;
    tc_voteset_protect(c->votes, keep, n);
}

static const tc_proposal *proposal_for(const tc_core *c, uint32_t round)
{
    for (size_t i = 0; i < c->nprops; i++)
        if (c->props[i].round == round)
            return &c->props[i];
    return NULL;
}

static int store_proposal(tc_core *c, const tc_proposal *p)
{
    if (c->nprops == MAX_PROPOSALS) {
        size_t victim = MAX_PROPOSALS;
        for (size_t i = 0; i < c->nprops; i++) {
            uint32_t r = c->props[i].round;
            if (r < p->round && !is_protected(c, r) &&
                (victim == MAX_PROPOSALS || r < c->props[victim].round))
                victim = i;
        }
        if (victim == MAX_PROPOSALS)
            return TC_ELIMIT;
        c->props[victim] = c->props[--c->nprops];
    }
    c->props[c->nprops++] = *p;
    return 0;
}

static uint64_t quorum(const tc_core *c)
{
    return tc_valset_quorum(&c->vs);
}

/* ---- signing ------------------------------------------------------------ */

/* Checks the guard, signs, records the new last-signed state and emits
 * PERSIST; the caller emits the message after it. */
static bool guard_and_sign(tc_core *c, uint8_t step, const tc_hash *value, const tc_hash *msg,
                           tc_sig *sig)
{
    if (c->self < 0 || c->cfg.iface.sign == NULL)
        return false;
    if (tc_signguard_check(&c->last, c->height, c->round, step, value) != 0) {
        c->stats.refused++;
        return false;
    }
    if (c->cfg.iface.sign(c->cfg.iface.ctx, msg, sig) != 0)
        return false;
    if (c->last.height != c->height)
        c->last.prevote_round = -1;
    if (step == TC_SIGN_PREVOTE) {
        c->last.prevote_round = (int32_t)c->round;
        c->last.prevote_value = *value;
    }
    c->last.height = c->height;
    c->last.round = c->round;
    c->last.step = step;
    c->last.value = *value;
    c->last.lock_round = c->locked_round;
    c->last.lock_value = c->locked_value;
    c->stats.signs++;
    push(c, TC_ACT_PERSIST)->u.persist = c->last;
    return true;
}

static void add_vote(tc_core *c, const tc_vote *v, size_t idx, int *rc);

static void cast_vote(tc_core *c, uint8_t type, const tc_hash *value)
{
    tc_vote v;
    tc_hash msg;
    memset(&v, 0, sizeof v);
    v.type = type;
    v.height = c->height;
    v.round = c->round;
    v.block = *value;
    v.validator = c->cfg.self;
    tc_vote_sign_bytes(&v, c->cfg.chain_id, &msg);
    if (!guard_and_sign(c, type == TC_VOTE_PREVOTE ? TC_SIGN_PREVOTE : TC_SIGN_PRECOMMIT, value,
                        &msg, &v.sig))
        return;
    push(c, TC_ACT_VOTE)->u.vote = v;
    int rc;
    add_vote(c, &v, (size_t)c->self, &rc);
}

/* After a restart in the precommit step: the prevote of this round, exactly
 * as signed before (recorded in the durable state). Not a new signature
 * decision, so the guard (which forbids going back a step) is not asked. */
static void resend_prevote(tc_core *c)
{
    tc_vote v;
    tc_hash msg;
    memset(&v, 0, sizeof v);
    v.type = TC_VOTE_PREVOTE;
    v.height = c->height;
    v.round = c->round;
    v.block = c->last.prevote_value;
    v.validator = c->cfg.self;
    tc_vote_sign_bytes(&v, c->cfg.chain_id, &msg);
    if (c->self < 0 || c->cfg.iface.sign == NULL ||
        c->cfg.iface.sign(c->cfg.iface.ctx, &msg, &v.sig) != 0)
        return;
    c->stats.signs++;
    push(c, TC_ACT_VOTE)->u.vote = v;
    int rc;
    add_vote(c, &v, (size_t)c->self, &rc);
}

/* ---- the algorithm ------------------------------------------------------ */

static void start_round(tc_core *c, uint32_t round)
{
    c->round = round;
    c->step = TC_STEP_PROPOSE;
    c->prevote_timeout_set = c->precommit_timeout_set = c->polka_done = false;
    c->stats.rounds++;
    if (round > 0)
        c->stats.round_changes++;
    protect_rounds(c);
    /* Scheduled for the proposer too: if it cannot propose (no value, or the
     * guard refuses after a restart) it still moves on. */
    schedule(c, TC_TIMEOUT_PROPOSE);
    if (c->self < 0 || tc_proposer_index(c->proposer, c->height, round) != (size_t)c->self)
        return;
    tc_proposal p;
    tc_hash msg;
    memset(&p, 0, sizeof p);
    p.height = c->height;
    p.round = round;
    p.proposer = c->cfg.self;
    if (c->valid_round >= 0) {
        p.block = c->valid_value;
        p.pol_round = c->valid_round;
    } else {
        p.pol_round = -1;
        if (c->cfg.iface.get_value == NULL ||
            c->cfg.iface.get_value(c->cfg.iface.ctx, c->height, round, &p.block) != 0 ||
            tc_hash_is_zero(&p.block))
            return;
        validity_set(c, &p.block, V_VALID); /* our own block */
    }
    tc_proposal_sign_bytes(&p, c->cfg.chain_id, &msg);
    if (!guard_and_sign(c, TC_SIGN_PROPOSAL, &p.block, &msg, &p.sig))
        return;
    push(c, TC_ACT_PROPOSAL)->u.proposal = p;
    if (proposal_for(c, round) == NULL)
        (void)store_proposal(c, &p);
}

static bool all_precommits_in(const tc_core *c)
{
    return tc_voteset_weight_any(c->votes, c->decided_round, TC_VOTE_PRECOMMIT) >= c->vs.total;
}

static void finish_height(tc_core *c)
{
    c->step = TC_STEP_DONE;
    tc_core_action *a = push(c, TC_ACT_NEXT_HEIGHT);
    a->u.commit.height = c->height;
    a->u.commit.round = c->decided_round;
    a->u.commit.value = c->decided_value;
    a->u.commit.cert = &c->final_cert;
}

/* Decides value at round; cert (from sync) or the held precommits certify it. */
static void decide(tc_core *c, uint32_t round, const tc_hash *value, const tc_cert *cert)
{
    c->step = TC_STEP_COMMIT;
    c->decided_round = round;
    c->decided_value = *value;
    tc_cert_release(&c->commit_cert);
    if (cert) {
        tc_cert_copy(&c->commit_cert, cert);
    } else {
        c->commit_cert.height = c->height;
        c->commit_cert.round = round;
        c->commit_cert.block = *value;
        for (size_t i = 0; i < c->vs.n; i++) {
            const tc_vote *v = tc_voteset_get_for(c->votes, round, TC_VOTE_PRECOMMIT, i, value);
            if (v && tc_cert_add(&c->commit_cert, v) != 0)
                abort(); /* one vote per validator, all matching: cannot fail */
        }
    }
    tc_core_action *a = push(c, TC_ACT_COMMIT);
    a->u.commit.height = c->height;
    a->u.commit.round = round;
    a->u.commit.value = *value;
    a->u.commit.cert = &c->commit_cert;
    tc_cert_release(&c->final_cert);
    tc_cert_copy(&c->final_cert, &c->commit_cert);
    if (cert || all_precommits_in(c))
        finish_height(c);
    else
        schedule(c, TC_TIMEOUT_COMMIT);
}

static int cmp_desc_round(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b; /* [round, weight] pairs */
    return x[0] < y[0] ? 1 : x[0] > y[0] ? -1 : 0;
}

/* The highest round r above the current one such that validators holding
 * more than 1/3 of the weight have sent messages for rounds ≥ r (0 if none).
 * The paper's rule asks for f+1 messages of one round; this one also lets a
 * node far behind catch up across rounds it never stored. Round changes never
 * affect safety, and r is at most a round some honest validator reached. */
static uint32_t skip_target(const tc_core *c)
{
    uint64_t need = tc_valset_one_third(&c->vs), ahead = 0;
    for (size_t i = 0; i < c->vs.n; i++)
        if (c->seen[i] && c->maxround[i] > c->round)
            ahead += c->vs.v[i].weight;
    if (ahead < need)
        return 0;
    uint64_t(*pairs)[2] = tc_xcalloc(c->vs.n, sizeof *pairs);
    size_t k = 0;
    for (size_t i = 0; i < c->vs.n; i++)
        if (c->seen[i] && c->maxround[i] > c->round) {
            pairs[k][0] = c->maxround[i];
            pairs[k][1] = c->vs.v[i].weight;
            k++;
        }
    qsort(pairs, k, sizeof *pairs, cmp_desc_round);
    uint64_t acc = 0;
    uint32_t target = 0;
    for (size_t i = 0; i < k; i++) {
        acc += pairs[i][1];
        if (acc >= need) {
            target = (uint32_t)pairs[i][0];
            break;
        }
    }
    free(pairs);
    return target;
}

/* The steps a rule body moves to. Each changes c->step in one place and signs
 * the vote the paper sends on entering the step (the guard may refuse it). */
static void enter_prevote(tc_core *c, const tc_hash *value)
{
    c->step = TC_STEP_PREVOTE;
    cast_vote(c, TC_VOTE_PREVOTE, value);
}

static void enter_precommit(tc_core *c, const tc_hash *value)
{
    c->step = TC_STEP_PRECOMMIT;
    cast_vote(c, TC_VOTE_PRECOMMIT, value);
}

/* The current round's proposal as the rules see it, taken once per pass of
 * progress: p is NULL if none is stored, v its value (NIL without one),
 * validity that of v (V_UNKNOWN without a proposal). */
typedef struct {
    const tc_proposal *p;
    tc_hash v;
    uint8_t validity;
} round_proposal;

/* L49: a proposal of any round with a quorum q of precommits, and a valid
 * value, decides. Returns true if it decided (step COMMIT or DONE then). */
static bool rule_decide(tc_core *c, uint64_t q)
{
    for (size_t i = 0; i < c->nprops; i++) {
        const tc_proposal *p = &c->props[i];
        if (tc_voteset_weight(c->votes, p->round, TC_VOTE_PRECOMMIT, &p->block) >= q &&
            is_valid(c, &p->block)) {
            tc_proposal copy = *p;
            decide(c, copy.round, &copy.block, NULL);
            return true;
        }
    }
    return false;
}

/* Propose step, L22 and L28: once the round's proposal is known valid or
 * invalid, prevote it or nil and enter the prevote step. Does nothing in any
 * other step or before the check is back. Returns true if it moved. */
static bool rules_propose(tc_core *c, const round_proposal *rp, uint64_t q)
{
    const tc_proposal *p = rp->p;
    if (c->step != TC_STEP_PROPOSE || p == NULL ||
        (rp->validity != V_VALID && rp->validity != V_INVALID))
        return false;
    bool valid = rp->validity == V_VALID;
    if (p->pol_round == -1) {
        /* L22 */
        bool ok = valid && (c->locked_round == -1 || tc_hash_eq(&c->locked_value, &rp->v));
        enter_prevote(c, ok ? &rp->v : &NIL);
        return true;
    }
    if (p->pol_round >= 0 && (uint32_t)p->pol_round < c->round &&
        tc_voteset_weight(c->votes, (uint32_t)p->pol_round, TC_VOTE_PREVOTE, &rp->v) >= q) {
        /* L28: a polka at pol_round unlocks a lock from an earlier round. */
        bool ok = valid && (c->locked_round <= p->pol_round || tc_hash_eq(&c->locked_value, &rp->v));
        enter_prevote(c, ok ? &rp->v : &NIL);
        return true;
    }
    return false;
}

/* Prevotes of the current round, L34, L36 and L44, in the paper's order:
 * a quorum of any prevotes starts timeout_prevote (prevote step, once); a
 * polka for the valid proposal locks and precommits it (prevote step) and sets
 * validValue (prevote or precommit step, once); a nil polka precommits nil
 * (prevote step). Returns true if a lock, validValue or the step moved. */
static bool rules_prevotes(tc_core *c, const round_proposal *rp, uint64_t q)
{
    bool moved = false;
    /* L34 */
    if (c->step == TC_STEP_PREVOTE && !c->prevote_timeout_set &&
        tc_voteset_weight_any(c->votes, c->round, TC_VOTE_PREVOTE) >= q) {
        c->prevote_timeout_set = true;
        schedule(c, TC_TIMEOUT_PREVOTE);
    }
    /* L36: a polka for the proposal locks (from prevote) and sets validValue. */
    if (c->step >= TC_STEP_PREVOTE && !c->polka_done && rp->p && rp->validity == V_VALID &&
        tc_voteset_weight(c->votes, c->round, TC_VOTE_PREVOTE, &rp->v) >= q) {
        c->polka_done = true;
        if (c->step == TC_STEP_PREVOTE) {
            c->locked_value = rp->v;
            c->locked_round = (int32_t)c->round;
            enter_precommit(c, &rp->v);
        }
        c->valid_value = rp->v;
        c->valid_round = (int32_t)c->round;
        protect_rounds(c);
        moved = true;
    }
    /* L44 */
    if (c->step == TC_STEP_PREVOTE &&
        tc_voteset_weight(c->votes, c->round, TC_VOTE_PREVOTE, &NIL) >= q) {
        enter_precommit(c, &NIL);
        moved = true;
    }
    return moved;
}

/* Precommits of the current round, in any step up to precommit: a quorum of
 * any precommits starts timeout_precommit (once, L47); a quorum of nil
 * precommits starts the next round at once. Returns true if the round moved. */
static bool rules_precommits(tc_core *c, uint64_t q)
{
    /* L47 */
    if (!c->precommit_timeout_set &&
        tc_voteset_weight_any(c->votes, c->round, TC_VOTE_PRECOMMIT) >= q) {
        c->precommit_timeout_set = true;
        schedule(c, TC_TIMEOUT_PRECOMMIT);
    }
    /* L47 shortened: a quorum of nil precommits. No value can gather a
     * quorum of precommits in this round unless more than 1/3 of the
     * weight equivocates, so waiting out timeout_precommit only delays
     * the next round (a dead proposer cost the whole timeout). Liveness
     * only: safety rests on the locks. */
    if (tc_voteset_weight(c->votes, c->round, TC_VOTE_PRECOMMIT, &NIL) >= q && c->round < UINT32_MAX) {
        start_round(c, c->round + 1);
        return true;
    }
    return false;
}

/* Applies every rule of Algorithm 1 that holds until none does. Line numbers
 * refer to the paper. Each pass runs the rules in a fixed order (decide, round
 * skip, propose step, prevotes, precommits), later ones seeing the step the
 * earlier ones left; a pass in which nothing moved ends it. */
static void progress(tc_core *c)
{
    uint64_t q = quorum(c);
    for (;;) {
        if (c->step < TC_STEP_PROPOSE || c->step > TC_STEP_PRECOMMIT)
            return;
        if (rule_decide(c, q))
            return;
        /* L55: round skip. */
        uint32_t skip = skip_target(c);
        if (skip > c->round) {
            start_round(c, skip);
            continue;
        }
        round_proposal rp = {.p = proposal_for(c, c->round), .v = NIL, .validity = V_UNKNOWN};
        if (rp.p) {
            rp.v = rp.p->block;
            rp.validity = validity_of(c, &rp.v);
        }
        bool moved = rules_propose(c, &rp, q);
        moved |= rules_prevotes(c, &rp, q);
        moved |= rules_precommits(c, q);
        if (!moved)
            return;
    }
}

/* ---- events ------------------------------------------------------------- */

static void add_vote(tc_core *c, const tc_vote *v, size_t idx, int *rc)
{
    tc_vote prev;
    *rc = tc_voteset_add(c->votes, v, idx, &prev);
    if (*rc == TC_ECONS_CONFLICT) {
        tc_core_action *a = push(c, TC_ACT_EVIDENCE);
        a->u.evidence.a = prev;
        a->u.evidence.b = *v;
        c->stats.evidence++;
    }
    if ((*rc != 0 && *rc != TC_ECONS_CONFLICT) || c->step != TC_STEP_COMMIT)
        return;
    if (v->type == TC_VOTE_PRECOMMIT && v->round == c->decided_round &&
        tc_hash_eq(&v->block, &c->decided_value)) {
        /* TC_EEXIST only if the round was evicted and its votes come again */
        int added = tc_cert_add(&c->final_cert, v);
        (void)added;
    }
    if (all_precommits_in(c))
        finish_height(c);
}

/* Field-wise: tc_vote has padding, so memcmp on whole structs is not equality. */
static bool vote_same(const tc_vote *a, const tc_vote *b)
{
    return a->type == b->type && a->height == b->height && a->round == b->round &&
           tc_hash_eq(&a->block, &b->block) &&
           memcmp(a->validator.b, b->validator.b, sizeof a->validator.b) == 0 &&
           memcmp(a->sig.b, b->sig.b, sizeof a->sig.b) == 0;
}

static int drop(tc_core *c, int err)
{
    c->stats.dropped++;
    return err;
}

static int check_sig(tc_core *c, const tc_pubkey *key, const tc_hash *msg, const tc_sig *sig)
{
    c->stats.verifies++;
    return tc_sigcache_verify(c->cfg.cache, key, msg->b, sizeof msg->b, sig);
}

static int vote_sig(tc_core *c, const tc_vote *v)
{
    tc_hash msg;
    tc_vote_sign_bytes(v, c->cfg.chain_id, &msg);
    return check_sig(c, &v->validator, &msg, &v->sig);
}

static int proposal_sig(tc_core *c, const tc_proposal *p)
{
    tc_hash msg;
    tc_proposal_sign_bytes(p, c->cfg.chain_id, &msg);
    return check_sig(c, &p->proposer, &msg, &p->sig);
}

static void note_round(tc_core *c, size_t idx, uint32_t round)
{
    if (!c->seen[idx] || round > c->maxround[idx]) {
        c->seen[idx] = 1;
        c->maxround[idx] = round;
    }
}

static bool beyond_window(const tc_core *c, uint32_t round)
{
    return (uint64_t)round > (uint64_t)c->round + TC_CORE_ROUND_WINDOW;
}

/* Buffering for height + 1: members of the current set only, signature
 * checked, a few messages per validator (the newest kept). */
static struct future *future_slot(tc_core *c, const tc_pubkey *key, int *err)
{
    long idx = tc_valset_find(&c->vs, key);
    if (idx < 0 || c->future == NULL) {
        *err = idx < 0 ? TC_ECONS_NOT_VALIDATOR : TC_ELIMIT;
        return NULL;
    }
    return &c->future[idx];
}

static int buffer_vote(tc_core *c, const tc_vote *v)
{
    int err;
    struct future *f = future_slot(c, &v->validator, &err);
    if (f == NULL)
        return drop(c, err);
    for (size_t i = 0; i < f->nv; i++)
        if (vote_same(&f->votes[i], v))
            return TC_ECONS_DUP;
    if (vote_sig(c, v) != 0)
        return drop(c, TC_ESIG);
    if (f->nv == TC_CORE_FUTURE_VOTES) {
        memmove(&f->votes[0], &f->votes[1], (TC_CORE_FUTURE_VOTES - 1) * sizeof *v);
        f->nv--;
        c->stats.dropped++;
    }
    f->votes[f->nv++] = *v;
    return TC_ECONS_FUTURE;
}

static int buffer_proposal(tc_core *c, const tc_proposal *p)
{
    int err;
    struct future *f = future_slot(c, &p->proposer, &err);
    if (f == NULL)
        return drop(c, err);
    for (size_t i = 0; i < f->np; i++)
        if (memcmp(&f->props[i], p, sizeof *p) == 0)
            return TC_ECONS_DUP;
    if (proposal_sig(c, p) != 0)
        return drop(c, TC_ESIG);
    if (f->np == TC_CORE_FUTURE_PROPOSALS) {
        memmove(&f->props[0], &f->props[1], (TC_CORE_FUTURE_PROPOSALS - 1) * sizeof *p);
        f->np--;
        c->stats.dropped++;
    }
    f->props[f->np++] = *p;
    return TC_ECONS_FUTURE;
}

int tc_core_on_vote(tc_core *c, const tc_vote *v)
{
    if (c->step == TC_STEP_NEW)
        return TC_ESTATE;
    if (v->type != TC_VOTE_PREVOTE && v->type != TC_VOTE_PRECOMMIT)
        return drop(c, TC_EBADVAL);
    if (c->height < UINT64_MAX && v->height == c->height + 1)
        return buffer_vote(c, v);
    if (v->height != c->height)
        return drop(c, TC_ECONS_OLD);
    long idx = tc_valset_find(&c->vs, &v->validator);
    if (idx < 0)
        return drop(c, TC_ECONS_NOT_VALIDATOR);
    const tc_vote *held = tc_voteset_get(c->votes, v->round, v->type, (size_t)idx);
    if (held && vote_same(held, v))
        return TC_ECONS_DUP; /* the common gossip repeat: no signature check */
    if (vote_sig(c, v) != 0)
        return drop(c, TC_ESIG);
    note_round(c, (size_t)idx, v->round);
    int rc;
    if (beyond_window(c, v->round)) {
        rc = drop(c, TC_ELIMIT);
    } else {
        add_vote(c, v, (size_t)idx, &rc);
        if (rc == TC_ELIMIT)
            c->stats.dropped++;
    }
    progress(c);
    return rc;
}

int tc_core_on_proposal(tc_core *c, const tc_proposal *p)
{
    if (c->step == TC_STEP_NEW)
        return TC_ESTATE;
    if (p->pol_round < -1 || (int64_t)p->pol_round >= (int64_t)p->round)
        return drop(c, TC_EBADVAL);
    if (c->height < UINT64_MAX && p->height == c->height + 1)
        return buffer_proposal(c, p);
    if (p->height != c->height)
        return drop(c, TC_ECONS_OLD);
    long idx = tc_valset_find(&c->vs, &p->proposer);
    if (idx < 0)
        return drop(c, TC_ECONS_NOT_VALIDATOR);
    if (tc_proposer_index(c->proposer, p->height, p->round) != (size_t)idx)
        return drop(c, TC_ECONS_PROPOSER);
    const tc_proposal *held = proposal_for(c, p->round);
    if (held && memcmp(held, p, sizeof *p) == 0)
        return TC_ECONS_DUP;
    if (proposal_sig(c, p) != 0)
        return drop(c, TC_ESIG);
    note_round(c, (size_t)idx, p->round);
    int rc = 0;
    if (held)
        rc = drop(c, TC_ECONS_EQUIVOCATION);
    else if (c->step >= TC_STEP_COMMIT)
        rc = drop(c, TC_ECONS_OLD);
    else if (beyond_window(c, p->round))
        rc = drop(c, TC_ELIMIT);
    else if ((rc = store_proposal(c, p)) != 0)
        c->stats.dropped++;
    else
        request_check(c, &p->block);
    progress(c);
    return rc;
}

void tc_core_on_timeout(tc_core *c, uint64_t height, uint32_t round, enum tc_timeout_kind kind)
{
    if (height != c->height)
        return;
    if (kind == TC_TIMEOUT_COMMIT) {
        if (c->step == TC_STEP_COMMIT)
            finish_height(c);
        return;
    }
    if (round != c->round || c->step < TC_STEP_PROPOSE || c->step > TC_STEP_PRECOMMIT)
        return;
    switch (kind) {
    case TC_TIMEOUT_PROPOSE: /* L57 */
        if (c->step == TC_STEP_PROPOSE) {
            c->step = TC_STEP_PREVOTE;
            cast_vote(c, TC_VOTE_PREVOTE, &NIL);
        }
        break;
    case TC_TIMEOUT_PREVOTE: /* L61 */
        if (c->step == TC_STEP_PREVOTE) {
            c->step = TC_STEP_PRECOMMIT;
            cast_vote(c, TC_VOTE_PRECOMMIT, &NIL);
        }
        break;
    case TC_TIMEOUT_PRECOMMIT: /* L65 */
        if (round < UINT32_MAX)
            start_round(c, round + 1);
        break;
    case TC_TIMEOUT_COMMIT:
        break;
    }
    progress(c);
}

void tc_core_on_validity(tc_core *c, uint64_t height, const tc_hash *value, bool valid)
{
    if (height != c->height || c->step == TC_STEP_NEW)
        return;
    validity_set(c, value, valid ? V_VALID : V_INVALID);
    progress(c);
}

int tc_core_on_certificate(tc_core *c, const tc_cert *cert)
{
    if (c->step == TC_STEP_NEW)
        return TC_ESTATE;
    if (cert->height != c->height || c->step >= TC_STEP_COMMIT)
        return TC_ECONS_OLD;
    int err = tc_cert_verify(cert, &c->vs, c->cfg.chain_id, c->height, &cert->block,
                             c->cfg.cache, NULL);
    if (err)
        return err;
    c->stats.verifies += cert->n;
    decide(c, cert->round, &cert->block, cert);
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

tc_core *tc_core_new(const tc_core_config *cfg)
{
    tc_core *c = tc_xcalloc(1, sizeof *c);
    c->cfg = *cfg;
    c->last = cfg->last_signed;
    c->step = TC_STEP_NEW;
    c->self = -1;
    c->locked_round = c->valid_round = -1;
    tc_valset_init(&c->vs);
    tc_cert_init(&c->last_commit);
    tc_cert_init(&c->commit_cert);
    tc_cert_init(&c->final_cert);
    return c;
}

static void release_height(tc_core *c)
{
    tc_voteset_free(c->votes);
    c->votes = NULL;
    tc_proposer_free(c->proposer);
    c->proposer = NULL;
    tc_valset_release(&c->vs);
    tc_cert_release(&c->last_commit);
    tc_cert_release(&c->commit_cert);
    tc_cert_release(&c->final_cert);
    free(c->maxround);
    free(c->seen);
    free(c->future);
    c->maxround = NULL;
    c->seen = NULL;
    c->future = NULL;
    c->nfuture = 0;
}

void tc_core_free(tc_core *c)
{
    if (c == NULL)
        return;
    release_height(c);
    free(c->q);
    free(c);
}

void tc_core_start_height(tc_core *c, uint64_t height, const tc_valset *vs,
                          const tc_cert *last_commit)
{
    if (vs->n == 0)
        abort(); /* a height needs validators: caller bug */
    tc_cert lc;
    tc_cert_init(&lc);
    if (last_commit)
        tc_cert_copy(&lc, last_commit); /* may point into this core */
    struct future *replay = NULL;
    size_t nreplay = 0;
    if (c->future && c->height + 1 == height) {
        replay = c->future;
        nreplay = c->nfuture;
        c->future = NULL;
    }
    release_height(c);
    c->last_commit = lc;
    tc_valset_copy(&c->vs, vs);
    c->height = height;
    c->proposer = tc_proposer_new(&c->vs);
    c->votes = tc_voteset_new(&c->vs, height);
    c->self = tc_valset_find(&c->vs, &c->cfg.self);
    c->locked_round = c->valid_round = -1;
    memset(&c->locked_value, 0, sizeof c->locked_value);
    memset(&c->valid_value, 0, sizeof c->valid_value);
    c->nprops = 0;
    c->nvalidity = 0;
    c->maxround = tc_xcalloc(vs->n, sizeof *c->maxround);
    c->seen = tc_xcalloc(vs->n, 1);
    c->future = tc_xcalloc(vs->n, sizeof *c->future);
    c->nfuture = vs->n;
    uint32_t round = 0;
    bool resumed = c->last.step != TC_SIGN_NONE && c->last.height == height;
    if (resumed) {
        /* Restarted inside this height: resume where we signed, with our lock. */
        round = c->last.round;
        if (c->last.lock_round >= 0) {
            c->locked_round = c->valid_round = c->last.lock_round;
            c->locked_value = c->valid_value = c->last.lock_value;
            validity_set(c, &c->locked_value, V_VALID);
        }
    }
    start_round(c, round);
    if (resumed && (c->last.step == TC_SIGN_PREVOTE || c->last.step == TC_SIGN_PRECOMMIT)) {
        /* Back at the step we signed, and send that vote again: the same
         * message, so the guard allows it (Ed25519 signatures are
         * deterministic); peers that never got it can count it. */
        tc_hash v = c->last.value;
        bool pre = c->last.step == TC_SIGN_PREVOTE;
        c->step = pre ? TC_STEP_PREVOTE : TC_STEP_PRECOMMIT;
        if (!pre && c->last.prevote_round == (int32_t)round)
            resend_prevote(c);
        cast_vote(c, pre ? TC_VOTE_PREVOTE : TC_VOTE_PRECOMMIT, &v);
    }
    progress(c);
    for (size_t i = 0; i < nreplay; i++)
        for (size_t k = 0; k < replay[i].np; k++)
            (void)tc_core_on_proposal(c, &replay[i].props[k]);
    for (size_t i = 0; i < nreplay; i++)
        for (size_t k = 0; k < replay[i].nv; k++)
            (void)tc_core_on_vote(c, &replay[i].votes[k]);
    free(replay);
}

/* ---- accessors ---------------------------------------------------------- */

uint64_t tc_core_height(const tc_core *c)
{
    return c->height;
}

uint32_t tc_core_round(const tc_core *c)
{
    return c->round;
}

enum tc_step tc_core_step(const tc_core *c)
{
    return c->step;
}

bool tc_core_proposer(const tc_core *c, uint32_t round, tc_pubkey *key)
{
    if (c->step == TC_STEP_NEW || c->proposer == NULL)
        return false;
    *key = c->vs.v[tc_proposer_index(c->proposer, c->height, round)].key;
    return true;
}

int32_t tc_core_locked(const tc_core *c, tc_hash *value)
{
    if (value)
        *value = c->locked_value;
    return c->locked_round;
}

int32_t tc_core_valid(const tc_core *c, tc_hash *value)
{
    if (value)
        *value = c->valid_value;
    return c->valid_round;
}

const tc_signstate *tc_core_last_signed(const tc_core *c)
{
    return &c->last;
}

const tc_vote *tc_core_vote(const tc_core *c, uint32_t round, uint8_t type, const tc_pubkey *key)
{
    if (c->votes == NULL)
        return NULL;
    long idx = tc_valset_find(&c->vs, key);
    return idx < 0 ? NULL : tc_voteset_get(c->votes, round, type, (size_t)idx);
}

void tc_core_get_stats(const tc_core *c, tc_core_stats *out)
{
    *out = c->stats;
}

void tc_core_memory(const tc_core *c, size_t *votes, size_t *rounds, size_t *buffered)
{
    *votes = c->votes ? tc_voteset_votes(c->votes) : 0;
    *rounds = c->votes ? tc_voteset_rounds(c->votes) : 0;
    size_t b = 0;
    for (size_t i = 0; i < c->nfuture; i++)
        b += c->future[i].nv + c->future[i].np;
    *buffered = b + c->nprops;
}
