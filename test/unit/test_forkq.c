/* The fork query under a fake clock and a fake network: the binary search
 * for the fork height, counting by validator weight (never by links or
 * non-validators), the 2/3 threshold, culprits that signed both branches,
 * backoff, too deep a rollback, resolution, and the halt on two valid
 * certificates with the operator's pick of a branch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/forkq.h"

#define TIP 40
#define MAXV 8

typedef struct {
    uint64_t t;
    uint64_t fork;            /* first height where the peers' chain differs from ours */
    tc_hash ours[TIP + 1], theirs[TIP + 1];
    size_t nv;                /* validators 1..nv, weight 1 each */
    uint64_t gethash_peer[80], gethash_h[80];
    size_t n_gethash, broadcasts;
    uint64_t broadcast_h;
    size_t peers;             /* what a broadcast reaches */
    uint64_t decided_h;
    tc_hash decided_hash;
    int n_decided;
    bool can_roll;
    int verdict_win, verdict_lose;
    uint64_t woke;
    tc_vote ev_a[MAXV], ev_b[MAXV]; /* evidence recorded */
    size_t n_evidence;
    int halts_on, halts_off;  /* iface.halt calls */
} world;

static tc_pubkey key(int i)
{
    tc_pubkey k;
    memset(&k, 0, sizeof k);
    k.b[0] = (uint8_t)i;
    return k;
}

static tc_hash hash_of(int chain, uint64_t h)
{
    tc_hash x;
    memset(&x, 0, sizeof x);
    x.b[0] = (uint8_t)chain;
    x.b[1] = (uint8_t)h;
    x.b[31] = 1;
    return x;
}

static uint64_t w_now(void *ctx)
{
    return ((world *)ctx)->t;
}

/* Our certificate at h: signed by validators 1..nv (culprit tests replace it). */
static tc_pubkey our_signers[MAXV];
static size_t n_our_signers;

static void fill_cert(tc_cert *c, uint64_t h, const tc_hash *block, const tc_pubkey *signers, size_t n)
{
    tc_cert_init(c);
    c->height = h;
    c->block = *block;
    c->n = n;
    c->sigs = calloc(n ? n : 1, sizeof *c->sigs);
    for (size_t i = 0; i < n; i++)
        c->sigs[i].key = signers[i];
}

static int w_our_cert(void *ctx, uint64_t h, tc_cert *out)
{
    world *w = ctx;
    if (h == 0 || h > TIP)
        return -1;
    fill_cert(out, h, &w->ours[h], our_signers, n_our_signers);
    return 0;
}

static int w_valset(void *ctx, uint64_t h, tc_valset *out)
{
    world *w = ctx;
    tc_valset_init(out);
    tc_address a;
    memset(&a, 0, sizeof a);
    for (size_t i = 1; i <= w->nv; i++) {
        tc_pubkey k = key((int)i);
        assert_int_equal(tc_valset_add(out, &k, 1, &a), 0);
    }
    return h ? 0 : -1;
}

static int w_send(void *ctx, uint64_t peer, uint64_t h)
{
    world *w = ctx;
    w->gethash_peer[w->n_gethash] = peer;
    w->gethash_h[w->n_gethash++] = h;
    return 0;
}

static size_t w_broadcast(void *ctx, uint64_t h)
{
    world *w = ctx;
    w->broadcasts++;
    w->broadcast_h = h;
    return w->peers;
}

static void w_wake(void *ctx, uint64_t ms)
{
    ((world *)ctx)->woke = ms;
}

static bool w_decided(void *ctx, uint64_t h, const tc_hash *hash)
{
    world *w = ctx;
    w->n_decided++;
    w->decided_h = h;
    w->decided_hash = *hash;
    return w->can_roll;
}

static void w_verdict(void *ctx, uint64_t peer, bool win)
{
    world *w = ctx;
    (void)peer;
    if (win)
        w->verdict_win++;
    else
        w->verdict_lose++;
}

static void w_evidence(void *ctx, const tc_vote *a, const tc_vote *b)
{
    world *w = ctx;
    assert_true(w->n_evidence < MAXV);
    w->ev_a[w->n_evidence] = *a;
    w->ev_b[w->n_evidence++] = *b;
}

static void w_halt(void *ctx, bool on)
{
    world *w = ctx;
    if (on)
        w->halts_on++;
    else
        w->halts_off++;
}

