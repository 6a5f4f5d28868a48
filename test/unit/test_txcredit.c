/* Transaction credit under a fake clock: bounded by its cap, expiring
 * between one and two windows after the getdata, taken oldest first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net/txcredit.h"

/* Asked-for items pass; one more does not. */
static void test_grant_and_take(void **state)
{
    (void)state;
    tc_txcredit c;
    uint64_t t = 5000;
    tc_txcredit_init(&c, 100, 1000, t);
    assert_false(tc_txcredit_take(&c, t)); /* nothing asked: nothing passes */
    assert_int_equal(tc_txcredit_grant(&c, 30, t), 30);
    for (int i = 0; i < 30; i++)
        assert_true(tc_txcredit_take(&c, t + 10));
    assert_false(tc_txcredit_take(&c, t + 10));
    assert_int_equal(tc_txcredit_left(&c, t + 10), 0);
}

/* However many items are asked for, at most max count at once. */
static void test_cap(void **state)
{
    (void)state;
    tc_txcredit c;
    uint64_t t = 0;
    tc_txcredit_init(&c, 100, 1000, t);
    assert_int_equal(tc_txcredit_grant(&c, 1024, t), 100);
    assert_int_equal(tc_txcredit_grant(&c, UINT64_MAX, t), 0);
    assert_int_equal(tc_txcredit_grant(&c, 1, t + 1500), 0); /* the previous window still holds 100 */
    assert_int_equal(tc_txcredit_left(&c, t + 1500), 100);
    for (int i = 0; i < 100; i++)
        assert_true(tc_txcredit_take(&c, t + 1500));
    assert_false(tc_txcredit_take(&c, t + 1500));
    assert_int_equal(tc_txcredit_grant(&c, 5, t + 1500), 5); /* room again once taken */
    tc_txcredit_init(&c, 0, 1000, t);
    assert_int_equal(tc_txcredit_grant(&c, 5, t), 0);
    assert_false(tc_txcredit_take(&c, t));
}

/* An unanswered item counts for at least one window and less than two. */
static void test_expiry(void **state)
{
    (void)state;
    tc_txcredit c;
    uint64_t t = 10000;
    tc_txcredit_init(&c, 1000, 1000, t);
    tc_txcredit_grant(&c, 10, t + 999); /* at the very end of a window */
    assert_int_equal(tc_txcredit_left(&c, t + 1999), 10); /* one window after: still counts */
    assert_int_equal(tc_txcredit_left(&c, t + 2000), 0);  /* gone */
    assert_false(tc_txcredit_take(&c, t + 2000));
    tc_txcredit_grant(&c, 10, t + 2000); /* at the very start of one */
    assert_int_equal(tc_txcredit_left(&c, t + 3999), 10);
    assert_int_equal(tc_txcredit_left(&c, t + 4000), 0); /* < 2 windows */
    tc_txcredit_grant(&c, 10, t + 4000);
    assert_int_equal(tc_txcredit_left(&c, t + 100000), 0); /* a long silence forgets all */
    /* a clock that goes backwards neither expires nor revives anything */
    tc_txcredit_grant(&c, 3, t + 100000);
    assert_int_equal(tc_txcredit_left(&c, t + 50), 3);
    assert_int_equal(tc_txcredit_left(&c, t + 100000), 3);
}

/* Answers use the oldest credit first, so fresh credit outlives stale. */
static void test_oldest_first(void **state)
{
    (void)state;
    tc_txcredit c;
    uint64_t t = 0;
    tc_txcredit_init(&c, 1000, 1000, t);
    tc_txcredit_grant(&c, 5, t + 100);
    tc_txcredit_grant(&c, 7, t + 1100); /* next window */
    for (int i = 0; i < 5; i++)
        assert_true(tc_txcredit_take(&c, t + 1200)); /* these drain the old 5 */
    assert_int_equal(tc_txcredit_left(&c, t + 2100), 7); /* the 7 survive the old window's end */
    assert_int_equal(tc_txcredit_left(&c, t + 3000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grant_and_take),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_oldest_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
