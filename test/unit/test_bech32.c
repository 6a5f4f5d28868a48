/* bech32m against BIP-350's test vectors, plus bit regrouping. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/bech32.h"

static const char *const valid[] = {
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
};

struct bad {
    const char *s;
    int err;
};

/* BIP-350 "not valid Bech32m" list, with the code each reason maps to. */
static const struct bad invalid[] = {
    {"\x20" "1xj0phk", TC_EBECH32_HRP},  /* HRP character out of range */
    {"\x7f" "1g6xzxy", TC_EBECH32_HRP},  /* HRP character out of range */
    {"\x80" "1vctc34", TC_EBECH32_HRP},  /* HRP character out of range */
    {"an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
     TC_EBECH32_LEN},                     /* overall max length exceeded */
    {"qyrz8wqd2c9m", TC_EBECH32_HRP},    /* no separator character */
    {"1qyrz8wqd2c9m", TC_EBECH32_HRP},   /* empty HRP */
    {"y1b0jsk6g", TC_EBECH32_CHAR},      /* invalid data character */
    {"lt1igcx5c0", TC_EBECH32_CHAR},     /* invalid data character */
    {"in1muywd", TC_EBECH32_LEN},        /* too short checksum */
    {"mm1crxm3i", TC_EBECH32_CHAR},      /* invalid character in checksum */
    {"au1s5cgom", TC_EBECH32_CHAR},      /* invalid character in checksum */
    {"M1VUXWEZ", TC_EBECH32_SUM},        /* checksum calculated with uppercase HRP */
    {"16plkw9", TC_EBECH32_HRP},         /* empty HRP */
    {"1p2gdwpf", TC_EBECH32_HRP},        /* empty HRP */
};

static void lower(char *out, const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

static void test_valid_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        char hrp[84], out[TC_BECH32_MAX + 1], want[TC_BECH32_MAX + 1];
        uint8_t data[TC_BECH32_MAX];
        size_t n = 12345;

        assert_int_equal(tc_bech32m_decode(hrp, data, &n, valid[i]), 0);
        size_t sep = (size_t)(strrchr(valid[i], '1') - valid[i]);
        assert_int_equal(strlen(hrp), sep);
        assert_int_equal(n, strlen(valid[i]) - sep - 1 - 6);
        assert_int_equal(tc_bech32m_encode(out, hrp, data, n), 0);
        lower(want, valid[i]);
        assert_string_equal(out, want);
    }
}

static void test_valid_decoded_values(void **state)
{
    (void)state;
    char hrp[84];
    uint8_t data[TC_BECH32_MAX];
    size_t n;

    assert_int_equal(tc_bech32m_decode(hrp, data, &n, "A1LQFN3A"), 0);
    assert_string_equal(hrp, "a");
    assert_int_equal(n, 0);

    /* "l" is 31 in the charset: 82 of them after hrp "1". */
    assert_int_equal(tc_bech32m_decode(hrp, data, &n, valid[4]), 0);
    assert_string_equal(hrp, "1");
    assert_int_equal(n, 82);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(data[i], 31);

    assert_int_equal(tc_bech32m_decode(hrp, data, &n, "?1v759aa"), 0);
    assert_string_equal(hrp, "?");
    assert_int_equal(n, 0);
}

static void test_invalid_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        char hrp[84];
        uint8_t data[TC_BECH32_MAX];
        size_t n = 7;
        memset(hrp, 'x', sizeof hrp);
        int rc = tc_bech32m_decode(hrp, data, &n, invalid[i].s);
        if (rc != invalid[i].err)
            print_error("vector %zu \"%s\": got %s\n", i, invalid[i].s, tc_errname(rc));
        assert_int_equal(rc, invalid[i].err);
        assert_int_equal(n, 0);
        assert_string_equal(hrp, "");
    }
}

/* BIP-350's segwit list: strings with a bech32 (not bech32m) checksum must
 * fail here, and a mixed-case one fails as such. */
static void test_bech32_checksum_rejected(void **state)
{
    (void)state;
    static const char *const bech32_not_m[] = {
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
        "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
        "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
    };
    char hrp[84];
    uint8_t data[TC_BECH32_MAX];
    size_t n;
    for (size_t i = 0; i < sizeof bech32_not_m / sizeof bech32_not_m[0]; i++)
        assert_int_equal(tc_bech32m_decode(hrp, data, &n, bech32_not_m[i]), TC_EBECH32_SUM);

    assert_int_equal(
        tc_bech32m_decode(hrp, data, &n,
                          "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq"),
        TC_EBECH32_CASE);
    /* A bech32m segwit v1 address from the same list decodes. */
    assert_int_equal(
        tc_bech32m_decode(hrp, data, &n,
                          "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"),
        0);
    assert_string_equal(hrp, "bc");
    assert_int_equal(data[0], 1);
}

static void test_mixed_case(void **state)
{
    (void)state;
    char hrp[84];
    uint8_t data[TC_BECH32_MAX];
    size_t n;
    assert_int_equal(tc_bech32m_decode(hrp, data, &n, "A1lqfn3a"), TC_EBECH32_CASE);
    assert_int_equal(tc_bech32m_decode(hrp, data, &n, "a1LQFN3A"), TC_EBECH32_CASE);
    assert_int_equal(tc_bech32m_decode(hrp, data, &n, "a1lqfN3a"), TC_EBECH32_CASE);
}