static tc_forkq *make(world *w, uint64_t fork, size_t nv, size_t peers)
{
    memset(w, 0, sizeof *w);
    w->t = 1000;
    w->fork = fork;
    w->nv = nv;
    w->peers = peers;
    w->can_roll = true;
    for (uint64_t h = 1; h <= TIP; h++) {
        w->ours[h] = hash_of(1, h);
        w->theirs[h] = h < fork ? w->ours[h] : hash_of(2, h);
    }
    n_our_signers = nv;
    for (size_t i = 0; i < nv; i++)
        our_signers[i] = key((int)i + 1);
    tc_forkq_iface io = {w, w_now, w_our_cert, w_valset, w_send, w_broadcast, w_wake, w_decided, w_verdict,
                         w_evidence, w_halt};
    return tc_forkq_new(&io, 5000, 60000);
}

/* peer answers hash at h; voter: validator index or 0. */
static void answer(tc_forkq *q, world *w, uint64_t peer, uint64_t h, int voter, const tc_hash *hash)
{
    /* signers the module never compares (it trusts cert_valid): only
     * test_culprits_excluded gives the other branch real double signers */
    tc_pubkey signers[1] = {key(100)}, v = key(voter);
    tc_cert c;
    fill_cert(&c, h, hash, signers, 1);
    tc_forkq_answer a = {h, *hash, true, &c, voter ? &v : NULL};
    tc_forkq_on_hash(q, peer, &a);
    tc_cert_release(&c);
}

/* Answers the search asks of peer 7 until the query starts; returns the asks. */
static size_t run_search(tc_forkq *q, world *w)
{
    size_t asks = 0;
    tc_forkq_status st;
    for (tc_forkq_status_get(q, &st); st.state == TC_FORKQ_SEARCHING; tc_forkq_status_get(q, &st)) {
        assert_true(w->n_gethash > asks);
        assert_int_equal(w->gethash_peer[asks], 7);
        uint64_t h = w->gethash_h[asks++];
        answer(q, w, 7, h, 0, &w->theirs[h]);
    }
    return asks;
}

/* A binary search finds the lowest differing height in log2 asks; three of
 * four validators for the other branch decide it. */
static void test_search_and_decide(void **state)
{
    (void)state;
    world w;
    tc_forkq *q = make(&w, 23, 4, 5);
    tc_forkq_suspect(q, 7, TIP);
    size_t asks = run_search(q, &w);
    assert_true(asks <= 6);
    tc_forkq_status st;
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_QUERYING);
    assert_int_equal(w.broadcasts, 1);
    assert_int_equal(w.broadcast_h, 23);
    answer(q, &w, 10, 23, 1, &w.theirs[23]);
    answer(q, &w, 11, 23, 2, &w.theirs[23]);
    answer(q, &w, 12, 23, 3, &w.theirs[23]);
    assert_int_equal(w.n_decided, 0);
    answer(q, &w, 13, 23, 0, &w.ours[23]); /* a non-validator for ours */
    answer(q, &w, 14, 23, 4, &w.ours[23]);
    assert_int_equal(w.n_decided, 1);
    assert_int_equal(w.decided_h, 23);
    assert_true(tc_hash_eq(&w.decided_hash, &w.theirs[23]));
    assert_int_equal(w.verdict_win, 3);
    assert_int_equal(w.verdict_lose, 2);
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_DECIDED);
    assert_int_equal(st.weight_for, 3);
    assert_int_equal(st.weight_against, 1);
    assert_int_equal(st.weight_total, 4);
    assert_int_equal(st.answers, 5);
    uint64_t ph;
    tc_hash phash;
    assert_true(tc_forkq_pinned(q, &ph, &phash));
    assert_int_equal(ph, 23);
    /* resolved once our chain holds the winner there */
    w.ours[23] = w.theirs[23];
    tc_forkq_tick(q);
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_IDLE);
    assert_false(tc_forkq_pinned(q, &ph, &phash));
    tc_forkq_free(q);
}

/* Many links and non-validators are worth nothing: 2 of 4 validators and
 * ten strangers do not reach 2/3; the query is asked again after a backoff
 * that doubles up to its cap; a validator on two links counts once. */
