/* util/clock: the TC_TEST_WALL_OFFSET_MS hook — its parser, its saturation at
 * both ends of the 64-bit range, and that only the wall clock moves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "util/clock.h"

static void expect_parse(const char *s, int negative, uint64_t magnitude)
{
    tc_clock_offset o;
    assert_int_equal(tc_clock_offset_parse(s, &o), 0);
    assert_int_equal(o.negative, negative);
    assert_true(o.magnitude == magnitude);
}

static void test_parse(void **state)
{
    (void)state;
    expect_parse("0", 0, 0);
    expect_parse("5000", 0, 5000);
    expect_parse("+5000", 0, 5000);
    expect_parse("-5000", 1, 5000);
    expect_parse("9223372036854775807", 0, INT64_MAX);
    expect_parse("-9223372036854775808", 1, 9223372036854775808ull);
    expect_parse("18446744073709551615", 0, UINT64_MAX);
    expect_parse("-18446744073709551615", 1, UINT64_MAX);
    expect_parse("000000000000000000000042", 0, 42);
    static const char *bad[] = {"", "+", "-", "18446744073709551616", "99999999999999999999", "1e3", " 5", "5 ",
                                "0x10", "--5", "+-5", "5ms", "1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tc_clock_offset o = {true, 7};
        if (tc_clock_offset_parse(bad[i], &o) != TC_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_false(o.negative);
        assert_true(o.magnitude == 0);
    }
}

static void test_apply_saturates(void **state)
{
    (void)state;
    const uint64_t now = 1763800000000ull;
    tc_clock_offset plus = {false, 5000}, minus = {true, 5000}, max = {false, UINT64_MAX},
                    min = {true, UINT64_MAX};
    assert_true(tc_clock_offset_apply(&plus, now) == now + 5000);
    assert_true(tc_clock_offset_apply(&minus, now) == now - 5000);
    assert_true(tc_clock_offset_apply(&max, now) == UINT64_MAX);
    assert_true(tc_clock_offset_apply(&max, 0) == UINT64_MAX);
    assert_true(tc_clock_offset_apply(&min, now) == 0);
    assert_true(tc_clock_offset_apply(&minus, 4999) == 0);
    assert_true(tc_clock_offset_apply(&minus, 5000) == 0);
    assert_true(tc_clock_offset_apply(&plus, UINT64_MAX - 4999) == UINT64_MAX);
    assert_true(tc_clock_offset_apply(&plus, UINT64_MAX - 5000) == UINT64_MAX);
    assert_true(tc_clock_offset_apply(&plus, UINT64_MAX - 5001) == UINT64_MAX - 1);
}

/* main set the hook to UINT64_MAX before the first clock read. */
static void test_env_pins_wall_clock_only(void **state)
{
    (void)state;
    tc_clock_offset o;
    assert_int_equal(tc_clock_offset_env(&o), 1);
    assert_false(o.negative);
    assert_true(o.magnitude == UINT64_MAX);
    assert_true(tc_clock_wall_ms() == UINT64_MAX);
    /* Read once: a later change of the environment does not move the clock. */
    setenv(TC_CLOCK_OFFSET_ENV, "0", 1);
    assert_true(tc_clock_wall_ms() == UINT64_MAX);
    /* The monotonic clock is untouched (it counts from boot, far below). */
    assert_true(tc_clock_mono_ms() < UINT64_MAX / 2);
    assert_true(tc_clock_mono_ns() < UINT64_MAX / 2);
}

int main(void)
{
    setenv(TC_CLOCK_OFFSET_ENV, "18446744073709551615", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_apply_saturates),
        cmocka_unit_test(test_env_pins_wall_clock_only),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
