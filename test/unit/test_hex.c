/* util/hex: lowercase encoding, strict decoding of exactly 2*n digits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/hex.h"

static void test_encode(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
    char out[2 * sizeof in + 1];
    memset(out, 'X', sizeof out);
    assert_ptr_equal(tc_hex_encode(out, in, sizeof in), out);
    assert_string_equal(out, "00017f80abcdefff");

    char empty[1] = {'X'};
    tc_hex_encode(empty, in, 0);
    assert_string_equal(empty, "");
}

static void test_decode_both_cases(void **state)
{
    (void)state;
    static const uint8_t want[] = {0xde, 0xad, 0xbe, 0xef, 0x09, 0xaf};
    uint8_t out[6];
    assert_int_equal(tc_hex_decode(out, 6, "deadbeef09af"), 0);
    assert_memory_equal(out, want, 6);
    memset(out, 0, sizeof out);
    assert_int_equal(tc_hex_decode(out, 6, "DEADBEEF09AF"), 0);
    assert_memory_equal(out, want, 6);
    memset(out, 0, sizeof out);
    assert_int_equal(tc_hex_decode(out, 6, "DeAdBeEf09aF"), 0);
    assert_memory_equal(out, want, 6);
    assert_int_equal(tc_hex_decode(out, 0, ""), 0);
}

static void test_round_trip_all_bytes(void **state)
{
    (void)state;
    uint8_t in[256], back[256];
    char s[513];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    tc_hex_encode(s, in, sizeof in);
    assert_int_equal(strlen(s), 512);
    assert_int_equal(tc_hex_decode(back, sizeof back, s), 0);
    assert_memory_equal(in, back, sizeof in);
}

static void assert_rejected(size_t n, const char *s)
{
    uint8_t out[8];
    memset(out, 0xaa, sizeof out);
    assert_int_equal(tc_hex_decode(out, n, s), TC_EHEX);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i], 0); /* zeroed on failure */
}

static void test_decode_rejects(void **state)
{
    (void)state;
    assert_rejected(2, "abc");      /* odd, short */
    assert_rejected(2, "ab");       /* short */
    assert_rejected(2, "abcdef");   /* long */
    assert_rejected(2, "");         /* empty */
    assert_rejected(0, "00");       /* expected none */
    assert_rejected(2, "abcg");     /* bad digit, last */
    assert_rejected(2, "gbcd");     /* bad digit, first */
    assert_rejected(2, "ab d");     /* space */
    assert_rejected(2, "0x12");     /* prefix */
    assert_rejected(2, "+1-2");
    assert_rejected(2, "ab:d");     /* ':' sits right after '9' */
    assert_rejected(2, "ab@d");     /* '@' sits right before 'A' */
    assert_rejected(2, "ab`d");     /* '`' sits right before 'a' */
    assert_rejected(2, "abGd");
    assert_rejected(2, "ab\xc3\xa9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_decode_both_cases),
        cmocka_unit_test(test_round_trip_all_bytes),
        cmocka_unit_test(test_decode_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
