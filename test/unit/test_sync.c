/* Sync scheduler (src/node/sync.c) against fake peers, clock and ledger:
 * ranges spread over peers within the window, out-of-order arrivals applied
 * in order, a bad block banned and fetched elsewhere, stalls, departures and
 * empty answers asked elsewhere, requests paced per peer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/sync.h"
#include "testchain.h"

#define CHAIN 4000
#define MAX_SENT 4096
#define BAD_TIME 666 /* a block with this time is invalid */
#define OTHER_TIME 667 /* a block with this time names another parent (another branch) */

typedef struct {
    uint64_t peer, from;
    uint32_t count;
    bool answered;
} sent;

typedef struct {
    uint64_t now, tip;
    sent req[MAX_SENT];
    size_t n_req;
    uint64_t banned[8];
    size_t n_banned;
    int rejoins;
    size_t applies, max_batch;
    tc_buf raw[CHAIN + 1][2]; /* encodings of block h and its certificate */
    uint64_t bad_height;     /* block served as invalid by bad_peer */
    uint64_t bad_peer;
    tc_buf bad[2];
    atomic_size_t verified; /* blocks the sync's threads verified ahead */
    atomic_int wakes;       /* runs they reported verified */
    int branch_rc;          /* what iface.branch answers */
    uint64_t branch_peer, branch_height;
    int branches;
    size_t ends_seen; /* applied blocks marked as a range's last that are one */
} world;

static uint64_t w_now(void *ctx)
{
    return ((world *)ctx)->now;
}

static uint64_t w_tip(void *ctx)
{
    return ((world *)ctx)->tip;
}

static int w_send(void *ctx, uint64_t peer, uint64_t from, uint32_t count)
{
    world *w = ctx;
    assert_true(w->n_req < MAX_SENT);
    assert_true(count >= 1 && count <= TC_MSG_MAX_BLOCKS);
    w->req[w->n_req++] = (sent){peer, from, count, false};
    return 0;
}

/* As tc_ledger_apply_blocks: the whole batch or nothing, *bad naming the
 * failing block; every range's last block is marked (checked in ends_seen). */
static int w_apply(void *ctx, const tc_block *const *blks, const tc_cert *const *certs, const bool *ends, size_t n,
                   size_t *applied, size_t *bad, tc_errmsg *e)
{
    world *w = ctx;
    w->applies++;
    if (n > w->max_batch)
        w->max_batch = n;
    *applied = *bad = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(blks[i]->hdr.height, w->tip + 1 + i); /* in order, nothing skipped */
        assert_int_equal(certs[i]->height, w->tip + 1 + i);
        *bad = i;
        if (blks[i]->hdr.time_ms == BAD_TIME)
            return tc_fail(e, TC_EBLK_TIME, "bad time");
        if (blks[i]->hdr.time_ms == OTHER_TIME)
            return tc_fail(e, TC_EBLK_PREV, "other parent");
    }
    for (size_t i = 0; i < n; i++)
        if (ends[i] && blks[i]->hdr.height % TC_MSG_MAX_BLOCKS == 0)
            w->ends_seen++;
    *bad = 0;
    w->tip += n;
    *applied = n;
    return 0;
}

static void w_ban(void *ctx, uint64_t peer, int err, const char *why)
{
    world *w = ctx;
    assert_true(w->n_banned < 8);
    w->banned[w->n_banned++] = peer;
}

static int w_branch(void *ctx, uint64_t peer, const tc_block *blk, const tc_cert *cert, tc_errmsg *e)
{
    world *w = ctx;
    w->branches++;
    w->branch_peer = peer;
    w->branch_height = blk->hdr.height;
    assert_int_equal(cert->height, blk->hdr.height);
    return w->branch_rc ? tc_fail(e, w->branch_rc, "bad certificate") : 0;
}

static void w_rejoin(void *ctx)
{
    ((world *)ctx)->rejoins++;
}

static void w_wake(void *ctx, uint64_t ms)
{
}

