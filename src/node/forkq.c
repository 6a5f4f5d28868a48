#include "node/forkq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"

#define SEARCH_STEPS 64 /* asks in one search: a binary search over 2^64 heights */
#define SEARCH_TRIES 3  /* timeouts of one ask before the search is given up */

typedef struct {
    tc_hash hash;
    bool ours, valid;
    tc_cert cert; /* its certificate, when valid: the signers, and evidence is made from it */
    uint32_t answers;
} branch;

typedef struct {
    tc_pubkey key;
    size_t branch;
} voter;

struct tc_forkq {
    tc_forkq_iface io;
    uint64_t timeout_ms, cap_ms;
    enum tc_forkq_state state;
    /* search */
    uint64_t suspect, lo, hi, asked_h, asked_ms;
    uint32_t steps, tries;
    /* query at height */
    uint64_t height, deadline_ms, retry_ms;
    bool backing_off;
    uint32_t attempt;
    size_t asked;
    uint64_t answered[TC_FORKQ_MAX_ANSWERS]; /* peer ids */
    size_t n_answered;
    branch br[TC_FORKQ_MAX_BRANCHES];
    size_t n_br;
    voter voters[TC_FORKQ_MAX_ANSWERS];
    size_t n_voters;
    size_t answer_branch[TC_FORKQ_MAX_ANSWERS]; /* per answered peer; SIZE_MAX: no block */
    tc_valset vs;
    tc_pubkey *culprits;
    size_t n_culprits;
    tc_hash winner;
    bool halt;               /* two valid certificates at the fork height, unresolved */
    bool chosen;             /* the operator picked chosen_hash at chosen_height */
    uint64_t chosen_height;
    tc_hash chosen_hash;
    tc_forkq_status st;
};

static uint64_t now(const tc_forkq *q)
{
    return q->io.now_ms(q->io.ctx);
}

static void clear_query(tc_forkq *q)
{
    for (size_t i = 0; i < q->n_br; i++)
        tc_cert_release(&q->br[i].cert);
    q->n_br = q->n_answered = q->n_voters = 0;
    tc_valset_release(&q->vs);
    tc_valset_init(&q->vs);
}

tc_forkq *tc_forkq_new(const tc_forkq_iface *io, uint64_t timeout_ms, uint64_t backoff_cap_ms)
{
    tc_forkq *q = tc_xcalloc(1, sizeof *q);
    q->io = *io;
    q->timeout_ms = timeout_ms ? timeout_ms : 1;
    q->cap_ms = backoff_cap_ms < q->timeout_ms ? q->timeout_ms : backoff_cap_ms;
    tc_valset_init(&q->vs);
    return q;
}

void tc_forkq_free(tc_forkq *q)
{
    if (q == NULL)
        return;
    clear_query(q);
    free(q->culprits);
    free(q);
}

const char *tc_forkq_state_name(enum tc_forkq_state s)
{
    static const char *const names[] = {"idle", "searching", "querying", "decided", "waiting_operator", "halted"};
    return (size_t)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* Our block id at height: false if we hold none. */
static bool our_hash(tc_forkq *q, uint64_t height, tc_hash *out)
{
    tc_cert c;
    tc_cert_init(&c);
    bool ok = height > 0 && q->io.our_cert(q->io.ctx, height, &c) == 0;
    if (ok)
        *out = c.block;
    tc_cert_release(&c);
    return ok;
}

static void set_halt(tc_forkq *q, bool on);

/* Idle is never halted: nothing is in question any more. */
static void go_idle(tc_forkq *q)
{
    q->state = TC_FORKQ_IDLE;
    q->backing_off = false;
    set_halt(q, false);
}

/* The hashes of the branches with valid certificates, ours first, into
 * out (comma-separated hex). */
static void certified_list(const tc_forkq *q, char *out, size_t size)
{
    size_t at = 0;
    out[0] = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < q->n_br; i++) {
            char hex[65];
            if (!q->br[i].valid || q->br[i].ours != (pass == 0) || at >= size)
                continue;
            tc_hex_encode(hex, q->br[i].hash.b, 32);
            at += (size_t)snprintf(out + at, size - at, "%s%s", at ? "," : "", hex);
        }
}

/* ---- the query at the fork height ---------------------------------------------- */

/* The branch of hash, added if new (its certificate kept when valid);
 * -1 when the table is full. */