static void test_weight_not_links(void **state)
{
    (void)state;
    world w;
    tc_forkq *q = make(&w, 1, 4, 14);
    tc_forkq_suspect(q, 7, 1); /* fork at 1: no search */
    assert_int_equal(w.broadcasts, 1);
    for (uint64_t p = 20; p < 30; p++)
        answer(q, &w, p, 1, 0, &w.theirs[1]);
    answer(q, &w, 30, 1, 1, &w.theirs[1]);
    answer(q, &w, 31, 1, 1, &w.theirs[1]); /* validator 1 again, another link */
    answer(q, &w, 32, 1, 2, &w.theirs[1]);
    answer(q, &w, 32, 1, 3, &w.theirs[1]); /* a second answer on one link: ignored */
    answer(q, &w, 33, 1, 0, &w.theirs[1]);
    assert_int_equal(w.n_decided, 0);
    tc_forkq_status st;
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.weight_for, 2);
    assert_int_equal(st.undecided, 1);
    assert_int_equal(w.woke, 5000);
    uint64_t waits[6];
    for (int i = 0; i < 6; i++) {
        w.t += w.woke;
        tc_forkq_tick(q); /* asks again */
        assert_int_equal(w.broadcasts, 2 + (size_t)i);
        w.t += 5000;
        tc_forkq_tick(q); /* nobody answers: the deadline decides nothing */
        waits[i] = w.woke;
    }
    assert_int_equal(waits[0], 10000);
    assert_int_equal(waits[1], 20000);
    assert_int_equal(waits[2], 40000);
    assert_int_equal(waits[3], 60000);
    assert_int_equal(waits[5], 60000);
    assert_int_equal(w.n_decided, 0);
    tc_forkq_free(q);
}

/* Our block keeps the weight: nothing is undone. */
static void test_ours_wins(void **state)
{
    (void)state;
    world w;
    tc_forkq *q = make(&w, 5, 4, 3);
    tc_forkq_suspect(q, 7, TIP);
    run_search(q, &w);
    answer(q, &w, 10, 5, 1, &w.ours[5]);
    answer(q, &w, 11, 5, 2, &w.ours[5]);
    answer(q, &w, 12, 5, 3, &w.ours[5]);
    assert_int_equal(w.n_decided, 0);
    tc_forkq_status st;
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_IDLE);
    assert_int_equal(st.decisions, 1);
    tc_forkq_free(q);
}

/* Validators 3, 4, 5 signed both certificates at the fork height: their
 * answers (for ours) count for nothing and the threshold is 2/3 of the
 * other four; 3 of those 4 decide for the other branch. Counting them, 3
 * against 3 of 7 would decide nothing. */
static void test_culprits_excluded(void **state)
{
    (void)state;
    world w;
    tc_forkq *q = make(&w, 1, 7, 6);
    n_our_signers = 5; /* ours: 1..5 */
    tc_forkq_suspect(q, 7, 1);
    tc_pubkey theirs_signers[5] = {key(3), key(4), key(5), key(6), key(7)}, v;
    tc_cert c;
    fill_cert(&c, 1, &w.theirs[1], theirs_signers, 5);
    int voters[3] = {6, 7, 1};
    for (int i = 0; i < 3; i++) {
        v = key(voters[i]);
        tc_forkq_answer a = {1, w.theirs[1], true, &c, &v};
        tc_forkq_on_hash(q, 40 + (uint64_t)i, &a);
    }
    tc_cert_release(&c);
    answer(q, &w, 50, 1, 3, &w.ours[1]);
    answer(q, &w, 51, 1, 4, &w.ours[1]);
    assert_int_equal(w.n_decided, 0);
    assert_true(tc_forkq_halted(q, NULL)); /* two valid certificates held: commits halt at once */
    answer(q, &w, 52, 1, 5, &w.ours[1]);
    assert_int_equal(w.n_decided, 1);
    tc_forkq_status st;
    tc_forkq_status_get(q, &st);
    /* decided with the culprits' weight out: the halt lifts, rollback goes on */
    assert_false(tc_forkq_halted(q, NULL));
    assert_false(st.halted);
    assert_int_equal(st.state, TC_FORKQ_DECIDED);
    assert_int_equal(w.halts_on, 1);
    assert_int_equal(w.halts_off, 1);
    assert_int_equal(st.n_culprits, 3);
    assert_int_equal(st.culprit_weight, 3);
    assert_int_equal(st.weight_total, 4);
    assert_int_equal(st.weight_for, 3);
    assert_int_equal(st.weight_against, 0);
    const tc_pubkey *cul;
    assert_int_equal(tc_forkq_culprits(q, &cul), 3);
    assert_int_equal(cul[0].b[0], 3);
    /* both certificates are of round 0: each culprit's two precommits are
     * evidence, the same signer, height and round, different blocks */
    assert_int_equal(w.n_evidence, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(w.ev_a[i].validator.b[0], 3 + i);
        assert_memory_equal(w.ev_a[i].validator.b, w.ev_b[i].validator.b, 32);
        assert_int_equal(w.ev_a[i].type, TC_VOTE_PRECOMMIT);
        assert_int_equal(w.ev_b[i].type, TC_VOTE_PRECOMMIT);
        assert_int_equal(w.ev_a[i].height, 1);
        assert_int_equal(w.ev_a[i].round, w.ev_b[i].round);
        assert_false(tc_hash_eq(&w.ev_a[i].block, &w.ev_b[i].block));
    }
    tc_forkq_free(q);
}