/* These two run on the sync's verifier threads: atomics only. */
static void w_verify(void *ctx, const tc_block *blk, const tc_cert *cert)
{
    atomic_fetch_add(&((world *)ctx)->verified, 1);
}

static void w_verified(void *ctx)
{
    atomic_fetch_add(&((world *)ctx)->wakes, 1);
}

static void encode_block(uint64_t h, uint64_t time_ms, tc_buf *blk, tc_buf *cert)
{
    tc_block b;
    tc_cert c;
    tc_block_init(&b);
    tc_cert_init(&c);
    b.hdr.height = h;
    b.hdr.time_ms = time_ms;
    c.height = h;
    tc_header_hash(&b.hdr, &c.block);
    tc_buf_init(blk);
    tc_buf_init(cert);
    tc_block_encode(&b, blk);
    tc_cert_encode(&c, cert);
    tc_block_release(&b);
    tc_cert_release(&c);
}

/* A sync over w; with verifier threads, or (threads 0) one that applies
 * what arrives at once, which keeps the scheduling tests deterministic. */
static tc_sync *world_new_with(world *w, bool threads)
{
    memset(w, 0, sizeof *w);
    w->now = 1000;
    for (uint64_t h = 1; h <= CHAIN; h++)
        encode_block(h, 1000 + h, &w->raw[h][0], &w->raw[h][1]);
    atomic_init(&w->verified, 0);
    atomic_init(&w->wakes, 0);
    tc_sync_iface io = {w,      w_now,    w_tip,    w_send,
                        w_apply, w_ban,   w_rejoin, w_wake,
                        threads ? w_verify : NULL, threads ? w_verified : NULL, w_branch};
    return tc_sync_new(&io);
}

static tc_sync *world_new(world *w)
{
    return world_new_with(w, false);
}

static void world_free(world *w, tc_sync *s)
{
    tc_sync_free(s);
    for (uint64_t h = 1; h <= CHAIN; h++) {
        tc_buf_release(&w->raw[h][0]);
        tc_buf_release(&w->raw[h][1]);
    }
    if (w->bad_height) {
        tc_buf_release(&w->bad[0]);
        tc_buf_release(&w->bad[1]);
    }
}

/* Peer answers request k with up to `have` blocks (its height). */
static int answer(world *w, tc_sync *s, size_t k, uint64_t have)
{
    sent *q = &w->req[k];
    q->answered = true;
    tc_msg_block v[TC_MSG_MAX_BLOCKS];
    tc_msg_blocks m = {0, v};
    for (uint64_t h = q->from; h < q->from + q->count && h <= have; h++) {
        bool bad = h == w->bad_height && q->peer == w->bad_peer;
        tc_buf *b = bad ? w->bad : w->raw[h];
        v[m.n++] = (tc_msg_block){{b[0].p, b[0].len}, {b[1].p, b[1].len}};
    }
    return tc_sync_on_blocks(s, q->peer, &m);
}

static size_t open_requests(const world *w, uint64_t peer)
{
    size_t k = 0;
    for (size_t i = 0; i < w->n_req; i++)
        k += w->req[i].peer == peer && !w->req[i].answered;
    return k;
}

/* Answers every open request, newest first, until none is left. */
static void answer_all_backwards(world *w, tc_sync *s, uint64_t have)
{
    for (int rounds = 0; rounds < 10000; rounds++) {
        size_t k = w->n_req;
        while (k > 0 && w->req[k - 1].answered)
            k--;
        if (k == 0)
            return;
        assert_int_equal(answer(w, s, k - 1, have), 0);
        w->now += 50; /* tokens refill */
        tc_sync_tick(s);
    }
    fail_msg("requests never ran out");
}