static long branch_of(tc_forkq *q, const tc_hash *hash, bool valid, const tc_cert *cert)
{
    size_t i = 0;
    while (i < q->n_br && !tc_hash_eq(&q->br[i].hash, hash))
        i++;
    if (i == q->n_br) {
        if (q->n_br == TC_FORKQ_MAX_BRANCHES)
            return -1;
        memset(&q->br[q->n_br++], 0, sizeof q->br[0]);
        q->br[i].hash = *hash;
        tc_cert_init(&q->br[i].cert);
    }
    branch *b = &q->br[i];
    if (valid && !b->valid && cert) {
        b->valid = true;
        tc_cert_copy(&b->cert, cert);
    }
    return (long)i;
}

static bool chosen_here(const tc_forkq *q)
{
    return q->chosen && q->chosen_height == q->height;
}

/* Commits halt or resume; the caller is told on each change. */
static void set_halt(tc_forkq *q, bool on)
{
    if (q->halt == on)
        return;
    q->halt = on;
    q->st.halted = on;
    if (on)
        q->st.halts++;
    if (q->io.halt)
        q->io.halt(q->io.ctx, on);
}

/* Two branches with valid certificates at the fork height (forkq.h, 5.),
 * unless the operator already chose there. */
static void check_conflict(tc_forkq *q)
{
    size_t valid = 0;
    for (size_t i = 0; i < q->n_br; i++)
        valid += q->br[i].valid;
    if (valid < 2 || q->halt || chosen_here(q))
        return;
    char blocks[TC_FORKQ_MAX_BRANCHES * 65 + 1];
    certified_list(q, blocks, sizeof blocks);
    tc_log_error("fork", "two valid certificates for different blocks at the fork height: commits halted",
                 "height=%llu blocks=%s hint=%s", (unsigned long long)q->height, blocks,
                 "until the fork query decides with the double signers' weight left out, or the operator picks "
                 "a branch (time-cli forkchoose); see docs/operations.md 'halted by a split'");
    set_halt(q, true);
}

static void begin_query(tc_forkq *q, uint64_t height)
{
    /* A halted query asked again keeps its culprits: a double signer stays
     * one when the other branch's peers are gone or have come over (else
     * the culprits' own answers would decide the halt away). */
    bool again = q->state == TC_FORKQ_HALTED;
    clear_query(q);
    if (!again) {
        free(q->culprits);
        q->culprits = NULL;
        q->n_culprits = 0;
    }
    q->state = again ? TC_FORKQ_HALTED : TC_FORKQ_QUERYING;
    q->height = height;
    q->backing_off = false;
    tc_cert ours;
    tc_cert_init(&ours);
    if (q->io.valset(q->io.ctx, height, &q->vs) != 0 || q->io.our_cert(q->io.ctx, height, &ours) != 0) {
        tc_log_warn("fork", "fork height is no longer ours to compare; query dropped", "height=%llu",
                    (unsigned long long)height);
        tc_cert_release(&ours);
        go_idle(q);
        return;
    }
    q->br[0] = (branch){.hash = ours.block, .ours = true};
    tc_cert_init(&q->br[0].cert);
    q->n_br = 1;
    (void)branch_of(q, &ours.block, true, &ours); /* our stored certificate verified when applied */
    tc_cert_release(&ours);
    q->asked = q->io.broadcast_gethash(q->io.ctx, height);
    q->deadline_ms = now(q) + q->timeout_ms;
    q->st.queries++;
    tc_log_info("fork", "asking every peer for its block at the fork height", "height=%llu peers=%zu timeout_ms=%llu",
                (unsigned long long)height, q->asked, (unsigned long long)q->timeout_ms);
    q->io.wake(q->io.ctx, q->timeout_ms);
}

static bool is_culprit(const tc_forkq *q, const tc_pubkey *k)
{
    for (size_t i = 0; i < q->n_culprits; i++)
        if (tc_pubkey_eq(&q->culprits[i], k))
            return true;
    return false;
}

/* The index of key among c's signers, or -1. */
static long signer_index(const tc_cert *c, const tc_pubkey *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (tc_pubkey_eq(&c->sigs[i].key, key))
            return (long)i;
    return -1;
}

/* key signed both certificates: when they are of one round, its two
 * precommits are double-sign evidence anyone can check (chain/vote.h), so
 * the node records it (the ledger jails and slashes whoever it names). Of
 * different rounds they are no such proof: the key is named, not accused. */