/* Two valid certificates of different rounds: the signers of both are
 * culprits (their weight is out), but two precommits of different rounds
 * prove nothing on their own: no evidence is made. */
static void test_culprits_of_two_rounds_no_evidence(void **state)
{
    (void)state;
    world w;
    tc_forkq *q = make(&w, 1, 7, 6);
    n_our_signers = 5;
    tc_forkq_suspect(q, 7, 1);
    tc_pubkey theirs_signers[5] = {key(3), key(4), key(5), key(6), key(7)}, v;
    tc_cert c;
    fill_cert(&c, 1, &w.theirs[1], theirs_signers, 5);
    c.round = 2;
    v = key(6);
    tc_forkq_answer a = {1, w.theirs[1], true, &c, &v};
    tc_forkq_on_hash(q, 40, &a);
    tc_cert_release(&c);
    for (uint64_t p = 41; p < 46; p++)
        answer(q, &w, p, 1, 0, &w.ours[1]);
    w.t += 6000;
    tc_forkq_tick(q);
    tc_forkq_status st;
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.n_culprits, 3);
    assert_int_equal(w.n_evidence, 0);
    tc_forkq_free(q);
}

/* A winner whose rollback the caller refuses (too deep): waiting for the
 * operator, no pin. A deadline decides on the answers that came. */
static void test_too_deep_and_deadline(void **state)
{
    (void)state;
    world w;
    tc_forkq *q = make(&w, 2, 4, 9);
    w.can_roll = false;
    tc_forkq_suspect(q, 7, TIP);
    run_search(q, &w);
    answer(q, &w, 10, 2, 1, &w.theirs[2]);
    answer(q, &w, 11, 2, 2, &w.theirs[2]);
    answer(q, &w, 12, 2, 3, &w.theirs[2]);
    assert_int_equal(w.n_decided, 0); /* 6 of 9 links silent */
    w.t += 4999;
    tc_forkq_tick(q);
    assert_int_equal(w.n_decided, 0);
    w.t += 1;
    tc_forkq_tick(q);
    assert_int_equal(w.n_decided, 1);
    tc_forkq_status st;
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_WAITING_OPERATOR);
    assert_int_equal(st.operator_waits, 1);
    uint64_t ph;
    tc_hash phash;
    assert_false(tc_forkq_pinned(q, &ph, &phash));
    tc_forkq_suspect(q, 8, TIP); /* noted, nothing new started */
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_WAITING_OPERATOR);
    assert_int_equal(st.suspected, 2);
    tc_forkq_free(q);
}

/* A silent suspect: the ask is repeated, then the search is given up. */
static void test_search_timeout(void **state)
{
    (void)state;
    world w;
    tc_forkq *q = make(&w, 10, 4, 3);
    tc_forkq_suspect(q, 7, TIP);
    assert_int_equal(w.n_gethash, 1);
    for (int i = 0; i < 3; i++) {
        w.t += 5000;
        tc_forkq_tick(q);
    }
    assert_int_equal(w.n_gethash, 3);
    tc_forkq_status st;
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_IDLE);
    tc_forkq_free(q);
}

