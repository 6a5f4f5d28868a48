/* Token bucket and ban score under a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net/banscore.h"
#include "net/tokenbucket.h"

static void test_burst_then_rate(void **state)
{
    (void)state;
    tc_tokenbucket tb;
    uint64_t t = 1000;
    tc_tokenbucket_init(&tb, 10, 20, t);
    for (int i = 0; i < 20; i++)
        assert_true(tc_tokenbucket_take(&tb, t));
    assert_false(tc_tokenbucket_take(&tb, t));
    /* 10/s: one token per 100 ms */
    assert_false(tc_tokenbucket_take(&tb, t + 99));
    assert_true(tc_tokenbucket_take(&tb, t + 100));
    assert_false(tc_tokenbucket_take(&tb, t + 100));
    /* one second later: 10 more, not 11 */
    t += 1100;
    for (int i = 0; i < 10; i++)
        assert_true(tc_tokenbucket_take(&tb, t));
    assert_false(tc_tokenbucket_take(&tb, t));
    /* a long pause refills to the burst, never beyond */
    t += 3600u * 1000;
    assert_int_equal(tc_tokenbucket_available(&tb, t), 20);
}

static void test_sustained_rate(void **state)
{
    (void)state;
    /* a sender at 50/s against 10/s burst 20 gets ~10/s through over 10 s */
    tc_tokenbucket tb;
    tc_tokenbucket_init(&tb, 10, 20, 0);
    int ok = 0;
    for (uint64_t t = 0; t < 10000; t += 20)
        ok += tc_tokenbucket_take(&tb, t);
    assert_in_range(ok, 20 + 99 - 1, 20 + 100 + 1);
}

static void test_clock_backwards_and_unlimited(void **state)
{
    (void)state;
    tc_tokenbucket tb;
    tc_tokenbucket_init(&tb, 1, 1, 5000);
    assert_true(tc_tokenbucket_take(&tb, 5000));
    assert_false(tc_tokenbucket_take(&tb, 1000)); /* went back: no refill */
    assert_false(tc_tokenbucket_take(&tb, 5999));
    assert_true(tc_tokenbucket_take(&tb, 6000));

    tc_tokenbucket_init(&tb, 0, 0, 0);
    for (int i = 0; i < 100000; i++)
        assert_true(tc_tokenbucket_take(&tb, 0));

    /* burst 0 with a rate means 1 */
    tc_tokenbucket_init(&tb, 5, 0, 0);
    assert_true(tc_tokenbucket_take(&tb, 0));
    assert_false(tc_tokenbucket_take(&tb, 0));
    /* huge time steps and rates do not overflow */
    tc_tokenbucket_init(&tb, UINT32_MAX, UINT32_MAX, 0);
    assert_true(tc_tokenbucket_take(&tb, UINT64_MAX / 2));
    assert_int_equal(tc_tokenbucket_available(&tb, UINT64_MAX - 1), UINT32_MAX);
}

static void test_banscore_decay(void **state)
{
    (void)state;
    tc_banscore s;
    tc_banscore_init(&s, 0);
    assert_int_equal(tc_banscore_add(&s, 10, 0), 10);
    assert_int_equal(tc_banscore_get(&s, TC_BANSCORE_DECAY_MS - 1), 10);
    assert_int_equal(tc_banscore_get(&s, TC_BANSCORE_DECAY_MS), 9);
    assert_int_equal(tc_banscore_get(&s, 100ull * TC_BANSCORE_DECAY_MS), 0);
    /* sporadic offences never add up; a burst does */
    tc_banscore_init(&s, 0);
    uint64_t t = 0;
    for (int i = 0; i < 1000; i++, t += TC_BANSCORE_DECAY_MS)
        assert_true(tc_banscore_add(&s, 1, t) < TC_BANSCORE_BAN);
    for (int i = 0; i < 100; i++)
        tc_banscore_add(&s, 1, t);
    assert_true(tc_banscore_get(&s, t) >= TC_BANSCORE_BAN);
    assert_int_equal(tc_banscore_add(&s, UINT32_MAX, t), UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_sustained_rate),
        cmocka_unit_test(test_clock_backwards_and_unlimited),
        cmocka_unit_test(test_banscore_decay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