static void test_single_substitutions_fail(void **state)
{
    (void)state;
    static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    const char *s = "split1checkupstagehandshakeupstreamerranterredcaperredlc445v";
    char buf[TC_BECH32_MAX + 1], hrp[84];
    uint8_t data[TC_BECH32_MAX];
    size_t n;
    for (size_t pos = 6; pos < strlen(s); pos++) {
        for (size_t k = 0; k < 32; k++) {
            if (charset[k] == s[pos])
                continue;
            strcpy(buf, s);
            buf[pos] = charset[k];
            assert_int_equal(tc_bech32m_decode(hrp, data, &n, buf), TC_EBECH32_SUM);
        }
    }
}

static void test_encode_limits(void **state)
{
    (void)state;
    char out[TC_BECH32_MAX + 1];
    uint8_t data[TC_BECH32_MAX] = {0};
    char hrp[90];

    memset(hrp, 'a', 83);
    hrp[83] = '\0';
    assert_int_equal(tc_bech32m_encode(out, hrp, data, 0), 0);
    assert_int_equal(strlen(out), 90);
    assert_int_equal(tc_bech32m_encode(out, hrp, data, 1), TC_EBECH32_LEN);
    assert_string_equal(out, "");
    hrp[83] = 'a';
    hrp[84] = '\0';
    assert_int_equal(tc_bech32m_encode(out, hrp, data, 0), TC_EBECH32_HRP);

    assert_int_equal(tc_bech32m_encode(out, "", data, 1), TC_EBECH32_HRP);
    assert_int_equal(tc_bech32m_encode(out, "Time", data, 1), TC_EBECH32_HRP);
    assert_int_equal(tc_bech32m_encode(out, "ti me", data, 1), TC_EBECH32_HRP);
    assert_int_equal(tc_bech32m_encode(out, "ti\x7fme", data, 1), TC_EBECH32_HRP);
    data[0] = 32;
    assert_int_equal(tc_bech32m_encode(out, "time", data, 1), TC_EBECH32_CHAR);

    /* 90 characters decode; 91 do not, even when the prefix is valid. */
    memset(data, 0, sizeof data);
    assert_int_equal(tc_bech32m_encode(out, "a", data, 82), 0);
    assert_int_equal(strlen(out), 90);
    char longer[TC_BECH32_MAX + 2], got_hrp[84];
    uint8_t got[TC_BECH32_MAX];
    size_t n;
    assert_int_equal(tc_bech32m_decode(got_hrp, got, &n, out), 0);
    assert_int_equal(n, 82);
    memcpy(longer, out, 91);
    memmove(longer + 2, longer + 1, 90);
    longer[1] = 'a';
    assert_int_equal(strlen(longer), 91);
    assert_int_equal(tc_bech32m_decode(got_hrp, got, &n, longer), TC_EBECH32_LEN);
}

static void test_convert_bits(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0xff, 0x00, 0xa5};
    uint8_t five[8], back[4];
    size_t n, m;

    assert_int_equal(tc_bech32_convert_bits(five, &n, sizeof five, 5, bytes, 3, 8, 1), 0);
    /* 11111 11100 00000 01010 0101(0) */
    static const uint8_t want[] = {31, 28, 0, 10, 10};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(five, want, sizeof want);

    assert_int_equal(tc_bech32_convert_bits(back, &m, sizeof back, 8, five, n, 5, 0), 0);
    assert_int_equal(m, 3);
    assert_memory_equal(back, bytes, 3);

    /* Non-zero padding bit. */
    five[4] = 11;
    assert_int_equal(tc_bech32_convert_bits(back, &m, sizeof back, 8, five, n, 5, 0),
                     TC_EBECH32_PAD);
    assert_int_equal(m, 0);
    /* A whole extra group of padding (5 or more bits). */
    five[4] = 10;
    five[5] = 0;
    assert_int_equal(tc_bech32_convert_bits(back, &m, sizeof back, 8, five, 6, 5, 0),
                     TC_EBECH32_PAD);
    /* Output too small. */
    assert_int_equal(tc_bech32_convert_bits(five, &n, 4, 5, bytes, 3, 8, 1), TC_EBECH32_LEN);
    assert_int_equal(n, 0);
    assert_int_equal(tc_bech32_convert_bits(five, &n, 3, 5, bytes, 3, 8, 0), TC_EBECH32_LEN);
    /* Input value wider than frombits. */
    static const uint8_t wide[] = {32};
    assert_int_equal(tc_bech32_convert_bits(back, &m, sizeof back, 8, wide, 1, 5, 0),
                     TC_EBECH32_CHAR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_round_trip),
        cmocka_unit_test(test_valid_decoded_values),
        cmocka_unit_test(test_invalid_vectors),
        cmocka_unit_test(test_bech32_checksum_rejected),
        cmocka_unit_test(test_mixed_case),
        cmocka_unit_test(test_single_substitutions_fail),
        cmocka_unit_test(test_encode_limits),
        cmocka_unit_test(test_convert_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
