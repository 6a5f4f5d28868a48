/* The consensus core, one short event script per rule of Algorithm 1: the
 * core under test is one of four equal-weight validators (quorum 3, skip
 * threshold 2); the other three are scripted here with real signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/core.h"
#include "consensus/proposer.h"
#include "consensus/voteset.h"

#define CHAIN 3
#define NV 4
#define H 1

static tc_keypair kp[NV]; /* by validator-set index */
static tc_valset vs;
static tc_proposer *sched;
static const tc_hash NIL;

typedef struct {
    tc_core *core;
    size_t self;
    tc_hash value; /* what get_value proposes */
    tc_core_action acts[512];
    size_t nacts, mark;
    tc_signstate persisted;
    bool persisted_any;
} harness;

static int sign_cb(void *ctx, const tc_hash *msg, tc_sig *sig)
{
    harness *h = ctx;
    tc_sign(&kp[h->self], msg->b, sizeof msg->b, sig);
    return 0;
}

static int value_cb(void *ctx, uint64_t height, uint32_t round, tc_hash *value)
{
    harness *h = ctx;
    *value = h->value;
    return 0;
}

static tc_hash val(uint8_t x)
{
    tc_hash v;
    memset(v.b, x, sizeof v.b);
    return v;
}

static int setup(void **state)
{
    (void)state;
    if (tc_crypto_init() != 0)
        return -1;
    tc_keypair tmp[NV];
    tc_valset_init(&vs);
    for (int i = 0; i < NV; i++) {
        uint8_t seed[32];
        memset(seed, 0x60 + i, sizeof seed);
        tc_keypair_from_seed(&tmp[i], seed);
        if (tc_valset_add(&vs, &tmp[i].pk, 1, NULL) != 0)
            return -1;
    }
    for (int i = 0; i < NV; i++)
        kp[tc_valset_find(&vs, &tmp[i].pk)] = tmp[i];
    sched = tc_proposer_new(&vs);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tc_proposer_free(sched);
    tc_valset_release(&vs);
    return 0;
}

static size_t proposer_of(uint64_t height, uint32_t round)
{
    return tc_proposer_index(sched, height, round);
}

/* Drains actions; every broadcast must follow a PERSIST of exactly what it signs. */
static void drain(harness *h)
{
    tc_core_action a;
    while (tc_core_next_action(h->core, &a)) {
        assert_true(h->nacts < 512);
        if (a.kind == TC_ACT_PERSIST) {
            h->persisted = a.u.persist;
            h->persisted_any = true;
        } else if (a.kind == TC_ACT_VOTE) {
            const tc_signstate *d = &h->persisted;
            const tc_vote *v = &a.u.vote;
            assert_true(h->persisted_any);
            assert_int_equal(d->height, v->height);
            if (v->type == TC_VOTE_PREVOTE && d->step == TC_SIGN_PRECOMMIT) {
                /* the prevote recorded beside a later precommit, sent again */
                assert_int_equal(d->prevote_round, v->round);
                assert_memory_equal(d->prevote_value.b, v->block.b, 32);
            } else {
                assert_int_equal(d->round, v->round);
                assert_int_equal(d->step, v->type == TC_VOTE_PREVOTE ? TC_SIGN_PREVOTE
                                                                     : TC_SIGN_PRECOMMIT);
                assert_memory_equal(d->value.b, v->block.b, 32);
            }
            assert_int_equal(tc_vote_verify(v, CHAIN), 0);
        } else if (a.kind == TC_ACT_PROPOSAL) {
            assert_int_equal(h->persisted.step, TC_SIGN_PROPOSAL);
            assert_int_equal(tc_proposal_verify(&a.u.proposal, CHAIN), 0);
        }
        h->acts[h->nacts++] = a;
    }
}

static void start(harness *h, size_t self, const tc_signstate *last)
{
    memset(h, 0, sizeof *h);
    h->self = self;
    h->value = val(0xaa);
    tc_core_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chain_id = CHAIN;
    cfg.timing.propose_timeout_ms = 1000;
    cfg.timing.propose_delta_ms = 100;
    cfg.timing.prevote_timeout_ms = 500;
    cfg.timing.prevote_delta_ms = 50;
    cfg.timing.precommit_timeout_ms = 400;
    cfg.timing.precommit_delta_ms = 40;
    cfg.timing.block_interval_ms = 200;
    cfg.self = kp[self].pk;
    cfg.iface.ctx = h;
    cfg.iface.sign = sign_cb;
    cfg.iface.get_value = value_cb;
    if (last) {
        cfg.last_signed = *last; /* what the sign log gave back */
        h->persisted = *last;
        h->persisted_any = true;
    } else
        tc_signstate_init(&cfg.last_signed);
    h->core = tc_core_new(&cfg);
    tc_core_start_height(h->core, H, &vs, NULL);
    drain(h);
}

static void finish(harness *h)
{
    tc_core_free(h->core);
}

/* The first action of kind since the mark (optionally a vote of type). */
static const tc_core_action *find(harness *h, enum tc_action_kind kind, uint8_t vote_type)
{
    for (size_t i = h->mark; i < h->nacts; i++)
        if (h->acts[i].kind == kind && (kind != TC_ACT_VOTE || h->acts[i].u.vote.type == vote_type))
            return &h->acts[i];
    return NULL;
}