static void test_parallel_window_in_order(void **state)
{
    (void)state;
    static world w;
    tc_sync *s = world_new(&w);
    for (uint64_t p = 1; p <= 3; p++)
        tc_sync_on_height(s, p, CHAIN);
    assert_true(tc_sync_active(s));
    assert_int_equal(tc_sync_target(s), CHAIN);
    /* six ranges asked at once: two per peer */
    assert_int_equal(w.n_req, 6);
    for (uint64_t p = 1; p <= 3; p++)
        assert_int_equal(open_requests(&w, p), 2);
    for (size_t i = 0; i < w.n_req; i++)
        assert_int_equal(w.req[i].from, 1 + i * TC_MSG_MAX_BLOCKS);
    /* the last range arrives first: held, nothing applied yet */
    assert_int_equal(answer(&w, s, 5, CHAIN), 0);
    assert_int_equal(w.tip, 0);
    answer_all_backwards(&w, s, CHAIN);
    assert_int_equal(w.tip, CHAIN);
    assert_false(tc_sync_active(s));
    assert_int_equal(w.rejoins, 1);
    assert_true(w.max_batch > TC_MSG_MAX_BLOCKS); /* buffered runs went in together */
    assert_int_equal(w.ends_seen, CHAIN / TC_MSG_MAX_BLOCKS); /* each range's last block a checkpoint */
    for (size_t i = 0; i < w.n_req; i++) /* never beyond the window */
        assert_true(w.req[i].from <= w.tip + 32 * TC_MSG_MAX_BLOCKS);
    world_free(&w, s);
}

/* With verifier threads, a run is applied only once they have verified it;
 * they say so, and the loop (here: this test) ticks the sync. */
static void test_verified_before_applied(void **state)
{
    (void)state;
    static world w;
    tc_sync *s = world_new_with(&w, true);
    for (uint64_t p = 1; p <= 3; p++)
        tc_sync_on_height(s, p, CHAIN);
    for (int rounds = 0; rounds < 100000 && w.tip < CHAIN; rounds++) {
        for (size_t i = 0; i < w.n_req; i++)
            if (!w.req[i].answered)
                assert_int_equal(answer(&w, s, i, CHAIN), 0);
        if (atomic_exchange(&w.wakes, 0) == 0)
            usleep(100);
        w.now += 20;
        tc_sync_tick(s);
    }
    assert_int_equal(w.tip, CHAIN);
    assert_int_equal(w.rejoins, 1);
    assert_true(atomic_load(&w.verified) >= CHAIN); /* every block went through them */
    world_free(&w, s);
}

static size_t find_req(const world *w, uint64_t from)
{
    for (size_t i = w->n_req; i-- > 0;)
        if (w->req[i].from == from && !w->req[i].answered)
            return i;
    fail_msg("no open request from %llu", (unsigned long long)from);
    return 0;
}

static void test_bad_block_banned_and_fetched_elsewhere(void **state)
{
    (void)state;
    static world w;
    tc_sync *s = world_new(&w);
    w.bad_height = 300;
    w.bad_peer = 2;
    encode_block(300, BAD_TIME, &w.bad[0], &w.bad[1]);
    for (uint64_t p = 1; p <= 3; p++)
        tc_sync_on_height(s, p, 600);
    /* peer 1 holds 1..256 open, peer 2 257..512 */
    assert_int_equal(w.req[find_req(&w, 257)].peer, 2);
    assert_int_equal(answer(&w, s, find_req(&w, 257), 600), 0); /* held, not yet checked */
    assert_int_equal(answer(&w, s, find_req(&w, 1), 600), 0);
    assert_int_equal(w.tip, 128);
    /* 129..256 from peer 1 lets the run in; 300 fails, so nothing of the
     * batch is kept and peer 2, not the one being handled, is banned through
     * io; the ranges before its range are applied again */
    assert_int_equal(answer(&w, s, find_req(&w, 129), 600), 0);
    assert_int_equal(w.tip, 256);
    assert_int_equal(w.n_banned, 1);
    assert_int_equal(w.banned[0], 2);
    /* its whole range is asked again, not from the banned peer, which is never asked again */
    size_t again = find_req(&w, 257);
    assert_true(w.req[again].peer != 2);
    size_t after = w.n_req;
    tc_sync_on_height(s, 2, 600); /* still listed until the ban drops it: ignored */
    answer_all_backwards(&w, s, 600);
    assert_int_equal(w.tip, 600);
    for (size_t i = after; i < w.n_req; i++)
        assert_true(w.req[i].peer != 2);

    /* the peer being handled serving a bad block gets the violation returned */
    w.bad_height = 700;
    w.bad_peer = 3;
    tc_buf_release(&w.bad[0]);
    tc_buf_release(&w.bad[1]);
    encode_block(700, BAD_TIME, &w.bad[0], &w.bad[1]);
    tc_sync_on_height(s, 3, 800);
    size_t k = find_req(&w, 601);
    assert_int_equal(w.req[k].peer, 3);
    assert_int_equal(answer(&w, s, k, 800), TC_EBLK_TIME);
    assert_int_equal(w.tip, 600);
    assert_int_equal(w.n_banned, 1);
    world_free(&w, s);
}