/* The split of test_fork_halt.py as node 4 sees it: ours certified by
 * 2, 3, 4, the peers' block by 1, 2, 3; 1, 2 and 3 answer for theirs.
 * Culprits {2, 3}; of the other weight (1 and 4) theirs has 1 of 2: no
 * winner. Halted until the operator acts, still asking with backoff. */
/* Validator `voter` on link `peer` answers the peers' block at 6 with
 * its certificate, signed by 1, 2 and 3. */
static void answer_split(tc_forkq *q, world *w, uint64_t peer, int voter)
{
    tc_pubkey signers[3] = {key(1), key(2), key(3)}, v = key(voter);
    tc_cert c;
    fill_cert(&c, 6, &w->theirs[6], signers, 3);
    tc_forkq_answer a = {6, w->theirs[6], true, &c, &v};
    tc_forkq_on_hash(q, peer, &a);
    tc_cert_release(&c);
}

static tc_forkq *split(world *w)
{
    tc_forkq *q = make(w, 6, 4, 3);
    n_our_signers = 3;
    our_signers[0] = key(2), our_signers[1] = key(3), our_signers[2] = key(4);
    tc_forkq_suspect(q, 7, 6);
    run_search(q, w);
    for (int i = 1; i <= 3; i++)
        answer_split(q, w, 40 + (uint64_t)i, i);
    return q;
}

static void test_halt_when_undecided(void **state)
{
    (void)state;
    world w;
    tc_forkq *q = split(&w);
    tc_forkq_status st;
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_HALTED);
    assert_true(st.halted);
    uint64_t h = 0;
    assert_true(tc_forkq_halted(q, &h));
    assert_int_equal(h, 6);
    assert_int_equal(st.n_culprits, 2);
    assert_int_equal(st.weight_total, 2);
    assert_int_equal(st.weight_for, 1);
    assert_int_equal(w.n_decided, 0);
    assert_int_equal(w.halts_on, 1);
    assert_int_equal(w.verdict_win + w.verdict_lose, 0);
    /* asked again after the backoff: still halted, no second halt. A timer
     * that fires early (the loop's cached clock) is armed again for the
     * rest: the halted node was never asked again when it was not */
    size_t asked = w.broadcasts;
    w.t += w.woke - 2;
    w.woke = 0;
    tc_forkq_tick(q);
    assert_int_equal(w.broadcasts, asked);
    assert_int_equal(w.woke, 2);
    w.t += 2;
    tc_forkq_tick(q);
    assert_int_equal(w.broadcasts, asked + 1);
    w.t += 5000;
    tc_forkq_tick(q);
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_HALTED);
    assert_true(tc_forkq_halted(q, NULL));
    assert_int_equal(w.halts_on, 1);
    assert_int_equal(w.halts_off, 0);
    assert_int_equal(w.woke, 10000);
    /* a later answer that decides (4 for theirs now: 2 of 2) lifts it */
    w.t += w.woke;
    tc_forkq_tick(q);
    answer(q, &w, 50, 6, 1, &w.theirs[6]);
    answer(q, &w, 51, 6, 4, &w.theirs[6]);
    answer(q, &w, 52, 6, 2, &w.theirs[6]);
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_DECIDED);
    assert_false(tc_forkq_halted(q, NULL));
    assert_int_equal(w.halts_off, 1);
    tc_forkq_free(q);
}

/* Asked again while halted, every answer is for our block (the other
 * branch's peers came over or went away): the culprits found before still
 * count for nothing, so 2 and 3 cannot decide the halt away; 1 of the
 * other 2 is not more than 2/3. Forgetting them, 3 of 4 decided. */
static void test_halt_keeps_culprits(void **state)
{
    (void)state;
    world w;
    tc_forkq *q = split(&w);
    w.t += w.woke;
    tc_forkq_tick(q);
    answer(q, &w, 50, 6, 2, &w.ours[6]);
    answer(q, &w, 51, 6, 3, &w.ours[6]);
    answer(q, &w, 52, 6, 1, &w.ours[6]);
    tc_forkq_status st;
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_HALTED);
    assert_true(tc_forkq_halted(q, NULL));
    assert_int_equal(st.n_culprits, 2);
    assert_int_equal(st.weight_total, 2);
    assert_int_equal(st.weight_against, 1);
    tc_forkq_free(q);
}

/* The operator keeps our block: the halt lifts, the peers on the other
 * branch get verdict false, and a later query at that height decides
 * for our block without halting again. */