static void mark(harness *h)
{
    h->mark = h->nacts;
}

static tc_vote make_vote(size_t i, uint8_t type, uint64_t height, uint32_t round, tc_hash v)
{
    tc_vote x;
    memset(&x, 0, sizeof x);
    x.type = type;
    x.height = height;
    x.round = round;
    x.block = v;
    tc_vote_sign(&x, CHAIN, &kp[i]);
    return x;
}

static int vote(harness *h, size_t i, uint8_t type, uint32_t round, tc_hash v)
{
    tc_vote x = make_vote(i, type, H, round, v);
    int rc = tc_core_on_vote(h->core, &x);
    drain(h);
    return rc;
}

static int propose(harness *h, size_t i, uint32_t round, int32_t pol, tc_hash v)
{
    tc_proposal p;
    memset(&p, 0, sizeof p);
    p.height = H;
    p.round = round;
    p.pol_round = pol;
    p.block = v;
    tc_proposal_sign(&p, CHAIN, &kp[i]);
    int rc = tc_core_on_proposal(h->core, &p);
    drain(h);
    return rc;
}

/* Answers every pending validity check: valid unless the value is `bad`. */
static void answer_checks(harness *h, const tc_hash *bad)
{
    for (size_t i = h->mark; i < h->nacts; i++)
        if (h->acts[i].kind == TC_ACT_CHECK) {
            tc_hash v = h->acts[i].u.check.value;
            tc_core_on_validity(h->core, h->acts[i].u.check.height, &v,
                                !(bad && tc_hash_eq(bad, &v)));
        }
    drain(h);
}

static void timeout(harness *h, uint32_t round, enum tc_timeout_kind kind)
{
    tc_core_on_timeout(h->core, H, round, kind);
    drain(h);
}

/* Validators other than self and the given one, for scripting "the others". */
static size_t other(const harness *h, size_t skip, size_t k)
{
    for (size_t i = 0; i < NV; i++)
        if (i != h->self && i != skip && k-- == 0)
            return i;
    fail();
    return 0;
}

static size_t non_proposer(uint32_t round)
{
    return (proposer_of(H, round) + 1) % NV;
}

static void assert_vote(harness *h, uint8_t type, uint32_t round, tc_hash v)
{
    const tc_core_action *a = find(h, TC_ACT_VOTE, type);
    assert_non_null(a);
    assert_int_equal(a->u.vote.round, round);
    assert_memory_equal(a->u.vote.block.b, v.b, 32);
}

/* Happy path: proposal, polka, lock, commit with a verifying certificate, and
 * the commit wait skipped once every precommit is in. */
static void test_commit(void **state)
{
    (void)state;
    harness h;
    size_t p = proposer_of(H, 0);
    start(&h, p, NULL);
    const tc_core_action *a = find(&h, TC_ACT_PROPOSAL, 0);
    assert_non_null(a);
    assert_int_equal(a->u.proposal.pol_round, -1);
    assert_vote(&h, TC_VOTE_PREVOTE, 0, h.value); /* own proposal is valid */
    mark(&h);
    assert_int_equal(vote(&h, other(&h, NV, 0), TC_VOTE_PREVOTE, 0, h.value), 0);
    assert_null(find(&h, TC_ACT_VOTE, TC_VOTE_PRECOMMIT));
    assert_int_equal(vote(&h, other(&h, NV, 1), TC_VOTE_PREVOTE, 0, h.value), 0);
    assert_vote(&h, TC_VOTE_PRECOMMIT, 0, h.value);
    tc_hash lv;
    assert_int_equal(tc_core_locked(h.core, &lv), 0);
    assert_memory_equal(lv.b, h.value.b, 32);
    assert_int_equal(h.persisted.lock_round, 0); /* the lock is made durable */
    mark(&h);
    vote(&h, other(&h, NV, 0), TC_VOTE_PRECOMMIT, 0, h.value);
    assert_null(find(&h, TC_ACT_COMMIT, 0));
    vote(&h, other(&h, NV, 1), TC_VOTE_PRECOMMIT, 0, h.value);
    a = find(&h, TC_ACT_COMMIT, 0);
    assert_non_null(a);
    assert_int_equal(a->u.commit.cert->n, 3);
    assert_int_equal(tc_cert_verify(a->u.commit.cert, &vs, CHAIN, H, &h.value, NULL, NULL), 0);
    assert_int_equal(tc_core_step(h.core), TC_STEP_COMMIT);
    const tc_core_action *t = find(&h, TC_ACT_TIMEOUT, 0);
    while (t && t->u.timeout.kind != TC_TIMEOUT_COMMIT)
        t++;
    assert_non_null(t);
    assert_int_equal(t->u.timeout.ms, 200);
    assert_null(find(&h, TC_ACT_NEXT_HEIGHT, 0));
    mark(&h);
    vote(&h, other(&h, NV, 2), TC_VOTE_PRECOMMIT, 0, h.value); /* the last one: skip the wait */
    a = find(&h, TC_ACT_NEXT_HEIGHT, 0);
    assert_non_null(a);
    assert_int_equal(a->u.commit.cert->n, 4);
    assert_int_equal(tc_core_step(h.core), TC_STEP_DONE);
    /* next height starts from the final certificate */
    tc_core_start_height(h.core, H + 1, &vs, a->u.commit.cert);
    assert_int_equal(tc_core_height(h.core), H + 1);
    assert_int_equal(tc_core_round(h.core), 0);
    assert_int_equal(tc_core_locked(h.core, NULL), -1);
    finish(&h);
}