/* A certified block that names another parent is another branch: the
 * peer is not banned, its range is fetched elsewhere and it is asked for
 * nothing more until set back on our branch; a branch block whose
 * certificate does not check (iface.branch says so) is still a ban. It is
 * judged once it follows the tip: the ranges before it are applied first.
 * Inside a peer's own run, a block that does not name the one before it is
 * no branch: that run is invalid. */
static void test_other_branch_not_banned(void **state)
{
    (void)state;
    static world w;
    tc_sync *s = world_new(&w);
    w.bad_height = 257; /* the first of peer 2's range */
    w.bad_peer = 2;
    encode_block(257, OTHER_TIME, &w.bad[0], &w.bad[1]);
    for (uint64_t p = 1; p <= 3; p++)
        tc_sync_on_height(s, p, 600);
    assert_int_equal(answer(&w, s, find_req(&w, 257), 600), 0);
    assert_int_equal(answer(&w, s, find_req(&w, 1), 600), 0);
    assert_int_equal(answer(&w, s, find_req(&w, 129), 600), 0);
    assert_int_equal(w.tip, 256);
    assert_int_equal(w.branches, 1);
    assert_int_equal(w.branch_peer, 2);
    assert_int_equal(w.branch_height, 257);
    assert_int_equal(w.n_banned, 0);
    size_t after = w.n_req;
    tc_sync_on_height(s, 2, 600); /* its reports are ignored now */
    answer_all_backwards(&w, s, 600);
    assert_int_equal(w.tip, 600);
    for (size_t i = after; i < w.n_req; i++)
        assert_true(w.req[i].peer != 2);
    /* back on our branch: asked again */
    tc_sync_set_branch(s, 2, true);
    tc_sync_on_height(s, 2, 700);
    assert_int_equal(w.req[find_req(&w, 601)].peer, 2);
    answer_all_backwards(&w, s, 700);
    assert_int_equal(w.tip, 700);

    /* the same from the peer being handled, with a certificate that fails */
    w.bad_height = 701;
    w.bad_peer = 3;
    w.branch_rc = TC_ECERT_QUORUM;
    tc_buf_release(&w.bad[0]);
    tc_buf_release(&w.bad[1]);
    encode_block(701, OTHER_TIME, &w.bad[0], &w.bad[1]);
    tc_sync_on_height(s, 3, 800);
    size_t k = find_req(&w, 701);
    assert_int_equal(w.req[k].peer, 3);
    assert_int_equal(answer(&w, s, k, 800), TC_ECERT_QUORUM);
    assert_int_equal(w.tip, 700);
    assert_int_equal(w.branches, 2);

    /* inside a peer's own run: banned, no branch asked about */
    tc_sync_on_height(s, 1, 800);
    k = find_req(&w, 701);
    w.bad_height = 750;
    w.bad_peer = w.req[k].peer;
    tc_buf_release(&w.bad[0]);
    tc_buf_release(&w.bad[1]);
    encode_block(750, OTHER_TIME, &w.bad[0], &w.bad[1]);
    assert_int_equal(answer(&w, s, k, 800), TC_EBLK_PREV);
    assert_int_equal(w.tip, 700);
    assert_int_equal(w.branches, 2);
    world_free(&w, s);
}

