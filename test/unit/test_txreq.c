/* Transaction requests: one announcer asked per transaction, the next
 * after a timeout or when the asked peer leaves, and one peer's flood of
 * announcements bounded so another's still gets asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node/txreq.h"

static tc_hash hash_of(uint32_t i)
{
    tc_hash h;
    memset(h.b, 0, sizeof h.b);
    memcpy(h.b, &i, sizeof i);
    h.b[31] = 0x5a;
    return h;
}

typedef struct {
    uint64_t peer[16];
    tc_hash h[16];
    size_t n;
} asks;

static void record(void *ctx, uint64_t peer, const tc_hash *h)
{
    asks *a = ctx;
    assert_true(a->n < 16);
    a->peer[a->n] = peer;
    a->h[a->n++] = *h;
}

/* The first announcer is asked; later ones are not while it has time. */
static void test_one_ask_per_hash(void **state)
{
    (void)state;
    tc_txreq *q = tc_txreq_new(100, 10, 2000);
    tc_hash h = hash_of(1);
    assert_true(tc_txreq_announced(q, 1, &h, 0));  /* positive control: asked */
    assert_false(tc_txreq_announced(q, 2, &h, 10));
    assert_false(tc_txreq_announced(q, 3, &h, 20));
    assert_false(tc_txreq_announced(q, 1, &h, 30)); /* a repeat from the asked peer */
    assert_int_equal(tc_txreq_size(q), 1);
    assert_int_equal(tc_txreq_outstanding(q, 1), 1);
    assert_int_equal(tc_txreq_outstanding(q, 2), 0);
    tc_txreq_received(q, &h);
    assert_int_equal(tc_txreq_size(q), 0);
    assert_int_equal(tc_txreq_outstanding(q, 1), 0);
    assert_true(tc_txreq_announced(q, 2, &h, 40)); /* after delivery, a new announcement is a new fetch */
    tc_txreq_free(q);
}

/* A withholding announcer delays the transaction by one timeout: then the
 * alternatives are asked in announcement order, and without one left the
 * hash is forgotten. */
static void test_timeout_moves_on(void **state)
{
    (void)state;
    tc_txreq *q = tc_txreq_new(100, 10, 2000);
    tc_hash h = hash_of(2);
    asks a = {0};
    assert_true(tc_txreq_announced(q, 7, &h, 0));
    assert_false(tc_txreq_announced(q, 8, &h, 5));
    assert_false(tc_txreq_announced(q, 9, &h, 6));
    tc_txreq_expire(q, 1999, record, &a);
    assert_int_equal(a.n, 0); /* not yet */
    tc_txreq_expire(q, 2000, record, &a);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.peer[0], 8);
    assert_memory_equal(a.h[0].b, h.b, 32);
    assert_int_equal(tc_txreq_outstanding(q, 7), 0);
    assert_int_equal(tc_txreq_outstanding(q, 8), 1);
    tc_txreq_expire(q, 3000, record, &a); /* 8 has until 4000 */
    assert_int_equal(a.n, 1);
    tc_txreq_expire(q, 4000, record, &a);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.peer[1], 9);
    tc_txreq_expire(q, 6000, record, &a);
    assert_int_equal(a.n, 2); /* no one left: forgotten */
    assert_int_equal(tc_txreq_size(q), 0);
    assert_int_equal(tc_txreq_outstanding(q, 9), 0);
    tc_txreq_free(q);
}

/* The asked peer leaving hands its requests on at once; a leaving
 * alternative is dropped from the list. */
static void test_peer_down(void **state)
{
    (void)state;
    tc_txreq *q = tc_txreq_new(100, 10, 2000);
    tc_hash h1 = hash_of(3), h2 = hash_of(4);
    asks a = {0};
    assert_true(tc_txreq_announced(q, 1, &h1, 0));
    assert_false(tc_txreq_announced(q, 2, &h1, 0));
    assert_false(tc_txreq_announced(q, 3, &h1, 0));
    assert_true(tc_txreq_announced(q, 2, &h2, 0));
    tc_txreq_peer_down(q, 2, 100, record, &a); /* asked for h2 (no one else), alternative for h1 */
    assert_int_equal(a.n, 0);
    assert_int_equal(tc_txreq_size(q), 1);
    tc_txreq_peer_down(q, 1, 200, record, &a);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.peer[0], 3); /* 2 is gone: not asked */
    assert_memory_equal(a.h[0].b, h1.b, 32);
    tc_txreq_free(q);
}

/* One peer's announcements stop at its bound; another peer's hashes are
 * still asked, and a hash the flooder also announced goes to the other. */
static void test_flood_bounded(void **state)
{
    (void)state;
    tc_txreq *q = tc_txreq_new(1000, 50, 2000);
    for (uint32_t i = 0; i < 10000; i++) {
        tc_hash h = hash_of(1000 + i);
        bool asked = tc_txreq_announced(q, 66, &h, 0);
        assert_true(asked == (i < 50));
    }
    assert_int_equal(tc_txreq_outstanding(q, 66), 50);
    assert_int_equal(tc_txreq_size(q), 50);
    tc_hash honest = hash_of(1000 + 5000); /* the flooder announced it too, over its bound */
    assert_true(tc_txreq_announced(q, 5, &honest, 1));
    tc_hash shared = hash_of(1000); /* asked of the flooder: 5 is the alternative */
    assert_false(tc_txreq_announced(q, 5, &shared, 1));
    asks a = {0};
    tc_txreq_expire(q, 2000, record, &a);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.peer[0], 5);
    assert_memory_equal(a.h[0].b, shared.b, 32);
    assert_int_equal(tc_txreq_outstanding(q, 66), 0);
    tc_txreq_free(q);
}

/* The table's total bound: beyond it nothing new is tracked. */
static void test_total_bound(void **state)
{
    (void)state;
    tc_txreq *q = tc_txreq_new(8, 100, 2000);
    for (uint32_t i = 0; i < 20; i++) {
        tc_hash h = hash_of(i);
        assert_true(tc_txreq_announced(q, 1 + i % 4, &h, 0) == (i < 8));
    }
    assert_int_equal(tc_txreq_size(q), 8);
    tc_txreq_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_ask_per_hash), cmocka_unit_test(test_timeout_moves_on),
        cmocka_unit_test(test_peer_down),        cmocka_unit_test(test_flood_bounded),
        cmocka_unit_test(test_total_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