/* Locking: after precommitting v, a new proposal of another value without a
 * proof of lock gets a nil prevote; an invalid block also gets nil. */
static void test_locking(void **state)
{
    (void)state;
    harness h;
    size_t self = non_proposer(0);
    while (self == proposer_of(H, 1))
        self = (self + 1) % NV;
    start(&h, self, NULL);
    tc_hash v = val(1), w = val(2);
    mark(&h);
    assert_int_equal(propose(&h, proposer_of(H, 0), 0, -1, v), 0);
    assert_non_null(find(&h, TC_ACT_CHECK, 0));
    assert_null(find(&h, TC_ACT_VOTE, TC_VOTE_PREVOTE)); /* waits for the validity answer */
    answer_checks(&h, NULL);
    assert_vote(&h, TC_VOTE_PREVOTE, 0, v);
    mark(&h);
    vote(&h, other(&h, NV, 0), TC_VOTE_PREVOTE, 0, v);
    vote(&h, other(&h, NV, 1), TC_VOTE_PREVOTE, 0, v);
    assert_vote(&h, TC_VOTE_PRECOMMIT, 0, v);
    assert_int_equal(tc_core_locked(h.core, NULL), 0);
    /* no commit: others precommit nil, round 0 times out */
    vote(&h, other(&h, NV, 0), TC_VOTE_PRECOMMIT, 0, NIL);
    vote(&h, other(&h, NV, 1), TC_VOTE_PRECOMMIT, 0, NIL);
    timeout(&h, 0, TC_TIMEOUT_PRECOMMIT);
    assert_int_equal(tc_core_round(h.core), 1);
    mark(&h);
    propose(&h, proposer_of(H, 1), 1, -1, w);
    answer_checks(&h, NULL);
    assert_vote(&h, TC_VOTE_PREVOTE, 1, NIL); /* locked on v */
    tc_hash lv;
    assert_int_equal(tc_core_locked(h.core, &lv), 0);
    assert_memory_equal(lv.b, v.b, 32);
    finish(&h);

    /* an invalid block is never prevoted */
    start(&h, non_proposer(0), NULL);
    mark(&h);
    propose(&h, proposer_of(H, 0), 0, -1, w);
    answer_checks(&h, &w);
    assert_vote(&h, TC_VOTE_PREVOTE, 0, NIL);
    finish(&h);
}

/* Unlocking: locked on v at round 0, a proposal of w at round 2 carrying a
 * proof of lock from round 1 (a polka for w there) gets a prevote for w. */
static void test_unlock_by_polka(void **state)
{
    (void)state;
    harness h;
    size_t self = NV;
    for (size_t i = 0; i < NV && self == NV; i++)
        if (i != proposer_of(H, 0) && i != proposer_of(H, 1) && i != proposer_of(H, 2))
            self = i;
    if (self == NV) /* schedule gives three distinct proposers among four */
        self = non_proposer(2);
    start(&h, self, NULL);
    tc_hash v = val(1), w = val(2);
    propose(&h, proposer_of(H, 0), 0, -1, v);
    answer_checks(&h, NULL);
    vote(&h, other(&h, NV, 0), TC_VOTE_PREVOTE, 0, v);
    vote(&h, other(&h, NV, 1), TC_VOTE_PREVOTE, 0, v);
    assert_int_equal(tc_core_locked(h.core, NULL), 0);
    vote(&h, other(&h, NV, 0), TC_VOTE_PRECOMMIT, 0, NIL);
    vote(&h, other(&h, NV, 1), TC_VOTE_PRECOMMIT, 0, NIL);
    timeout(&h, 0, TC_TIMEOUT_PRECOMMIT);
    /* round 1: no proposal reaches us; the others form a polka for w */
    mark(&h);
    timeout(&h, 1, TC_TIMEOUT_PROPOSE);
    assert_vote(&h, TC_VOTE_PREVOTE, 1, NIL);
    for (size_t k = 0; k < 3; k++)
        vote(&h, other(&h, NV, k), TC_VOTE_PREVOTE, 1, w);
    timeout(&h, 1, TC_TIMEOUT_PREVOTE);
    assert_vote(&h, TC_VOTE_PRECOMMIT, 1, NIL);
    for (size_t k = 0; k < 3; k++)
        vote(&h, other(&h, NV, k), TC_VOTE_PRECOMMIT, 1, NIL);
    timeout(&h, 1, TC_TIMEOUT_PRECOMMIT);
    assert_int_equal(tc_core_round(h.core), 2);
    assert_int_equal(tc_core_locked(h.core, NULL), 0); /* still locked on v */
    mark(&h);
    propose(&h, proposer_of(H, 2), 2, 1, w);
    answer_checks(&h, NULL);
    assert_vote(&h, TC_VOTE_PREVOTE, 2, w);
    finish(&h);
}

