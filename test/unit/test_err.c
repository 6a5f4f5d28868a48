/* util/err: every code has its own message and name; tc_fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/err.h"

static const struct {
    int code;
    const char *name;
    const char *msg;
} all[] = {
#define TC_TEST_ERR(name, value, msg) {value, #name, msg},
    TC_ERRORS(TC_TEST_ERR)
#undef TC_TEST_ERR
};
#define N_ERRORS (sizeof all / sizeof all[0])

static void test_every_code_has_message_and_name(void **state)
{
    (void)state;
    assert_true(N_ERRORS > 50);
    for (size_t i = 0; i < N_ERRORS; i++) {
        const char *m = tc_strerror(all[i].code);
        assert_non_null(m);
        assert_string_not_equal(m, "unknown error");
        assert_string_equal(m, all[i].msg);
        assert_true(strlen(m) > 0);
        assert_string_equal(tc_errname(all[i].code), all[i].name);
        assert_true(all[i].code <= 0);
        assert_true((all[i].code == 0) == (strcmp(all[i].name, "TC_OK") == 0));
    }
}

static void test_codes_names_messages_distinct(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ERRORS; i++) {
        for (size_t j = i + 1; j < N_ERRORS; j++) {
            if (all[i].code == all[j].code)
                fail_msg("%s and %s share code %d", all[i].name, all[j].name, all[i].code);
            if (strcmp(tc_strerror(all[i].code), tc_strerror(all[j].code)) == 0)
                fail_msg("%s and %s share message", all[i].name, all[j].name);
            if (strcmp(tc_errname(all[i].code), tc_errname(all[j].code)) == 0)
                fail_msg("%s and %s share name", all[i].name, all[j].name);
        }
    }
}

static void test_known_values(void **state)
{
    (void)state;
    /* values reach logs and RPC: they must not move */
    assert_int_equal(TC_OK, 0);
    assert_int_equal(TC_ETRUNC, -1);
    assert_int_equal(TC_ETRAILING, -2);
    assert_int_equal(TC_EOVERSIZE, -3);
    assert_int_equal(TC_ENONCANON, -4);
    assert_int_equal(TC_EBADVAL, -5);
    assert_int_equal(TC_ESIG, -20);
    assert_int_equal(TC_ETX_VERSION, -30);
    assert_int_equal(TC_EBLK_CHAIN, -60);
    assert_int_equal(TC_EBLK_SIZE, -69);
    assert_int_equal(TC_ECERT_QUORUM, -80);
    assert_int_equal(TC_ESTORE, -90);
    assert_int_equal(TC_EINVAL, -110);
    assert_int_equal(TC_ENET_MAGIC, -140);
    assert_string_equal(tc_strerror(TC_ETRUNC), "input truncated");
    assert_string_equal(tc_errname(TC_ENONCANON), "TC_ENONCANON");
    assert_string_equal(tc_strerror(0), "success");
}

static void test_unknown_code(void **state)
{
    (void)state;
    static const int unknown[] = {1, 42, -19, -1000, -119, 0x7fffffff, -0x7fffffff - 1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(tc_strerror(unknown[i]), "unknown error");
        assert_string_equal(tc_errname(unknown[i]), "TC_E?");
    }
}

static void test_fail_formats(void **state)
{
    (void)state;
    tc_errmsg e;
    memset(&e, 'X', sizeof e);
    assert_int_equal(tc_fail(&e, TC_ETX_FEE, "fee %llu below %llu", 5ull, 10ull), TC_ETX_FEE);
    assert_string_equal(e.msg, "fee 5 below 10");

    assert_int_equal(tc_fail(&e, TC_EBADVAL, "%s", ""), TC_EBADVAL);
    assert_string_equal(e.msg, "");

    /* NULL: the caller wants the code only */
    assert_int_equal(tc_fail(NULL, TC_ETX_DUST, "output %d", 3), TC_ETX_DUST);
    assert_int_equal(tc_fail(NULL, 0, "ok"), 0);
}

static void test_fail_truncates(void **state)
{
    (void)state;
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tc_errmsg e;
    assert_int_equal(tc_fail(&e, TC_EINVAL, "%s", big), TC_EINVAL);
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    assert_int_equal(e.msg[sizeof e.msg - 1], '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_message_and_name),
        cmocka_unit_test(test_codes_names_messages_distinct),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_unknown_code),
        cmocka_unit_test(test_fail_formats),
        cmocka_unit_test(test_fail_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
