/* Addresses: bech32m of version || BLAKE3(TC_H_ADDRESS, public key). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/address.h"
#include "crypto/bech32.h"
#include "util/hex.h"

#define PINNED_ADDR "time1qresjr98nvk7slp054t8nw9q5yrrlk6u7psyzld36ulkk5f8p6x9yk2n0h3"

static const char *const hrps[] = {"time", "ttime", "dtime"};

/* RFC 8032 TEST 1 public key, a fixed input for the pinned address below. */
static const char rfc_pk_hex[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

static int setup(void **state)
{
    (void)state;
    return tc_crypto_init() == 0 ? 0 : -1;
}

/* Encodes arbitrary payload bytes the way an address is encoded, so tests can
 * build strings the encoder itself refuses to produce. */
static void encode_raw(char *out, const char *hrp, const uint8_t *bytes, size_t n, int flip_pad)
{
    uint8_t data5[TC_BECH32_MAX];
    size_t m;
    assert_int_equal(tc_bech32_convert_bits(data5, &m, sizeof data5, 5, bytes, n, 8, 1), 0);
    if (flip_pad)
        data5[m - 1] |= 1;
    assert_int_equal(tc_bech32m_encode(out, hrp, data5, m), 0);
}

static void test_from_pubkey(void **state)
{
    (void)state;
    tc_pubkey pk;
    tc_address a;
    tc_hash want;
    assert_int_equal(tc_hex_decode(pk.b, 32, rfc_pk_hex), 0);
    tc_address_from_pubkey(&a, &pk);
    tc_hash_once(TC_H_ADDRESS, pk.b, 32, &want);
    assert_int_equal(a.version, TC_ADDR_VERSION);
    assert_true(tc_hash_eq(&a.hash, &want));
}

/* Regression value computed once by this implementation: an address format
 * change would strand every existing address. */
static void test_pinned_encoding(void **state)
{
    (void)state;
    tc_pubkey pk;
    tc_address a, back;
    char s[TC_ADDR_STRLEN];
    assert_int_equal(tc_hex_decode(pk.b, 32, rfc_pk_hex), 0);
    tc_address_from_pubkey(&a, &pk);
    assert_int_equal(tc_address_encode(s, &a, "time"), 0);
    assert_string_equal(s, PINNED_ADDR);
    assert_int_equal(tc_address_decode(&back, "time", PINNED_ADDR), 0);
    assert_true(tc_address_eq(&back, &a));
}

static void test_round_trip_all_networks(void **state)
{
    (void)state;
    for (int k = 0; k < 8; k++) {
        tc_keypair kp;
        tc_address a;
        tc_keypair_generate(&kp);
        tc_address_from_pubkey(&a, &kp.pk);
        tc_keypair_wipe(&kp);
        for (size_t h = 0; h < sizeof hrps / sizeof hrps[0]; h++) {
            char s[TC_ADDR_STRLEN], upper[TC_ADDR_STRLEN];
            tc_address back;
            assert_int_equal(tc_address_encode(s, &a, hrps[h]), 0);
            assert_int_equal(strlen(s), strlen(hrps[h]) + 1 + 53 + 6);
            assert_memory_equal(s, hrps[h], strlen(hrps[h]));
            assert_int_equal(s[strlen(hrps[h])], '1');
            assert_int_equal(tc_address_decode(&back, hrps[h], s), 0);
            assert_true(tc_address_eq(&back, &a));

            /* All-uppercase is the same address (BIP-173 allows it for QR codes). */
            for (size_t i = 0; i <= strlen(s); i++)
                upper[i] = (char)toupper((unsigned char)s[i]);
            assert_int_equal(tc_address_decode(&back, hrps[h], upper), 0);
            assert_true(tc_address_eq(&back, &a));
        }
    }
}

static void test_wrong_hrp(void **state)
{
    (void)state;
    tc_address a = {.version = 0}, back;
    char s[TC_ADDR_STRLEN];
    memset(a.hash.b, 0x42, 32);
    assert_int_equal(tc_address_encode(s, &a, "time"), 0);
    assert_int_equal(tc_address_decode(&back, "ttime", s), TC_EBECH32_HRP);
    assert_int_equal(tc_address_decode(&back, "dtime", s), TC_EBECH32_HRP);
    assert_int_equal(tc_address_decode(&back, "tim", s), TC_EBECH32_HRP);
    assert_int_equal(tc_address_decode(&back, "TIME", s), TC_EBECH32_HRP);
    assert_int_equal(tc_address_encode(s, &a, "ttime"), 0);
    assert_int_equal(tc_address_decode(&back, "time", s), TC_EBECH32_HRP);
    tc_address zero = {0};
    assert_true(tc_address_eq(&back, &zero));
}

static void test_wrong_version(void **state)
{
    (void)state;
    uint8_t bytes[33];
    char s[TC_BECH32_MAX + 1];
    tc_address a = {.version = 1}, back;

    memset(bytes, 0x11, sizeof bytes);
    bytes[0] = 1;
    encode_raw(s, "time", bytes, sizeof bytes, 0);
    assert_int_equal(tc_address_decode(&back, "time", s), TC_EADDR_VERSION);
    bytes[0] = 0xff;
    encode_raw(s, "time", bytes, sizeof bytes, 0);
    assert_int_equal(tc_address_decode(&back, "time", s), TC_EADDR_VERSION);
    bytes[0] = 0;
    encode_raw(s, "time", bytes, sizeof bytes, 0);
    assert_int_equal(tc_address_decode(&back, "time", s), 0);

    memset(a.hash.b, 0x11, 32);
    assert_int_equal(tc_address_encode(s, &a, "time"), TC_EADDR_VERSION);
}

static void test_wrong_length_and_padding(void **state)
{
    (void)state;
    uint8_t bytes[40] = {0};
    char s[TC_BECH32_MAX + 1];
    tc_address back;

    for (size_t n = 0; n < sizeof bytes; n++) {
        if (n == 33)
            continue;
        encode_raw(s, "time", bytes, n, 0);
        assert_int_equal(tc_address_decode(&back, "time", s), TC_EBECH32_LEN);
    }
    encode_raw(s, "time", bytes, 33, 1);
    assert_int_equal(tc_address_decode(&back, "time", s), TC_EBECH32_PAD);
}

static void test_typo_rejected(void **state)
{
    (void)state;
    static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    tc_address a = {.version = 0}, back;
    char s[TC_ADDR_STRLEN], typo[TC_ADDR_STRLEN];
    for (int i = 0; i < 32; i++)
        a.hash.b[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(tc_address_encode(s, &a, "time"), 0);

    for (size_t pos = 5; pos < strlen(s); pos++) {
        strcpy(typo, s);
        typo[pos] = charset[(strchr(charset, s[pos]) - charset + 1) % 32];
        assert_int_equal(tc_address_decode(&back, "time", typo), TC_EBECH32_SUM);
    }
    /* Swapped neighbours, a dropped and a doubled character. */
    strcpy(typo, s);
    for (size_t pos = 5; pos + 1 < strlen(s); pos++) {
        if (s[pos] == s[pos + 1])
            continue;
        strcpy(typo, s);
        typo[pos] = s[pos + 1];
        typo[pos + 1] = s[pos];
        assert_int_equal(tc_address_decode(&back, "time", typo), TC_EBECH32_SUM);
    }
    strcpy(typo, s);
    memmove(typo + 10, typo + 11, strlen(typo + 11) + 1);
    assert_int_not_equal(tc_address_decode(&back, "time", typo), 0);
    strcpy(typo, s);
    memmove(typo + 11, typo + 10, strlen(typo + 10) + 1);
    assert_int_not_equal(tc_address_decode(&back, "time", typo), 0);
    /* A character outside the charset. */
    strcpy(typo, s);
    typo[20] = 'b';
    assert_int_equal(tc_address_decode(&back, "time", typo), TC_EBECH32_CHAR);
}

static void test_encode_bad_hrp(void **state)
{
    (void)state;
    tc_address a = {.version = 0};
    char s[TC_ADDR_STRLEN];
    assert_int_equal(tc_address_encode(s, &a, ""), TC_EBECH32_HRP);
    assert_int_equal(tc_address_encode(s, &a, "Time"), TC_EBECH32_HRP);
    assert_string_equal(s, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_pubkey),
        cmocka_unit_test(test_pinned_encoding),
        cmocka_unit_test(test_round_trip_all_networks),
        cmocka_unit_test(test_wrong_hrp),
        cmocka_unit_test(test_wrong_version),
        cmocka_unit_test(test_wrong_length_and_padding),
        cmocka_unit_test(test_typo_rejected),
        cmocka_unit_test(test_encode_bad_hrp),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