/* validRound re-proposal: a validator that saw a polka for v at round 0
 * proposes v with pol_round 0 when its turn comes, not a new block. */
static void test_valid_round_reproposal(void **state)
{
    (void)state;
    harness h;
    size_t self = proposer_of(H, 1);
    if (self == proposer_of(H, 0))
        skip();
    start(&h, self, NULL);
    tc_hash v = val(7);
    propose(&h, proposer_of(H, 0), 0, -1, v);
    answer_checks(&h, NULL);
    vote(&h, other(&h, NV, 0), TC_VOTE_PREVOTE, 0, v);
    vote(&h, other(&h, NV, 1), TC_VOTE_PREVOTE, 0, v);
    tc_hash vv;
    assert_int_equal(tc_core_valid(h.core, &vv), 0);
    assert_memory_equal(vv.b, v.b, 32);
    vote(&h, other(&h, NV, 0), TC_VOTE_PRECOMMIT, 0, NIL);
    vote(&h, other(&h, NV, 1), TC_VOTE_PRECOMMIT, 0, NIL);
    mark(&h);
    timeout(&h, 0, TC_TIMEOUT_PRECOMMIT);
    const tc_core_action *a = find(&h, TC_ACT_PROPOSAL, 0);
    assert_non_null(a);
    assert_int_equal(a->u.proposal.round, 1);
    assert_int_equal(a->u.proposal.pol_round, 0);
    assert_memory_equal(a->u.proposal.block.b, v.b, 32); /* not h.value */
    finish(&h);
}

/* Round skip: messages of a higher round from more than 1/3 of the weight. */
static void test_round_skip(void **state)
{
    (void)state;
    harness h;
    start(&h, non_proposer(0), NULL);
    vote(&h, other(&h, NV, 0), TC_VOTE_PREVOTE, 9, NIL); /* 1/4: not enough */
    assert_int_equal(tc_core_round(h.core), 0);
    vote(&h, other(&h, NV, 1), TC_VOTE_PREVOTE, 5, NIL); /* 2/4 at rounds >= 5 */
    assert_int_equal(tc_core_round(h.core), 5);
    if (proposer_of(H, 5) != h.self)
        assert_int_equal(tc_core_step(h.core), TC_STEP_PROPOSE);
    /* a lower round never moves it back */
    vote(&h, other(&h, NV, 2), TC_VOTE_PREVOTE, 3, NIL);
    assert_int_equal(tc_core_round(h.core), 5);
    finish(&h);
}

/* A non-proposer in round 0 after a dead proposer: a nil polka, then a
 * quorum of precommits of any value but no quorum for nil or a value, so
 * only timeout_precommit moves it on. */
static void start_mixed_precommits(harness *h)
{
    start(h, non_proposer(0), NULL);
    timeout(h, 0, TC_TIMEOUT_PROPOSE);
    for (size_t k = 0; k < 2; k++)
        vote(h, other(h, NV, k), TC_VOTE_PREVOTE, 0, NIL);
    vote(h, other(h, NV, 0), TC_VOTE_PRECOMMIT, 0, NIL);
    vote(h, other(h, NV, 1), TC_VOTE_PRECOMMIT, 0, val(9)); /* quorum of any, not of nil */
}

/* A dead proposer: after the propose timeout everyone precommits nil. A
 * quorum of nil precommits starts the next round at once; a quorum of mixed
 * precommits still waits out timeout_precommit (a value might yet win). */
static void test_nil_quorum_skips_precommit_wait(void **state)
{
    (void)state;
    harness h;
    start(&h, non_proposer(0), NULL);
    timeout(&h, 0, TC_TIMEOUT_PROPOSE);
    assert_vote(&h, TC_VOTE_PREVOTE, 0, NIL);
    for (size_t k = 0; k < 2; k++)
        vote(&h, other(&h, NV, k), TC_VOTE_PREVOTE, 0, NIL);
    assert_vote(&h, TC_VOTE_PRECOMMIT, 0, NIL); /* L44: a nil polka */
    vote(&h, other(&h, NV, 0), TC_VOTE_PRECOMMIT, 0, NIL);
    assert_int_equal(tc_core_round(h.core), 0); /* 2 of 4: no quorum yet */
    mark(&h);
    vote(&h, other(&h, NV, 1), TC_VOTE_PRECOMMIT, 0, NIL);
    assert_int_equal(tc_core_round(h.core), 1); /* no timeout needed */
    assert_non_null(find(&h, TC_ACT_TIMEOUT, 0)); /* round 1 arms its propose timeout */
    finish(&h);

    start_mixed_precommits(&h);
    assert_int_equal(tc_core_round(h.core), 0);
    timeout(&h, 0, TC_TIMEOUT_PRECOMMIT);
    assert_int_equal(tc_core_round(h.core), 1);
    finish(&h);
}

/* round_changes counts rounds above 0 only: a height decided in round 0
 * adds none (while `rounds` counts that height's round 0), a precommit
 * timeout to round 1 adds one. */
