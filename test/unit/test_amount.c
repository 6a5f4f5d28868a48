/* Decimal TIME amounts: exact parsing, every malformed form rejected, formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chain/amount.h"
#include "chain/params.h"

static void test_parse_valid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t sat;
    } ok[] = {
        {"0", 0},
        {"1", TC_COIN},
        {"0.00000001", 1},
        {"12.5", 1250000000},
        {"0.1", 10000000},
        {"00012.50000000", 1250000000},
        {"21000000000", TC_MAX_MONEY},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 99;
        assert_int_equal(tc_amount_parse(ok[i].s, &v), 0);
        assert_int_equal(v, ok[i].sat);
    }
}

static void test_parse_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {"", ".", "1.", ".5", "-1", "+1", "1e8", " 1", "1 ", "1.000000001", "1,5",
                                      "0x10", "1..2", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 99;
        if (tc_amount_parse(bad[i], &v) != TC_EINVAL)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_int_equal(v, 0);
    }
    uint64_t v;
    assert_int_equal(tc_amount_parse("21000000000.00000001", &v), TC_ETX_OVERFLOW);
    assert_int_equal(tc_amount_parse("99999999999999999999999", &v), TC_ETX_OVERFLOW);
}

static void test_format(void **state)
{
    (void)state;
    char s[TC_AMOUNT_STRLEN];
    assert_string_equal(tc_amount_format(s, 0), "0.00000000");
    assert_string_equal(tc_amount_format(s, 1), "0.00000001");
    assert_string_equal(tc_amount_format(s, 1250000000), "12.50000000");
    assert_string_equal(tc_amount_format(s, TC_MAX_MONEY), "21000000000.00000000");
    uint64_t back;
    assert_int_equal(tc_amount_parse(tc_amount_format(s, 123456789012345ull), &back), 0);
    assert_int_equal(back, 123456789012345ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests_name("amount", tests, NULL, NULL);
}