static void make_evidence(tc_forkq *q, const branch *a, const branch *b, const tc_pubkey *key)
{
    long ia = signer_index(&a->cert, key), ib = signer_index(&b->cert, key);
    if (q->io.evidence == NULL || ia < 0 || ib < 0 || a->cert.round != b->cert.round)
        return;
    tc_vote va, vb;
    tc_cert_vote(&a->cert, (size_t)ia, &va);
    tc_cert_vote(&b->cert, (size_t)ib, &vb);
    q->io.evidence(q->io.ctx, &va, &vb);
}

/* Two valid certificates for different blocks at one height: every key in
 * both signed two conflicting precommits at that height (same round, or the
 * forensics of a later round: either way it broke the protocol). Added to
 * those of the query (begin_query says which are kept). */
static void find_culprits(tc_forkq *q)
{
    for (size_t a = 0; a < q->n_br; a++)
        for (size_t b = a + 1; b < q->n_br; b++) {
            if (!q->br[a].valid || !q->br[b].valid)
                continue;
            for (size_t k = 0; k < q->br[a].cert.n; k++) {
                const tc_pubkey *key = &q->br[a].cert.sigs[k].key;
                long at = tc_valset_find(&q->vs, key);
                if (at < 0 || signer_index(&q->br[b].cert, key) < 0 || is_culprit(q, key))
                    continue;
                q->culprits = tc_xrealloc(q->culprits, (q->n_culprits + 1) * sizeof *q->culprits);
                q->culprits[q->n_culprits++] = *key;
                make_evidence(q, &q->br[a], &q->br[b], key);
            }
        }
    uint64_t w = 0;
    for (size_t i = 0; i < q->n_culprits; i++) {
        long at = tc_valset_find(&q->vs, &q->culprits[i]);
        w += at >= 0 ? q->vs.v[at].weight : 0;
    }
    q->st.culprit_weight = w;
    q->st.n_culprits = q->n_culprits;
}

#define CULPRITS_LOGGED 16
#define CULPRIT_LIST (CULPRITS_LOGGED * 65 + 8)

/* The first CULPRITS_LOGGED culprit keys, comma-separated hex, into list. */
static void culprit_list(const tc_forkq *q, char list[CULPRIT_LIST])
{
    char hex[65];
    size_t at = 0;
    list[0] = 0;
    for (size_t i = 0; i < q->n_culprits && i < CULPRITS_LOGGED; i++) {
        tc_hex_encode(hex, q->culprits[i].b, 32);
        at += (size_t)snprintf(list + at, CULPRIT_LIST - at, "%s%s", i ? "," : "", hex);
    }
    if (q->n_culprits > CULPRITS_LOGGED)
        snprintf(list + at, CULPRIT_LIST - at, ",...");
}

static void log_culprits(const tc_forkq *q)
{
    char list[CULPRIT_LIST];
    culprit_list(q, list);
    tc_log_error("fork", "two valid certificates for different blocks at one height: these validators signed both",
                 "height=%llu culprits=%zu weight=%llu signers=%s hint=%s", (unsigned long long)q->height,
                 q->n_culprits, (unsigned long long)q->st.culprit_weight, list,
                 "their answers do not count; see docs/operations.md 'fork alert'");
}

/* Weight behind each branch, culprits excluded, into the status. */
static void tally(tc_forkq *q)
{
    tc_forkq_status *st = &q->st;
    st->height = q->height;
    st->answers = (uint32_t)q->n_answered;
    st->weight_total = q->vs.total - st->culprit_weight;
    st->weight_for = st->weight_against = 0;
    st->n_branches = q->n_br;
    for (size_t i = 0; i < q->n_br; i++) {
        uint64_t w = 0;
        for (size_t v = 0; v < q->n_voters; v++) {
            long at = tc_valset_find(&q->vs, &q->voters[v].key);
            if (q->voters[v].branch == i && at >= 0 && !is_culprit(q, &q->voters[v].key))
                w += q->vs.v[at].weight;
        }
        st->branches[i] = (tc_forkq_branch){q->br[i].hash, q->br[i].ours, q->br[i].valid, w, q->br[i].answers};
        if (q->br[i].ours)
            st->weight_against = w;
        else if (w > st->weight_for)
            st->weight_for = w;
    }
}