static void test_round_changes_counted(void **state)
{
    (void)state;
    harness h;
    tc_core_stats st;
    start(&h, proposer_of(H, 0), NULL);
    for (size_t k = 0; k < 3; k++)
        vote(&h, other(&h, NV, k), TC_VOTE_PREVOTE, 0, h.value);
    mark(&h);
    for (size_t k = 0; k < 3; k++)
        vote(&h, other(&h, NV, k), TC_VOTE_PRECOMMIT, 0, h.value);
    const tc_core_action *a = find(&h, TC_ACT_NEXT_HEIGHT, 0);
    assert_non_null(a);
    tc_core_get_stats(h.core, &st);
    assert_int_equal(st.rounds, 1);
    assert_int_equal(st.round_changes, 0); /* decided in round 0 */
    tc_core_start_height(h.core, H + 1, &vs, a->u.commit.cert);
    drain(&h);
    tc_core_get_stats(h.core, &st);
    assert_int_equal(st.rounds, 2); /* round 0 of H + 1 is started, not changed to */
    assert_int_equal(st.round_changes, 0);
    finish(&h);

    start_mixed_precommits(&h);
    tc_core_get_stats(h.core, &st);
    assert_int_equal(st.round_changes, 0);
    timeout(&h, 0, TC_TIMEOUT_PRECOMMIT);
    assert_int_equal(tc_core_round(h.core), 1);
    tc_core_get_stats(h.core, &st);
    assert_int_equal(st.rounds, 2);
    assert_int_equal(st.round_changes, 1);
    finish(&h);
}

static const tc_core_action *find_timeout(harness *h, enum tc_timeout_kind kind)
{
    for (size_t i = h->mark; i < h->nacts; i++)
        if (h->acts[i].kind == TC_ACT_TIMEOUT && h->acts[i].u.timeout.kind == kind)
            return &h->acts[i];
    return NULL;
}

/* Each timeout: scheduled when its rule says, base + delta * round, stale
 * ones ignored, and its effect. */
static void test_timeouts(void **state)
{
    (void)state;
    harness h;
    h.mark = 0;
    start(&h, non_proposer(0), NULL);
    const tc_core_action *t = find_timeout(&h, TC_TIMEOUT_PROPOSE);
    assert_non_null(t);
    assert_int_equal(t->u.timeout.ms, 1000);
    mark(&h);
    timeout(&h, 3, TC_TIMEOUT_PROPOSE); /* stale round: nothing */
    tc_core_on_timeout(h.core, H + 5, 0, TC_TIMEOUT_PROPOSE);
    drain(&h);
    assert_int_equal(h.nacts, h.mark);
    timeout(&h, 0, TC_TIMEOUT_PROPOSE); /* propose timeout: prevote nil */
    assert_vote(&h, TC_VOTE_PREVOTE, 0, NIL);
    assert_int_equal(tc_core_step(h.core), TC_STEP_PREVOTE);
    mark(&h);
    vote(&h, other(&h, NV, 0), TC_VOTE_PREVOTE, 0, val(1));
    assert_null(find_timeout(&h, TC_TIMEOUT_PREVOTE));
    vote(&h, other(&h, NV, 1), TC_VOTE_PREVOTE, 0, val(2)); /* 3 prevotes, no value has 3 */
    t = find_timeout(&h, TC_TIMEOUT_PREVOTE);
    assert_non_null(t);
    assert_int_equal(t->u.timeout.ms, 500);
    mark(&h);
    timeout(&h, 0, TC_TIMEOUT_PREVOTE); /* prevote timeout: precommit nil */
    assert_vote(&h, TC_VOTE_PRECOMMIT, 0, NIL);
    mark(&h);
    vote(&h, other(&h, NV, 0), TC_VOTE_PRECOMMIT, 0, val(1));
    assert_null(find_timeout(&h, TC_TIMEOUT_PRECOMMIT));
    vote(&h, other(&h, NV, 1), TC_VOTE_PRECOMMIT, 0, NIL);
    t = find_timeout(&h, TC_TIMEOUT_PRECOMMIT);
    assert_non_null(t);
    assert_int_equal(t->u.timeout.ms, 400);
    mark(&h);
    timeout(&h, 0, TC_TIMEOUT_PRECOMMIT); /* precommit timeout: next round */
    assert_int_equal(tc_core_round(h.core), 1);
    t = find_timeout(&h, TC_TIMEOUT_PROPOSE);
    assert_non_null(t);
    assert_int_equal(t->u.timeout.round, 1);
    assert_int_equal(t->u.timeout.ms, 1100); /* base + delta * round */
    timeout(&h, 0, TC_TIMEOUT_PRECOMMIT);    /* the old round's timeout again: ignored */
    assert_int_equal(tc_core_round(h.core), 1);
    finish(&h);

    /* the commit timeout ends the commit wait */
    start(&h, proposer_of(H, 0), NULL);
    for (size_t k = 0; k < 2; k++)
        vote(&h, other(&h, NV, k), TC_VOTE_PREVOTE, 0, h.value);
    for (size_t k = 0; k < 2; k++)
        vote(&h, other(&h, NV, k), TC_VOTE_PRECOMMIT, 0, h.value);
    assert_int_equal(tc_core_step(h.core), TC_STEP_COMMIT);
    mark(&h);
    timeout(&h, 0, TC_TIMEOUT_COMMIT);
    const tc_core_action *a = find(&h, TC_ACT_NEXT_HEIGHT, 0);
    assert_non_null(a);
    assert_int_equal(a->u.commit.cert->n, 3);
    finish(&h);
}

