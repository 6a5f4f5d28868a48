/* The candidate store's bounds: what one signer or one round can take, and
 * what nothing can evict (issue 11, attack 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/core.h"
#include "node/candidates.h"

static tc_pubkey key(uint8_t a)
{
    tc_pubkey k;
    memset(k.b, a, sizeof k.b);
    return k;
}

/* A block at height whose hash differs with tag. */
static tc_block block(uint64_t height, uint64_t tag)
{
    tc_block b;
    tc_block_init(&b);
    b.hdr.height = height;
    b.hdr.time_ms = 1000 + tag;
    return b;
}

static tc_hash hash_of(uint64_t height, uint64_t tag)
{
    tc_block b = block(height, tag);
    tc_hash h;
    tc_header_hash(&b.hdr, &h);
    tc_block_release(&b);
    return h;
}

static const tc_cand *keep(tc_cands *cs, const tc_cands_at *at, uint64_t height, uint64_t tag, uint32_t round,
                           uint8_t signer)
{
    tc_block b = block(height, tag);
    tc_pubkey k = key(signer);
    const tc_cand *c = tc_cands_keep(cs, at, &b, round, &k);
    assert_int_equal(b.hdr.height, 0); /* taken over in every case */
    return c;
}

static bool held(const tc_cands *cs, uint64_t height, uint64_t tag)
{
    tc_hash h = hash_of(height, tag);
    return tc_cands_find(cs, height, &h) != NULL;
}

static void test_current_height_rounds(void **state)
{
    (void)state;
    tc_cands *cs = tc_cands_new();
    tc_cands_at at = {.height = 10, .round = 7};
    for (uint32_t r = 0; r < TC_CANDS_ROUNDS; r++)
        assert_non_null(keep(cs, &at, 10, r, r, 1));
    assert_int_equal(tc_cands_count(cs), TC_CANDS_ROUNDS);
    /* the same block again is the entry already held */
    assert_non_null(keep(cs, &at, 10, 3, 3, 1));
    assert_int_equal(tc_cands_count(cs), TC_CANDS_ROUNDS);
    /* a higher round evicts the lowest one ... */
    assert_non_null(keep(cs, &at, 10, 100, 8, 1));
    assert_false(held(cs, 10, 0));
    assert_true(held(cs, 10, 1));
    /* ... and a round below everything held is not kept (nor decoded) */
    tc_hash h101 = hash_of(10, 101), h1 = hash_of(10, 1);
    tc_pubkey k1 = key(1);
    assert_false(tc_cands_room(cs, &at, 10, &h101, 0, &k1));
    assert_true(tc_cands_room(cs, &at, 10, &h101, 9, &k1));
    assert_true(tc_cands_room(cs, &at, 10, &h1, 0, &k1)); /* held already */
    assert_null(keep(cs, &at, 10, 101, 0, 1));
    assert_false(held(cs, 10, 101));
    tc_cands_free(cs);
}

static void test_protected_never_evicted(void **state)
{
    (void)state;
    tc_cands *cs = tc_cands_new();
    tc_cands_at at = {.height = 10, .round = 20};
    assert_non_null(keep(cs, &at, 10, 0, 0, 1)); /* the locked value, round 0 */
    at.protect[0] = hash_of(10, 0);
    at.n_protect = 1;
    for (uint32_t r = 1; r < 40; r++)
        keep(cs, &at, 10, r, r, 2);
    assert_true(held(cs, 10, 0));
    assert_int_equal(tc_cands_count(cs), TC_CANDS_ROUNDS);
    /* a protected value (a decided block fetched) fits even at the lowest round */
    at.protect[1] = hash_of(10, 999);
    at.n_protect = 2;
    assert_non_null(keep(cs, &at, 10, 999, 0, 3));
    assert_true(held(cs, 10, 0));
    assert_true(held(cs, 10, 999));
    tc_cands_free(cs);
}

static void test_beyond_window_goes_first(void **state)
{
    (void)state;
    tc_cands *cs = tc_cands_new();
    tc_cands_at at = {.height = 10, .round = 0};
    /* blocks kept while height 10 was the next one, for far rounds */
    for (uint32_t r = 0; r < TC_CANDS_ROUNDS; r++)
        assert_non_null(keep(cs, &at, 10, 500 + r, 1000 + r, 1));
    /* round 0's real proposal still gets in */
    assert_non_null(keep(cs, &at, 10, 0, 0, 2));
    assert_true(held(cs, 10, 0));
    assert_int_equal(tc_cands_count(cs), TC_CANDS_ROUNDS);
    (void)TC_CORE_ROUND_WINDOW;
    tc_cands_free(cs);
}

static void test_next_height_per_signer(void **state)
{
    (void)state;
    tc_cands *cs = tc_cands_new();
    tc_cands_at at = {.height = 10, .round = 0};
    assert_non_null(keep(cs, &at, 11, 1, 0, 1)); /* the honest proposer of 11 */
    for (uint64_t t = 0; t < 100; t++)           /* one signer floods height 11 */
        keep(cs, &at, 11, 1000 + t, (uint32_t)t, 2);
    assert_true(held(cs, 11, 1));
    assert_int_equal(tc_cands_count(cs), 1 + TC_CANDS_FUTURE_PER_SIGNER);
    /* nothing is kept for other heights */
    assert_null(keep(cs, &at, 12, 5, 0, 1));
    assert_null(keep(cs, &at, 9, 5, 0, 1));
    tc_cands_free(cs);
}

static bool keep_signer1(void *ctx, const tc_cand *c)
{
    (void)ctx;
    return c->proposer.b[0] == 1;
}

static void test_drop_and_prune(void **state)
{
    (void)state;
    tc_cands *cs = tc_cands_new();
    tc_cands_at at = {.height = 10, .round = 0};
    keep(cs, &at, 10, 1, 0, 1);
    keep(cs, &at, 11, 2, 0, 1);
    keep(cs, &at, 11, 3, 0, 2);
    assert_int_equal(tc_cands_count(cs), 3);
    assert_true(tc_cands_bytes(cs) > 0);
    tc_cands_drop_below(cs, 11);
    assert_false(held(cs, 10, 1));
    tc_cands_prune(cs, 11, keep_signer1, NULL);
    assert_true(held(cs, 11, 2));
    assert_false(held(cs, 11, 3));
    tc_hash h = hash_of(11, 2);
    assert_non_null(tc_cands_find_hash(cs, &h));
    tc_cands_free(cs);
    tc_cands_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_height_rounds),
        cmocka_unit_test(test_protected_never_evicted),
        cmocka_unit_test(test_beyond_window_goes_first),
        cmocka_unit_test(test_next_height_per_signer),
        cmocka_unit_test(test_drop_and_prune),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