static void test_malformed_run_is_a_violation(void **state)
{
    (void)state;
    static world w;
    tc_sync *s = world_new(&w);
    tc_sync_on_height(s, 1, 300);
    uint8_t junk[3] = {1, 2, 3};
    tc_msg_block v = {{junk, sizeof junk}, {junk, sizeof junk}};
    tc_msg_blocks m = {1, &v};
    assert_int_equal(tc_sync_on_blocks(s, 1, &m), TC_EBADVAL);
    /* a certificate for another block */
    tc_msg_block v2 = {{w.raw[1][0].p, w.raw[1][0].len}, {w.raw[2][1].p, w.raw[2][1].len}};
    tc_msg_blocks m2 = {1, &v2};
    assert_int_equal(tc_sync_on_blocks(s, 1, &m2), TC_ECERT_TARGET);
    assert_int_equal(w.tip, 0);
    world_free(&w, s);
}

static void test_stall_asked_elsewhere(void **state)
{
    (void)state;
    static world w;
    tc_sync *s = world_new(&w);
    tc_sync_on_height(s, 1, 1000);
    tc_sync_on_height(s, 2, 1000);
    assert_int_equal(w.n_req, 4);
    assert_int_equal(answer(&w, s, find_req(&w, 257), 1000), 0);
    assert_int_equal(answer(&w, s, find_req(&w, 385), 1000), 0);
    /* peer 1 never answers 1 and 129: after the stall time peer 2 is asked */
    w.now += 2000;
    tc_sync_tick(s); /* not yet */
    w.now += 2500;
    for (size_t i = 0; i < w.n_req; i++) /* peer 2 answers what it has open */
        if (!w.req[i].answered && w.req[i].peer == 2 && w.req[i].from > 256)
            assert_int_equal(answer(&w, s, i, 1000), 0);
    tc_sync_tick(s);
    assert_int_equal(w.req[find_req(&w, 1)].peer, 2);
    for (int rounds = 0; rounds < 1000 && w.tip < 1000; rounds++) {
        for (size_t i = 0; i < w.n_req; i++)
            if (!w.req[i].answered && w.req[i].peer == 2)
                assert_int_equal(answer(&w, s, i, 1000), 0);
        w.now += 200;
        tc_sync_tick(s);
    }
    assert_int_equal(w.tip, 1000);
    assert_int_equal(w.rejoins, 1);
    world_free(&w, s);
}

static void test_departure_asked_elsewhere(void **state)
{
    (void)state;
    static world w;
    tc_sync *s = world_new(&w);
    tc_sync_on_height(s, 1, 200);
    tc_sync_on_height(s, 2, 200);
    assert_int_equal(w.n_req, 2); /* 1..128 and 129..200, both from peer 1 */
    tc_sync_on_peer_down(s, 1);
    assert_int_equal(w.req[find_req(&w, 1)].peer, 2);
    assert_int_equal(w.req[find_req(&w, 129)].peer, 2);
    assert_int_equal(answer(&w, s, find_req(&w, 129), 200), 0);
    assert_int_equal(answer(&w, s, find_req(&w, 1), 200), 0);
    assert_int_equal(w.tip, 200);
    world_free(&w, s);
}

static void test_empty_answer_asked_elsewhere(void **state)
{
    (void)state;
    static world w;
    tc_sync *s = world_new(&w);
    tc_sync_on_height(s, 1, 200); /* it says so, but holds nothing */
    assert_int_equal(w.n_req, 2);
    tc_msg_blocks none = {0, NULL};
    w.req[0].answered = true;
    assert_int_equal(tc_sync_on_blocks(s, 1, &none), 0);
    assert_int_equal(w.n_req, 2); /* not asked again */
    tc_sync_on_height(s, 1, 200); /* nor when it claims the same again (ping) */
    assert_int_equal(w.n_req, 2);
    assert_false(tc_sync_active(s));
    tc_sync_on_height(s, 2, 200);
    assert_int_equal(w.req[find_req(&w, 1)].peer, 2);
    /* a partial answer: the rest is asked again */
    assert_int_equal(answer(&w, s, find_req(&w, 1), 60), 0);
    assert_int_equal(w.tip, 60);
    size_t k = find_req(&w, 61);
    assert_int_equal(w.req[k].count, 68);
    world_free(&w, s);
}