static void test_operator_chooses_ours(void **state)
{
    (void)state;
    world w;
    tc_forkq *q = split(&w);
    bool ours = false;
    tc_hash stranger = hash_of(9, 6);
    assert_int_equal(tc_forkq_operator_choose(q, &stranger, &ours), TC_ENOTFOUND);
    assert_true(tc_forkq_halted(q, NULL));
    assert_int_equal(tc_forkq_operator_choose(q, &w.ours[6], &ours), 0);
    assert_true(ours);
    assert_false(tc_forkq_halted(q, NULL));
    assert_int_equal(w.halts_off, 1);
    assert_int_equal(w.verdict_lose, 3);
    assert_int_equal(w.verdict_win, 0);
    tc_forkq_status st;
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_IDLE);
    assert_int_equal(tc_forkq_operator_choose(q, &w.ours[6], &ours), TC_ESTATE); /* nothing halted now */
    /* the other branch is seen again at that height: no halt, ours stands */
    tc_forkq_suspect(q, 7, 6);
    run_search(q, &w);
    for (int i = 1; i <= 3; i++)
        answer_split(q, &w, 60 + (uint64_t)i, i);
    assert_int_equal(w.halts_on, 1);
    assert_false(tc_forkq_halted(q, NULL));
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_IDLE);
    assert_int_equal(w.n_decided, 0);
    assert_int_equal(w.verdict_lose, 6);
    tc_forkq_free(q);
}

/* The operator picks the other block: pinned as a decision, the caller
 * rolls back; the halt lifts. */
static void test_operator_chooses_theirs(void **state)
{
    (void)state;
    world w;
    tc_forkq *q = split(&w);
    bool ours = true;
    assert_int_equal(tc_forkq_operator_choose(q, &w.theirs[6], &ours), 0);
    assert_false(ours);
    assert_false(tc_forkq_halted(q, NULL));
    assert_int_equal(w.verdict_win, 3);
    tc_forkq_status st;
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_DECIDED);
    assert_int_equal(st.rollbacks, 1);
    uint64_t ph;
    tc_hash phash;
    assert_true(tc_forkq_pinned(q, &ph, &phash));
    assert_int_equal(ph, 6);
    assert_true(tc_hash_eq(&phash, &w.theirs[6]));
    w.ours[6] = w.theirs[6]; /* the caller rolled back and synced it */
    tc_forkq_tick(q);
    tc_forkq_status_get(q, &st);
    assert_int_equal(st.state, TC_FORKQ_IDLE);
    tc_forkq_free(q);
}

/* An answer whose certificate the caller found invalid (it bans that
 * peer) is one valid certificate, ours: never a halt, whatever it claims. */
static void test_invalid_cert_never_halts(void **state)
{
    (void)state;
    world w;
    tc_forkq *q = make(&w, 6, 4, 3);
    tc_forkq_suspect(q, 7, 6);
    run_search(q, &w);
    for (int i = 1; i <= 3; i++) {
        tc_pubkey v = key(i);
        tc_forkq_answer a = {6, w.theirs[6], false, NULL, &v};
        tc_forkq_on_hash(q, 40 + (uint64_t)i, &a);
    }
    tc_forkq_status st;
    tc_forkq_status_get(q, &st);
    assert_false(st.halted);
    assert_false(tc_forkq_halted(q, NULL));
    assert_int_equal(w.halts_on, 0);
    assert_int_equal(st.state, TC_FORKQ_QUERYING); /* backing off: no valid branch but ours */
    assert_int_equal(w.n_decided, 0);
    bool ours;
    assert_int_equal(tc_forkq_operator_choose(q, &w.theirs[6], &ours), TC_ESTATE);
    tc_forkq_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_and_decide), cmocka_unit_test(test_weight_not_links),
        cmocka_unit_test(test_ours_wins),         cmocka_unit_test(test_culprits_excluded),
        cmocka_unit_test(test_culprits_of_two_rounds_no_evidence),
        cmocka_unit_test(test_too_deep_and_deadline), cmocka_unit_test(test_search_timeout),
        cmocka_unit_test(test_halt_when_undecided),   cmocka_unit_test(test_halt_keeps_culprits),
        cmocka_unit_test(test_operator_chooses_ours),
        cmocka_unit_test(test_operator_chooses_theirs), cmocka_unit_test(test_invalid_cert_never_halts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