static void back_off(tc_forkq *q)
{
    q->st.undecided++;
    uint64_t wait = q->timeout_ms;
    for (uint32_t i = 0; i < q->attempt && wait < q->cap_ms; i++)
        wait *= 2;
    if (wait > q->cap_ms)
        wait = q->cap_ms;
    q->attempt++;
    q->backing_off = true;
    q->retry_ms = now(q) + wait;
    tc_log_warn("fork", "no branch has more than 2/3 of the weight at the fork height; no action, asking again",
                "height=%llu answers=%u weight_ours=%llu weight_other=%llu weight_total=%llu retry_ms=%llu",
                (unsigned long long)q->height, q->st.answers, (unsigned long long)q->st.weight_against,
                (unsigned long long)q->st.weight_for, (unsigned long long)q->st.weight_total,
                (unsigned long long)wait);
    q->io.wake(q->io.ctx, wait);
}

static void give_verdicts(tc_forkq *q, size_t win)
{
    for (size_t v = 0; v < q->n_answered; v++)
        if (q->answer_branch[v] != SIZE_MAX)
            q->io.verdict(q->io.ctx, q->answered[v], q->answer_branch[v] == win);
}

/* Undecided with two valid certificates: halted until the operator picks
 * a branch (or a later query decides). One error line on entering. */
static void enter_halted(tc_forkq *q)
{
    if (q->state == TC_FORKQ_HALTED)
        return;
    q->state = TC_FORKQ_HALTED;
    char blocks[TC_FORKQ_MAX_BRANCHES * 65 + 1], list[CULPRIT_LIST];
    certified_list(q, blocks, sizeof blocks);
    culprit_list(q, list);
    tc_log_error("fork", "fork halted: two valid certificates at the fork height and no branch has more than 2/3 "
                 "of the others' weight; not committing until the operator picks a branch",
                 "height=%llu blocks=%s culprits=%zu signers=%s weight_ours=%llu weight_other=%llu weight_total=%llu "
                 "hint=%s", (unsigned long long)q->height, blocks, q->n_culprits, list,
                 (unsigned long long)q->st.weight_against, (unsigned long long)q->st.weight_for,
                 (unsigned long long)q->st.weight_total,
                 "time-cli forkchoose <hash> with the block of the branch to keep (the first is ours); "
                 "docs/operations.md 'halted by a split'");
}

/* The answers are in (or the deadline passed): a winner, or ask again. */
static void decide(tc_forkq *q)
{
    find_culprits(q);
    if (q->n_culprits)
        log_culprits(q);
    tally(q);
    long win = -1;
    for (size_t i = 0; i < q->n_br && chosen_here(q); i++)
        if (tc_hash_eq(&q->br[i].hash, &q->chosen_hash))
            win = (long)i; /* the operator's pick at this height stands */
    for (size_t i = 0; i < q->n_br && win < 0; i++)
        /* more than 2/3 of the set's weight, culprits out of both sides: a
         * culprit's answer is proven worthless (it certified both), and
         * only among the others is more than 2/3 still a quorum of honest
         * weight, which honest nodes never split */
        if (q->br[i].valid && q->st.branches[i].weight * 3 > q->st.weight_total * 2)
            win = (long)i;
    if (win < 0) {
        if (q->halt)
            enter_halted(q);
        back_off(q);
        return;
    }
    set_halt(q, false); /* decided with the culprits' weight left out */
    q->attempt = 0;
    q->st.decisions++;
    give_verdicts(q, (size_t)win);
    char hex[65];
    tc_hex_encode(hex, q->br[win].hash.b, 32);
    if (q->br[win].ours) {
        tc_log_info("fork", "our block at the fork height has the network's weight; nothing to undo",
                    "height=%llu block=%s weight=%llu weight_total=%llu", (unsigned long long)q->height, hex,
                    (unsigned long long)q->st.branches[win].weight, (unsigned long long)q->st.weight_total);
        go_idle(q);
        return;
    }
    tc_log_warn("fork", "the network holds another block at the fork height; our branch lost",
                "height=%llu block=%s weight=%llu weight_ours=%llu weight_total=%llu answers=%u",
                (unsigned long long)q->height, hex, (unsigned long long)q->st.branches[win].weight,
                (unsigned long long)q->st.weight_against, (unsigned long long)q->st.weight_total, q->st.answers);
    q->winner = q->br[win].hash;
    if (q->io.decided(q->io.ctx, q->height, &q->winner)) {
        q->state = TC_FORKQ_DECIDED;
        q->st.rollbacks++;
        q->io.wake(q->io.ctx, 1000);
    } else {
        q->state = TC_FORKQ_WAITING_OPERATOR;
        q->st.operator_waits++;
    }
}