/* A peer that lies about its height and serves nothing, claiming one block
 * more after each refutation, cannot keep the node syncing: after the first
 * refutation its claims are ignored for a while (doubling), and an honest
 * peer that serves clears its record. */
static void test_climbing_liar_distrusted(void **state)
{
    (void)state;
    static world w;
    tc_sync *s = world_new(&w);
    tc_msg_blocks none = {0, NULL};
    tc_sync_on_height(s, 1, 1000000000);
    assert_true(tc_sync_active(s));
    for (uint64_t k = 1; k <= 20; k++) {
        for (size_t i = 0; i < w.n_req; i++)
            if (!w.req[i].answered && w.req[i].peer == 1) {
                w.req[i].answered = true;
                assert_int_equal(tc_sync_on_blocks(s, 1, &none), 0);
            }
        w.now += 1000; /* a ping a second, each claiming one block more */
        tc_sync_on_height(s, 1, 1000000000 + k);
        tc_sync_tick(s);
    }
    assert_false(tc_sync_active(s));
    assert_true(tc_sync_target(s) <= w.tip);
    size_t asked = w.n_req;
    w.now += 31000; /* the distrust ends: believed once more, refuted again */
    tc_sync_on_height(s, 1, 2000000000);
    assert_true(w.n_req > asked);
    for (size_t i = 0; i < w.n_req; i++)
        if (!w.req[i].answered && w.req[i].peer == 1) {
            w.req[i].answered = true;
            assert_int_equal(tc_sync_on_blocks(s, 1, &none), 0);
        }
    asked = w.n_req;
    w.now += 31000; /* now distrusted for 60 s */
    tc_sync_on_height(s, 1, 2000000001);
    assert_int_equal(w.n_req, asked);
    assert_false(tc_sync_active(s));
    world_free(&w, s);
}

/* The same liar silent instead of answering empty: its requests stall, and
 * a claim of one block more each second must not clear its strikes, or it
 * never reaches STRIKES and keeps the node syncing (found by tc-sim --whole
 * --byz lying-heights). */
static void test_silent_climbing_liar_refuted(void **state)
{
    (void)state;
    static world w;
    tc_sync *s = world_new(&w);
    tc_sync_on_height(s, 1, 1000000000);
    assert_true(tc_sync_active(s));
    for (uint64_t k = 1; k <= 30; k++) {
        w.now += 1000; /* a ping a second, each claiming one block more; nothing served */
        tc_sync_on_height(s, 1, 1000000000 + k);
        tc_sync_tick(s);
    }
    assert_false(tc_sync_active(s));
    world_free(&w, s);
}

/* A peer that answers every request with one block splits ranges as far as
 * the window allows, never further; the sync still completes. */
static void test_one_block_answers_stay_bounded(void **state)
{
    (void)state;
    static world w;
    tc_sync *s = world_new(&w);
    for (uint64_t p = 1; p <= 6; p++)
        tc_sync_on_height(s, p, CHAIN);
    for (int round = 0; round < 3000; round++) {
        size_t k = w.n_req; /* the newest open request but the first range's */
        while (k > 0 && (w.req[k - 1].answered || w.req[k - 1].from == 1))
            k--;
        if (k == 0 || w.n_req >= MAX_SENT - 16)
            break;
        assert_int_equal(answer(&w, s, k - 1, w.req[k - 1].from), 0); /* one block */
        w.now += 1; /* the first range never stalls */
        tc_sync_tick(s);
    }
    for (int rounds = 0; rounds < 10000 && w.tip < CHAIN && w.n_req < MAX_SENT; rounds++) {
        for (size_t i = 0; i < w.n_req; i++)
            if (!w.req[i].answered)
                assert_int_equal(answer(&w, s, i, CHAIN), 0);
        w.now += 200;
        tc_sync_tick(s);
    }
    assert_int_equal(w.tip, CHAIN);
    world_free(&w, s);
}

