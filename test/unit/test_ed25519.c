/* Ed25519 against RFC 8032 §7.1 TEST 1-3, plus tamper and strictness checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/ed25519.h"
#include "util/hex.h"

struct rfc_vec {
    const char *seed, *pk, *msg, *sig;
};

static const struct rfc_vec rfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555f"
     "b8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da08"
     "5ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18"
     "ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

struct loaded {
    uint8_t seed[32];
    tc_pubkey pk;
    uint8_t msg[2];
    size_t msglen;
    tc_sig sig;
};

static void load(struct loaded *v, const struct rfc_vec *r)
{
    v->msglen = strlen(r->msg) / 2;
    assert_int_equal(tc_hex_decode(v->seed, 32, r->seed), 0);
    assert_int_equal(tc_hex_decode(v->pk.b, 32, r->pk), 0);
    assert_int_equal(tc_hex_decode(v->msg, v->msglen, r->msg), 0);
    assert_int_equal(tc_hex_decode(v->sig.b, 64, r->sig), 0);
}

static int setup(void **state)
{
    (void)state;
    return tc_crypto_init() == 0 ? 0 : -1;
}

static void test_init_idempotent(void **state)
{
    (void)state;
    assert_int_equal(tc_crypto_init(), 0);
    assert_int_equal(tc_crypto_init(), 0);
}

static void test_rfc8032(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc8032 / sizeof rfc8032[0]; i++) {
        struct loaded v;
        tc_keypair kp;
        tc_sig sig;
        uint8_t seed[32];

        load(&v, &rfc8032[i]);
        tc_keypair_from_seed(&kp, v.seed);
        assert_memory_equal(kp.pk.b, v.pk.b, 32);
        assert_memory_equal(kp.sk, v.seed, 32);
        assert_memory_equal(kp.sk + 32, v.pk.b, 32);
        tc_keypair_seed(&kp, seed);
        assert_memory_equal(seed, v.seed, 32);

        tc_sign(&kp, v.msg, v.msglen, &sig);
        assert_memory_equal(sig.b, v.sig.b, 64);
        assert_int_equal(tc_verify(&v.pk, v.msg, v.msglen, &v.sig), 0);
        tc_keypair_wipe(&kp);
    }
}

static void test_tampering_fails(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc8032 / sizeof rfc8032[0]; i++) {
        struct loaded v;
        load(&v, &rfc8032[i]);

        for (size_t bit = 0; bit < 8 * v.msglen; bit++) {
            uint8_t m[2];
            memcpy(m, v.msg, v.msglen);
            m[bit / 8] ^= (uint8_t)(1u << bit % 8);
            assert_int_equal(tc_verify(&v.pk, m, v.msglen, &v.sig), TC_ESIG);
        }
        /* An extra byte appended to the message. */
        uint8_t longer[3] = {0};
        memcpy(longer, v.msg, v.msglen);
        assert_int_equal(tc_verify(&v.pk, longer, v.msglen + 1, &v.sig), TC_ESIG);

        for (size_t bit = 0; bit < 512; bit++) {
            tc_sig s = v.sig;
            s.b[bit / 8] ^= (uint8_t)(1u << bit % 8);
            assert_int_equal(tc_verify(&v.pk, v.msg, v.msglen, &s), TC_ESIG);
        }
        for (size_t bit = 0; bit < 256; bit++) {
            tc_pubkey pk = v.pk;
            pk.b[bit / 8] ^= (uint8_t)(1u << bit % 8);
            assert_int_equal(tc_verify(&pk, v.msg, v.msglen, &v.sig), TC_ESIG);
        }
    }
}

/* Strictness: s + L (a malleated, non-canonical signature) and the identity
 * point as a public key are rejected. */
static void test_strict_verification(void **state)
{
    (void)state;
    static const uint8_t order_l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                        0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                        0,    0,    0,    0,    0,    0,    0,    0,
                                        0,    0,    0,    0,    0,    0,    0,    0x10};
    struct loaded v;
    load(&v, &rfc8032[1]);

    tc_sig malleated = v.sig;
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        unsigned sum = malleated.b[32 + i] + order_l[i] + carry;
        malleated.b[32 + i] = (uint8_t)sum;
        carry = sum >> 8;
    }
    assert_int_equal(carry, 0);
    assert_int_equal(tc_verify(&v.pk, v.msg, v.msglen, &malleated), TC_ESIG);

    tc_pubkey identity = {{1}};
    tc_sig zero_r = {{1}}; /* R = identity, s = 0 verifies for any message without the check */
    assert_int_equal(tc_verify(&identity, "anything", 8, &zero_r), TC_ESIG);
}

static void test_generate_sign_verify(void **state)
{
    (void)state;
    tc_keypair a, b;
    tc_sig sig;
    static const char msg[] = "TimeCoin";

    tc_keypair_generate(&a);
    tc_keypair_generate(&b);
    assert_memory_not_equal(a.pk.b, b.pk.b, 32);
    tc_sign(&a, msg, sizeof msg - 1, &sig);
    assert_int_equal(tc_verify(&a.pk, msg, sizeof msg - 1, &sig), 0);
    assert_int_equal(tc_verify(&b.pk, msg, sizeof msg - 1, &sig), TC_ESIG);

    /* Deterministic: the stored seed reproduces the same key and signature. */
    uint8_t seed[32];
    tc_keypair again;
    tc_sig sig2;
    tc_keypair_seed(&a, seed);
    tc_keypair_from_seed(&again, seed);
    assert_memory_equal(again.pk.b, a.pk.b, 32);
    tc_sign(&again, msg, sizeof msg - 1, &sig2);
    assert_memory_equal(sig2.b, sig.b, 64);

    /* Empty message with a NULL pointer. */
    tc_sign(&a, NULL, 0, &sig);
    assert_int_equal(tc_verify(&a.pk, NULL, 0, &sig), 0);
    assert_int_equal(tc_verify(&a.pk, "", 0, &sig), 0);

    sodium_memzero(seed, sizeof seed);
    tc_keypair_wipe(&a);
    tc_keypair_wipe(&b);
    tc_keypair_wipe(&again);
}

static void test_wipe(void **state)
{
    (void)state;
    tc_keypair kp, zero;
    memset(&zero, 0, sizeof zero);
    tc_keypair_generate(&kp);
    assert_memory_not_equal(&kp, &zero, sizeof kp);
    tc_keypair_wipe(&kp);
    assert_memory_equal(&kp, &zero, sizeof kp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_idempotent),
        cmocka_unit_test(test_rfc8032),
        cmocka_unit_test(test_tampering_fails),
        cmocka_unit_test(test_strict_verification),
        cmocka_unit_test(test_generate_sign_verify),
        cmocka_unit_test(test_wipe),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