static void on_query_answer(tc_forkq *q, uint64_t peer, const tc_forkq_answer *a)
{
    for (size_t i = 0; i < q->n_answered; i++)
        if (q->answered[i] == peer)
            return; /* one answer per link */
    if (q->n_answered == TC_FORKQ_MAX_ANSWERS)
        return;
    size_t slot = q->n_answered++;
    q->answered[slot] = peer;
    q->answer_branch[slot] = SIZE_MAX; /* no block there: behind, on no branch */
    if (!tc_hash_is_zero(&a->hash)) {
        long b = branch_of(q, &a->hash, a->cert_valid, a->cert);
        if (b >= 0) {
            q->br[b].answers++;
            q->answer_branch[slot] = (size_t)b;
            bool counted = false; /* each validator key once, whatever the links */
            for (size_t v = 0; a->voter && v < q->n_voters && !counted; v++)
                counted = tc_pubkey_eq(&q->voters[v].key, a->voter);
            if (a->voter && !counted && tc_valset_find(&q->vs, a->voter) >= 0)
                q->voters[q->n_voters++] = (voter){*a->voter, (size_t)b};
        }
    }
    check_conflict(q);
    tally(q);
    if (q->n_answered >= q->asked)
        decide(q);
}

/* ---- the search for the fork height ----------------------------------------------- */

static void search_step(tc_forkq *q)
{
    if (q->lo >= q->hi) {
        tc_log_info("fork", "fork height found", "height=%llu peer=%llu asks=%u", (unsigned long long)q->hi,
                    (unsigned long long)q->suspect, q->steps);
        q->attempt = 0;
        begin_query(q, q->hi);
        return;
    }
    uint64_t mid = q->lo + (q->hi - q->lo) / 2;
    if (q->steps++ >= SEARCH_STEPS || q->io.send_gethash(q->io.ctx, q->suspect, mid) != 0) {
        tc_log_info("fork", "fork search given up (peer gone)", "peer=%llu", (unsigned long long)q->suspect);
        go_idle(q);
        return;
    }
    q->asked_h = mid;
    q->asked_ms = now(q);
    q->io.wake(q->io.ctx, q->timeout_ms);
}

static void on_search_answer(tc_forkq *q, const tc_forkq_answer *a)
{
    tc_hash ours;
    if (tc_hash_is_zero(&a->hash) || !our_hash(q, a->height, &ours)) {
        tc_log_info("fork", "fork search given up (the peer or we hold no block there)", "peer=%llu height=%llu",
                    (unsigned long long)q->suspect, (unsigned long long)a->height);
        go_idle(q);
        return;
    }
    q->tries = 0;
    if (tc_hash_eq(&ours, &a->hash))
        q->lo = a->height + 1;
    else if (a->cert_valid)
        q->hi = a->height;
    else {
        go_idle(q); /* the caller banned it */
        return;
    }
    search_step(q);
}

void tc_forkq_suspect(tc_forkq *q, uint64_t peer, uint64_t height)
{
    q->st.suspected++;
    if (q->state != TC_FORKQ_IDLE || height == 0)
        return;
    q->state = TC_FORKQ_SEARCHING;
    q->suspect = peer;
    q->lo = 1;
    q->hi = height;
    q->steps = q->tries = 0;
    q->st.height = 0;
    search_step(q);
}

void tc_forkq_on_hash(tc_forkq *q, uint64_t peer, const tc_forkq_answer *a)
{
    if (q->state == TC_FORKQ_SEARCHING && peer == q->suspect && a->height == q->asked_h) {
        on_search_answer(q, a);
    } else if ((q->state == TC_FORKQ_QUERYING || q->state == TC_FORKQ_HALTED) && !q->backing_off &&
               a->height == q->height) {
        on_query_answer(q, peer, a);
    } else if (q->state == TC_FORKQ_IDLE && a->cert_valid && !tc_hash_is_zero(&a->hash)) {
        tc_hash ours;
        if (our_hash(q, a->height, &ours) && !tc_hash_eq(&ours, &a->hash))
            tc_forkq_suspect(q, peer, a->height);
    }
}