/* Answers the newest open request until none is left, without time passing. */
static void answer_open_now(world *w, tc_sync *s)
{
    for (int i = 0; i < 100; i++) {
        size_t k = w->n_req;
        while (k > 0 && w->req[k - 1].answered)
            k--;
        if (k == 0)
            return;
        assert_int_equal(answer(w, s, k - 1, CHAIN), 0);
    }
}

static void test_requests_paced_per_peer(void **state)
{
    (void)state;
    static world w;
    tc_sync *s = world_new(&w);
    tc_sync_on_height(s, 1, CHAIN);
    /* answering at once, without time passing: the burst, then nothing */
    answer_open_now(&w, s);
    size_t burst = w.n_req;
    assert_true(burst < 20); /* a server's default burst */
    assert_true(burst >= 8);
    /* a second later: under a server's default rate (10/s) */
    w.now += 1000;
    tc_sync_tick(s);
    answer_open_now(&w, s);
    assert_true(w.n_req > burst);
    assert_true(w.n_req - burst < 10);
    world_free(&w, s);
}

/* Serving reads the ledger's stored encodings: what a follower decodes is
 * exactly what the ledger holds, never past the tip. */
static void test_serve_from_ledger(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    for (int h = 1; h <= 6; h++)
        assert_int_equal(testchain_next(&c, NULL, 0, NULL, NULL), 0);
    tc_msg_getblocks g = {2, 10};
    tc_sync_reply r;
    tc_sync_serve(c.L, &g, &r);
    assert_int_equal(r.msg.type, TC_MSG_BLOCKS);
    assert_int_equal(r.msg.u.blocks.n, 5);
    for (size_t i = 0; i < r.msg.u.blocks.n; i++) {
        tc_block b, want;
        tc_cert cert, want_cert;
        assert_int_equal(tc_block_decode(&b, r.msg.u.blocks.v[i].block.p, r.msg.u.blocks.v[i].block.len), 0);
        assert_int_equal(tc_cert_decode(&cert, r.msg.u.blocks.v[i].cert.p, r.msg.u.blocks.v[i].cert.len), 0);
        assert_int_equal(tc_ledger_get_block(c.L, 2 + i, &want), 0);
        assert_int_equal(tc_ledger_get_cert(c.L, 2 + i, &want_cert), 0);
        tc_hash h1, h2;
        tc_header_hash(&b.hdr, &h1);
        tc_header_hash(&want.hdr, &h2);
        assert_memory_equal(h1.b, h2.b, 32);
        assert_int_equal(cert.height, 2 + i);
        assert_int_equal(cert.n, want_cert.n);
        tc_block_release(&b);
        tc_block_release(&want);
        tc_cert_release(&cert);
        tc_cert_release(&want_cert);
    }
    tc_sync_reply_release(&r);
    tc_msg_getblocks none[] = {{0, 3}, {7, 3}};
    for (size_t i = 0; i < 2; i++) {
        tc_sync_serve(c.L, &none[i], &r);
        assert_int_equal(r.msg.u.blocks.n, 0);
        tc_sync_reply_release(&r);
    }
    testchain_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_window_in_order),
        cmocka_unit_test(test_verified_before_applied),
        cmocka_unit_test(test_bad_block_banned_and_fetched_elsewhere),
        cmocka_unit_test(test_other_branch_not_banned),
        cmocka_unit_test(test_malformed_run_is_a_violation),
        cmocka_unit_test(test_stall_asked_elsewhere),
        cmocka_unit_test(test_departure_asked_elsewhere),
        cmocka_unit_test(test_empty_answer_asked_elsewhere),
        cmocka_unit_test(test_climbing_liar_distrusted),
        cmocka_unit_test(test_silent_climbing_liar_refuted),
        cmocka_unit_test(test_one_block_answers_stay_bounded),
        cmocka_unit_test(test_requests_paced_per_peer),
        cmocka_unit_test(test_serve_from_ledger),
    };
    return cmocka_run_group_tests_name("sync", tests, NULL, NULL);
}
