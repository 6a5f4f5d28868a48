/* LtHash16 multiset hash: homomorphic add/sub and the digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/lthash.h"
#include "util/hex.h"


static const char a[] = "utxo a";
static const char b[] = "utxo b";
static const char c[] = "utxo c";

static void assert_state_equal(const tc_lthash *x, const tc_lthash *y)
{
    assert_memory_equal(x->lane, y->lane, sizeof x->lane);
}

static void assert_digest_hex(const tc_lthash *s, const char *hex)
{
    tc_hash d;
    char got[65];
    tc_lthash_digest(s, &d);
    assert_string_equal(tc_hex_encode(got, d.b, 32), hex);
}

static void test_init_is_zero(void **state)
{
    (void)state;
    tc_lthash s;
    memset(&s, 0xab, sizeof s);
    tc_lthash_init(&s);
    for (int i = 0; i < TC_LTHASH_LANES; i++)
        assert_int_equal(s.lane[i], 0);
}

/* The expansion of an element is the BLAKE3 XOF (TC_H_UTXO_ELEM) read as
 * little-endian 16-bit lanes: adding one element to the empty set exposes it. */
static void test_add_is_xof_lanes(void **state)
{
    (void)state;
    uint8_t x[TC_LTHASH_BYTES];
    tc_hasher h;
    tc_lthash s;

    tc_hasher_init(&h, TC_H_UTXO_ELEM);
    tc_hasher_update(&h, a, sizeof a - 1);
    tc_hasher_final_xof(&h, x, sizeof x);

    tc_lthash_init(&s);
    tc_lthash_add(&s, a, sizeof a - 1);
    for (int i = 0; i < TC_LTHASH_LANES; i++)
        assert_int_equal(s.lane[i], (uint16_t)(x[2 * i] | x[2 * i + 1] << 8));

    tc_lthash_init(&s);
    tc_lthash_sub(&s, a, sizeof a - 1);
    for (int i = 0; i < TC_LTHASH_LANES; i++)
        assert_int_equal(s.lane[i], (uint16_t)(0x10000 - (x[2 * i] | x[2 * i + 1] << 8)));
}

static void test_add_sub_returns_to_empty(void **state)
{
    (void)state;
    tc_lthash s, empty;
    tc_lthash_init(&empty);
    tc_lthash_init(&s);
    tc_lthash_add(&s, a, sizeof a - 1);
    assert_memory_not_equal(s.lane, empty.lane, sizeof s.lane);
    tc_lthash_sub(&s, a, sizeof a - 1);
    assert_state_equal(&s, &empty);

    /* Subtracting first (a spend seen before its creation) also cancels. */
    tc_lthash_sub(&s, b, sizeof b - 1);
    tc_lthash_add(&s, b, sizeof b - 1);
    assert_state_equal(&s, &empty);
}

static void test_order_independent(void **state)
{
    (void)state;
    tc_lthash ab, ba, abc_mixed;
    tc_lthash_init(&ab);
    tc_lthash_add(&ab, a, sizeof a - 1);
    tc_lthash_add(&ab, b, sizeof b - 1);

    tc_lthash_init(&ba);
    tc_lthash_add(&ba, b, sizeof b - 1);
    tc_lthash_add(&ba, a, sizeof a - 1);
    assert_state_equal(&ab, &ba);

    tc_lthash_init(&abc_mixed);
    tc_lthash_add(&abc_mixed, c, sizeof c - 1);
    tc_lthash_add(&abc_mixed, b, sizeof b - 1);
    tc_lthash_sub(&abc_mixed, c, sizeof c - 1);
    tc_lthash_add(&abc_mixed, a, sizeof a - 1);
    assert_state_equal(&ab, &abc_mixed);

    tc_hash d1, d2;
    tc_lthash_digest(&ab, &d1);
    tc_lthash_digest(&ba, &d2);
    assert_true(tc_hash_eq(&d1, &d2));
}

static void test_multiset_semantics(void **state)
{
    (void)state;
    tc_lthash once, twice, twice_minus_one;
    tc_hash d_once, d_twice;

    tc_lthash_init(&once);
    tc_lthash_add(&once, a, sizeof a - 1);

    tc_lthash_init(&twice);
    tc_lthash_add(&twice, a, sizeof a - 1);
    tc_lthash_add(&twice, a, sizeof a - 1);
    tc_lthash_digest(&once, &d_once);
    tc_lthash_digest(&twice, &d_twice);
    assert_false(tc_hash_eq(&d_once, &d_twice));
    for (int i = 0; i < TC_LTHASH_LANES; i++)
        assert_int_equal(twice.lane[i], (uint16_t)(2 * once.lane[i]));

    twice_minus_one = twice;
    tc_lthash_sub(&twice_minus_one, a, sizeof a - 1);
    assert_state_equal(&twice_minus_one, &once);

    /* Distinct elements, and the empty element, are distinct members. */
    tc_lthash other;
    tc_lthash_init(&other);
    tc_lthash_add(&other, b, sizeof b - 1);
    assert_memory_not_equal(other.lane, once.lane, sizeof once.lane);
    tc_lthash_init(&other);
    tc_lthash_add(&other, "", 0);
    assert_memory_not_equal(other.lane, once.lane, sizeof once.lane);
}

static void test_serialize_round_trip(void **state)
{
    (void)state;
    tc_lthash s, back;
    uint8_t bytes[TC_LTHASH_BYTES];

    tc_lthash_init(&s);
    tc_lthash_add(&s, a, sizeof a - 1);
    tc_lthash_add(&s, b, sizeof b - 1);
    tc_lthash_serialize(&s, bytes);
    for (int i = 0; i < TC_LTHASH_LANES; i++) {
        assert_int_equal(bytes[2 * i], s.lane[i] & 0xff);
        assert_int_equal(bytes[2 * i + 1], s.lane[i] >> 8);
    }
    memset(&back, 0x5a, sizeof back);
    tc_lthash_deserialize(&back, bytes);
    assert_state_equal(&back, &s);

    /* The digest is BLAKE3 (TC_H_UTXO_SET) of exactly these bytes. */
    tc_hash want, got;
    tc_hash_once(TC_H_UTXO_SET, bytes, sizeof bytes, &want);
    tc_lthash_digest(&s, &got);
    assert_true(tc_hash_eq(&got, &want));
}

/* Regression values computed once by this implementation (not external
 * vectors): they are consensus, so any change here is a hard fork. */
static void test_digest_pinned(void **state)
{
    (void)state;
    tc_lthash s;
    tc_lthash_init(&s);
    assert_digest_hex(&s, "9f5c796bdb959810a1e5289152ecdffcbf7066f67ed5dfb43e715ed8e298f5e7");
    tc_lthash_add(&s, a, sizeof a - 1);
    tc_lthash_add(&s, b, sizeof b - 1);
    assert_digest_hex(&s, "50e7e11db0669cf546f067ee127e2f317356d30cb5ef0cadba20a9e2d7e7d1f8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_is_zero),
        cmocka_unit_test(test_add_is_xof_lanes),
        cmocka_unit_test(test_add_sub_returns_to_empty),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_multiset_semantics),
        cmocka_unit_test(test_serialize_round_trip),
        cmocka_unit_test(test_digest_pinned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