void tc_forkq_on_peer_down(tc_forkq *q, uint64_t peer)
{
    if (q->state == TC_FORKQ_SEARCHING && peer == q->suspect) {
        tc_log_info("fork", "fork search given up (peer gone)", "peer=%llu", (unsigned long long)peer);
        go_idle(q);
    }
}

void tc_forkq_tick(tc_forkq *q)
{
    uint64_t t = now(q);
    tc_hash ours;
    switch (q->state) {
    case TC_FORKQ_SEARCHING:
        if (t - q->asked_ms < q->timeout_ms) {
            q->io.wake(q->io.ctx, q->timeout_ms - (t - q->asked_ms)); /* early: see below */
            break;
        }
        if (++q->tries >= SEARCH_TRIES) {
            tc_log_info("fork", "fork search given up (no answer)", "peer=%llu height=%llu",
                        (unsigned long long)q->suspect, (unsigned long long)q->asked_h);
            go_idle(q);
        } else {
            q->steps--; /* the same step again */
            search_step(q);
        }
        break;
    case TC_FORKQ_QUERYING:
    case TC_FORKQ_HALTED:
        if (q->backing_off && t >= q->retry_ms)
            begin_query(q, q->height);
        else if (!q->backing_off && t >= q->deadline_ms)
            decide(q);
        else /* a timer may fire a few ms early (the loop's clock is cached): no wake-up lost */
            q->io.wake(q->io.ctx, (q->backing_off ? q->retry_ms : q->deadline_ms) - t);
        break;
    case TC_FORKQ_DECIDED:
    case TC_FORKQ_WAITING_OPERATOR:
        if (our_hash(q, q->height, &ours) && tc_hash_eq(&ours, &q->winner)) {
            tc_log_info("fork", "fork resolved: the chain holds the network's block at the fork height",
                        "height=%llu", (unsigned long long)q->height);
            go_idle(q);
        } else {
            q->io.wake(q->io.ctx, 1000); /* the sync (or the operator) brings the block */
        }
        break;
    case TC_FORKQ_IDLE:
        break;
    }
}

bool tc_forkq_operator_rolled_back(tc_forkq *q)
{
    if (q->state != TC_FORKQ_WAITING_OPERATOR)
        return false;
    q->state = TC_FORKQ_DECIDED;
    q->st.rollbacks++;
    q->io.wake(q->io.ctx, 1000);
    return true;
}

bool tc_forkq_halted(const tc_forkq *q, uint64_t *height)
{
    if (q->halt && height)
        *height = q->height;
    return q->halt;
}

int tc_forkq_operator_choose(tc_forkq *q, const tc_hash *hash, bool *ours)
{
    if (!q->halt)
        return TC_ESTATE;
    long b = -1;
    for (size_t i = 0; i < q->n_br && b < 0; i++)
        if (q->br[i].valid && tc_hash_eq(&q->br[i].hash, hash))
            b = (long)i;
    if (b < 0)
        return TC_ENOTFOUND;
    q->chosen = true;
    q->chosen_height = q->height;
    q->chosen_hash = *hash;
    *ours = q->br[b].ours;
    give_verdicts(q, (size_t)b);
    q->attempt = 0;
    if (*ours) { /* the caller logs the choice */
        go_idle(q);
        return 0;
    }
    q->winner = *hash;
    q->state = TC_FORKQ_DECIDED;
    q->backing_off = false;
    q->st.rollbacks++;
    set_halt(q, false);
    q->io.wake(q->io.ctx, 1000);
    return 0;
}

bool tc_forkq_decision(const tc_forkq *q, uint64_t *height, tc_hash *hash)
{
    if (q->state != TC_FORKQ_DECIDED && q->state != TC_FORKQ_WAITING_OPERATOR)
        return false;
    *height = q->height;
    *hash = q->winner;
    return true;
}

bool tc_forkq_pinned(const tc_forkq *q, uint64_t *height, tc_hash *hash)
{
    if (q->state != TC_FORKQ_DECIDED)
        return false;
    *height = q->height;
    *hash = q->winner;
    return true;
}

void tc_forkq_status_get(const tc_forkq *q, tc_forkq_status *out)
{
    *out = q->st;
    out->state = q->state;
}

size_t tc_forkq_culprits(const tc_forkq *q, const tc_pubkey **out)
{
    *out = q->culprits;
    return q->n_culprits;
}