/* Duplicates count once; a conflicting vote is evidence (both signed votes);
 * bad signatures, strangers and wrong proposers are refused. */
static void test_duplicate_and_conflicting_votes(void **state)
{
    (void)state;
    harness h;
    start(&h, non_proposer(0), NULL);
    timeout(&h, 0, TC_TIMEOUT_PROPOSE);
    size_t a = other(&h, NV, 0), b = other(&h, NV, 1);
    mark(&h);
    assert_int_equal(vote(&h, a, TC_VOTE_PREVOTE, 0, NIL), 0);
    assert_int_equal(vote(&h, a, TC_VOTE_PREVOTE, 0, NIL), TC_ECONS_DUP);
    assert_int_equal(vote(&h, a, TC_VOTE_PREVOTE, 0, NIL), TC_ECONS_DUP);
    /* self + a = 2 nil prevotes: a duplicate must not make it 3 */
    assert_null(find(&h, TC_ACT_VOTE, TC_VOTE_PRECOMMIT));
    assert_int_equal(vote(&h, a, TC_VOTE_PREVOTE, 0, val(5)), TC_ECONS_CONFLICT);
    const tc_core_action *e = find(&h, TC_ACT_EVIDENCE, 0);
    assert_non_null(e);
    assert_true(tc_vote_conflict(&e->u.evidence.a, &e->u.evidence.b));
    assert_int_equal(tc_vote_verify(&e->u.evidence.a, CHAIN), 0);
    assert_int_equal(tc_vote_verify(&e->u.evidence.b, CHAIN), 0);
    assert_memory_equal(e->u.evidence.a.validator.b, kp[a].pk.b, 32);
    /* the first vote stays counted; a third value is no new evidence */
    mark(&h);
    assert_int_equal(vote(&h, a, TC_VOTE_PREVOTE, 0, val(6)), TC_ECONS_DUP);
    assert_null(find(&h, TC_ACT_EVIDENCE, 0));
    assert_int_equal(vote(&h, b, TC_VOTE_PREVOTE, 0, NIL), 0);
    assert_vote(&h, TC_VOTE_PRECOMMIT, 0, NIL); /* 3 nil prevotes */
    /* forged signature */
    tc_vote x = make_vote(b, TC_VOTE_PRECOMMIT, H, 0, NIL);
    x.sig.b[0] ^= 1;
    assert_int_equal(tc_core_on_vote(h.core, &x), TC_ESIG);
    /* not a validator */
    tc_keypair stranger;
    uint8_t seed[32] = {1};
    tc_keypair_from_seed(&stranger, seed);
    tc_vote_sign(&x, CHAIN, &stranger);
    assert_int_equal(tc_core_on_vote(h.core, &x), TC_ECONS_NOT_VALIDATOR);
    /* past height; proposal from someone else than the proposer */
    x = make_vote(b, TC_VOTE_PRECOMMIT, H - 1, 0, NIL);
    assert_int_equal(tc_core_on_vote(h.core, &x), TC_ECONS_OLD);
    assert_int_equal(propose(&h, non_proposer(1), 1, -1, val(3)), TC_ECONS_PROPOSER);
    /* equivocating proposer: the second proposal of a round is ignored */
    assert_int_equal(propose(&h, proposer_of(H, 1), 1, -1, val(3)), 0);
    assert_int_equal(propose(&h, proposer_of(H, 1), 1, -1, val(3)), TC_ECONS_DUP);
    assert_int_equal(propose(&h, proposer_of(H, 1), 1, -1, val(4)), TC_ECONS_EQUIVOCATION);
    tc_core_stats st;
    tc_core_get_stats(h.core, &st);
    assert_int_equal(st.evidence, 1);
    finish(&h);
}

/* Restart: the durable last-signed state makes a fresh core refuse to sign a
 * conflicting message, and it comes back with its lock. */
static void test_restart_refuses_double_sign(void **state)
{
    (void)state;
    harness h;
    size_t self = non_proposer(0);
    start(&h, self, NULL);
    tc_hash v = val(1), w = val(2);
    propose(&h, proposer_of(H, 0), 0, -1, v);
    answer_checks(&h, NULL);
    assert_vote(&h, TC_VOTE_PREVOTE, 0, v);
    tc_signstate durable = h.persisted;
    tc_vote sent = find(&h, TC_ACT_VOTE, TC_VOTE_PREVOTE)->u.vote;
    finish(&h); /* crash: memory is gone */

    /* restart: back at (1, 0) in the prevote step, the same prevote sent again */
    mark(&h);
    start(&h, self, &durable);
    assert_int_equal(tc_core_round(h.core), 0);
    assert_int_equal(tc_core_step(h.core), TC_STEP_PREVOTE);
    const tc_core_action *again = find(&h, TC_ACT_VOTE, TC_VOTE_PREVOTE);
    assert_non_null(again);
    tc_buf e1, e2; /* byte-identical on the wire */
    tc_buf_init(&e1);
    tc_buf_init(&e2);
    tc_vote_encode(&again->u.vote, &e1);
    tc_vote_encode(&sent, &e2);
    assert_memory_equal(e1.p, e2.p, TC_VOTE_SIZE);
    tc_buf_release(&e1);
    tc_buf_release(&e2);
    mark(&h);
    /* an equivocating proposer now shows w: no prevote for w at (1, 0) */
    propose(&h, proposer_of(H, 0), 0, -1, w);
    answer_checks(&h, NULL);
    timeout(&h, 0, TC_TIMEOUT_PROPOSE);
    assert_null(find(&h, TC_ACT_VOTE, TC_VOTE_PREVOTE));
    /* a later step is fine: the others' polka for w makes it precommit w at round 0
     * (a prevote does not bind the precommit of the same round) */
    for (size_t k = 0; k < 3; k++)
        vote(&h, other(&h, NV, k), TC_VOTE_PREVOTE, 0, w);
    assert_vote(&h, TC_VOTE_PRECOMMIT, 0, w);
    finish(&h);

    /* the guard refuses outright: a proposer that signed a proposal for x at
     * (1, 0) restarts and its block source now offers another block */
    size_t p0 = proposer_of(H, 0);
    tc_signstate signed_x;
    tc_signstate_init(&signed_x);
    signed_x.height = H;
    signed_x.round = 0;
    signed_x.step = TC_SIGN_PROPOSAL;
    signed_x.value = val(0x33);
    start(&h, p0, &signed_x);
    assert_null(find(&h, TC_ACT_PROPOSAL, 0));
    assert_null(find(&h, TC_ACT_PERSIST, 0));
    tc_core_stats st;
    tc_core_get_stats(h.core, &st);
    assert_int_equal(st.refused, 1);
    finish(&h);

    /* the lock survives: precommit v at round 0, crash, restart */
    start(&h, self, NULL);
    propose(&h, proposer_of(H, 0), 0, -1, v);
    answer_checks(&h, NULL);
    vote(&h, other(&h, NV, 0), TC_VOTE_PREVOTE, 0, v);
    vote(&h, other(&h, NV, 1), TC_VOTE_PREVOTE, 0, v);
    assert_vote(&h, TC_VOTE_PRECOMMIT, 0, v);
    durable = h.persisted;
    finish(&h);
    mark(&h);
    start(&h, self, &durable);
    assert_int_equal(durable.prevote_round, 0);
    assert_vote(&h, TC_VOTE_PREVOTE, 0, v);   /* both its votes of round 0 sent again */
    assert_vote(&h, TC_VOTE_PRECOMMIT, 0, v);
    tc_hash lv;
    assert_int_equal(tc_core_locked(h.core, &lv), 0);
    assert_memory_equal(lv.b, v.b, 32);
    mark(&h);
    vote(&h, other(&h, NV, 0), TC_VOTE_PRECOMMIT, 0, NIL);
    vote(&h, other(&h, NV, 1), TC_VOTE_PRECOMMIT, 0, NIL);
    timeout(&h, 0, TC_TIMEOUT_PRECOMMIT);
    propose(&h, proposer_of(H, 1), 1, -1, w);
    answer_checks(&h, NULL);
    if (proposer_of(H, 1) != self)
        assert_vote(&h, TC_VOTE_PREVOTE, 1, NIL); /* still locked on v after restart */
    finish(&h);

    /* the guard's rule by itself */
    tc_signstate s;
    tc_signstate_init(&s);
    assert_int_equal(tc_signguard_check(&s, 1, 0, TC_SIGN_PREVOTE, &v), 0);
    s.height = 5;
    s.round = 2;
    s.step = TC_SIGN_PREVOTE;
    s.value = v;
    assert_int_equal(tc_signguard_check(&s, 5, 2, TC_SIGN_PREVOTE, &v), 0); /* same message */
    assert_int_equal(tc_signguard_check(&s, 5, 2, TC_SIGN_PREVOTE, &w), TC_ECONS_DOUBLE_SIGN);
    assert_int_equal(tc_signguard_check(&s, 5, 2, TC_SIGN_PROPOSAL, &v), TC_ECONS_DOUBLE_SIGN);
    assert_int_equal(tc_signguard_check(&s, 5, 1, TC_SIGN_PRECOMMIT, &v), TC_ECONS_DOUBLE_SIGN);
    assert_int_equal(tc_signguard_check(&s, 4, 9, TC_SIGN_PRECOMMIT, &v), TC_ECONS_DOUBLE_SIGN);
    assert_int_equal(tc_signguard_check(&s, 5, 2, TC_SIGN_PRECOMMIT, &w), 0);
    assert_int_equal(tc_signguard_check(&s, 5, 3, TC_SIGN_PROPOSAL, &w), 0);
    assert_int_equal(tc_signguard_check(&s, 6, 0, TC_SIGN_PROPOSAL, &w), 0);
}

/* A Byzantine validator floods every round and future heights: memory stays
 * within the documented bounds and it cannot drag the round forward. */
static void test_flood_is_bounded(void **state)
{
    (void)state;
    harness h;
    start(&h, non_proposer(0), NULL);
    size_t byz = other(&h, NV, 0);
    size_t votes, rounds, buffered;
    for (uint32_t r = 0; r < 3000; r++) {
        tc_vote x = make_vote(byz, r % 2 ? TC_VOTE_PREVOTE : TC_VOTE_PRECOMMIT, H, r, val((uint8_t)r));
        (void)tc_core_on_vote(h.core, &x);
        x = make_vote(byz, TC_VOTE_PREVOTE, H + 1, r, val((uint8_t)r));
        (void)tc_core_on_vote(h.core, &x);
        x = make_vote(byz, TC_VOTE_PREVOTE, H + 2 + r, 0, NIL);
        assert_int_equal(tc_core_on_vote(h.core, &x), TC_ECONS_OLD);
        if (r % 64 == 0) {
            tc_core_memory(h.core, &votes, &rounds, &buffered);
            assert_true(rounds <= TC_VOTESET_MAX_ROUNDS);
            assert_true(votes <= rounds * 2 * 2 * NV); /* first + one conflicting per slot */
            assert_true(buffered <= NV * (TC_CORE_FUTURE_VOTES + TC_CORE_FUTURE_PROPOSALS) +
                                        TC_VOTESET_MAX_ROUNDS);
        }
        tc_core_action a;
        while (tc_core_next_action(h.core, &a)) /* discard */
            ;
    }
    tc_core_memory(h.core, &votes, &rounds, &buffered);
    assert_true(rounds <= TC_CORE_ROUND_WINDOW + 1);
    assert_true(buffered <= TC_CORE_FUTURE_VOTES);
    assert_int_equal(tc_core_round(h.core), 0); /* one validator is not 1/3 */
    finish(&h);
}

/* Messages for the next height wait in the buffer and are replayed. */
static void test_future_height_replayed(void **state)
{
    (void)state;
    harness h;
    size_t self = proposer_of(H, 0);
    start(&h, self, NULL);
    tc_vote early[2];
    for (size_t k = 0; k < 2; k++) {
        early[k] = make_vote(other(&h, NV, k), TC_VOTE_PREVOTE, H + 1, 0, NIL);
        assert_int_equal(tc_core_on_vote(h.core, &early[k]), TC_ECONS_FUTURE);
    }
    for (size_t k = 0; k < 2; k++)
        vote(&h, other(&h, NV, k), TC_VOTE_PREVOTE, 0, h.value);
    for (size_t k = 0; k < 3; k++)
        vote(&h, other(&h, NV, k), TC_VOTE_PRECOMMIT, 0, h.value);
    const tc_core_action *a = find(&h, TC_ACT_NEXT_HEIGHT, 0);
    assert_non_null(a);
    tc_core_start_height(h.core, H + 1, &vs, a->u.commit.cert);
    drain(&h);
    for (size_t k = 0; k < 2; k++)
        assert_non_null(tc_core_vote(h.core, 0, TC_VOTE_PREVOTE, &early[k].validator));
    finish(&h);
}

/* Sync: a valid certificate for the current height decides at once. */
static void test_certificate_decides(void **state)
{
    (void)state;
    harness h;
    start(&h, non_proposer(0), NULL);
    tc_hash v = val(9);
    tc_cert c;
    tc_cert_init(&c);
    c.height = H;
    c.round = 4;
    c.block = v;
    for (size_t k = 0; k < 2; k++) {
        tc_vote x = make_vote(other(&h, NV, k), TC_VOTE_PRECOMMIT, H, 4, v);
        assert_int_equal(tc_cert_add(&c, &x), 0);
    }
    assert_int_equal(tc_core_on_certificate(h.core, &c), TC_ECERT_QUORUM);
    tc_vote x = make_vote(other(&h, NV, 2), TC_VOTE_PRECOMMIT, H, 4, v);
    assert_int_equal(tc_cert_add(&c, &x), 0);
    mark(&h);
    assert_int_equal(tc_core_on_certificate(h.core, &c), 0);
    drain(&h);
    assert_non_null(find(&h, TC_ACT_COMMIT, 0));
    assert_non_null(find(&h, TC_ACT_NEXT_HEIGHT, 0));
    assert_int_equal(tc_core_on_certificate(h.core, &c), TC_ECONS_OLD);
    tc_cert_release(&c);
    finish(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit),
        cmocka_unit_test(test_locking),
        cmocka_unit_test(test_unlock_by_polka),
        cmocka_unit_test(test_valid_round_reproposal),
        cmocka_unit_test(test_round_skip),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_duplicate_and_conflicting_votes),
        cmocka_unit_test(test_restart_refuses_double_sign),
        cmocka_unit_test(test_flood_is_bounded),
        cmocka_unit_test(test_future_height_replayed),
        cmocka_unit_test(test_certificate_decides),
        cmocka_unit_test(test_nil_quorum_skips_precommit_wait),
        cmocka_unit_test(test_round_changes_counted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
