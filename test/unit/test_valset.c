/* Validator sets: order, limits, quorum arithmetic, encoding and rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain/params.h"
#include "chain/valset.h"

static tc_pubkey key(uint8_t a, uint8_t b)
{
    tc_pubkey k;
    memset(k.b, a, sizeof k.b);
    k.b[31] = b;
    return k;
}

static void test_add_keeps_order(void **state)
{
    (void)state;
    tc_valset s;
    tc_valset_init(&s);
    tc_pubkey k3 = key(3, 0), k1 = key(1, 0), k2 = key(2, 0);
    assert_int_equal(tc_valset_add(&s, &k3, 100, NULL), 0);
    assert_int_equal(tc_valset_add(&s, &k1, 1, NULL), 0);
    assert_int_equal(tc_valset_add(&s, &k2, 10, NULL), 0);
    assert_int_equal(tc_valset_add(&s, &k2, 10, NULL), TC_EEXIST);
    tc_pubkey k4 = key(4, 0);
    assert_int_equal(tc_valset_add(&s, &k4, 0, NULL), TC_EINVAL);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.total, 111);
    assert_int_equal(s.v[0].key.b[0], 1);
    assert_int_equal(s.v[2].key.b[0], 3);
    assert_int_equal(tc_valset_find(&s, &k2), 1);
    assert_int_equal(tc_valset_find(&s, &k4), -1);
    tc_valset c;
    tc_valset_copy(&c, &s);
    assert_int_equal(c.n, 3);
    assert_memory_equal(c.v, s.v, 3 * sizeof *s.v);
    tc_valset_release(&c);
    tc_valset_release(&s);
    assert_null(s.v);
}

static void test_limits(void **state)
{
    (void)state;
    tc_valset s;
    tc_valset_init(&s);
    for (unsigned i = 0; i < TC_MAX_VALIDATORS; i++) {
        tc_pubkey k = key((uint8_t)(i >> 8), (uint8_t)i);
        assert_int_equal(tc_valset_add(&s, &k, 1, NULL), 0);
    }
    tc_pubkey extra = key(0xff, 0xff);
    assert_int_equal(tc_valset_add(&s, &extra, 1, NULL), TC_ELIMIT);
    tc_valset_release(&s);
    /* total weight must not wrap */
    tc_pubkey a = key(1, 1), b = key(2, 2);
    assert_int_equal(tc_valset_add(&s, &a, UINT64_MAX - 5, NULL), 0);
    assert_int_equal(tc_valset_add(&s, &b, 6, NULL), TC_ELIMIT);
    assert_int_equal(tc_valset_add(&s, &b, 5, NULL), 0);
    assert_int_equal(s.total, UINT64_MAX);
    /* quorum is computed without overflowing 2W */
    assert_int_equal(tc_valset_quorum(&s), UINT64_MAX - UINT64_MAX / 3 + 1);
    tc_valset_release(&s);
}

static uint64_t quorum_of(uint64_t w)
{
    tc_valset s = {.n = 0, .v = NULL, .total = w};
    return tc_valset_quorum(&s);
}

static uint64_t third_of(uint64_t w)
{
    tc_valset s = {.n = 0, .v = NULL, .total = w};
    return tc_valset_one_third(&s);
}

static void test_quorum_arithmetic(void **state)
{
    (void)state;
    /* q = floor(2W/3) + 1 for every small W against the plain formula */
    for (uint64_t w = 0; w < 10000; w++) {
        assert_int_equal(quorum_of(w), 2 * w / 3 + 1);
        assert_int_equal(third_of(w), w / 3 + 1);
    }
    assert_int_equal(quorum_of(1), 1);
    assert_int_equal(quorum_of(3), 3);  /* 3 of 3: 2 is exactly 2/3, not more */
    assert_int_equal(quorum_of(4), 3);
    assert_int_equal(quorum_of(100), 67);
    assert_int_equal(quorum_of(111), 75);
    assert_int_equal(third_of(3), 2);
    assert_int_equal(third_of(4), 2);
    /* two quorums always overlap by more than 1/3 of W: 2q - W >= floor(W/3)+1 */
    for (uint64_t w = 1; w < 2000; w++)
        assert_true(2 * quorum_of(w) - w >= third_of(w) || w < 3);
    /* edge weights */
    assert_int_equal(quorum_of(UINT64_MAX), UINT64_MAX - UINT64_MAX / 3 + 1);
    assert_int_equal(quorum_of(UINT64_MAX - 1),
                     (UINT64_MAX - 1) - ((UINT64_MAX - 1) / 3 + 1) + 1);
    assert_int_equal(third_of(UINT64_MAX), UINT64_MAX / 3 + 1);
}

static void build(tc_valset *s)
{
    tc_valset_init(s);
    for (uint8_t i = 1; i <= 4; i++) {
        tc_pubkey k = key(i, i);
        tc_address a;
        a.version = TC_ADDR_VERSION;
        memset(a.hash.b, 0x40 + i, 32);
        assert_int_equal(tc_valset_add(s, &k, i == 4 ? 100 : i, &a), 0);
    }
}

static void test_encode_roundtrip(void **state)
{
    (void)state;
    tc_valset s, t;
    build(&s);
    tc_buf b;
    tc_buf_init(&b);
    tc_valset_encode(&s, &b);
    assert_int_equal(b.len, 1 + 4 * 73);
    assert_int_equal(tc_valset_decode(&t, b.p, b.len), 0);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.total, s.total);
    for (size_t i = 0; i < 4; i++) { /* field by field: the struct has padding */
        assert_memory_equal(t.v[i].key.b, s.v[i].key.b, 32);
        assert_int_equal(t.v[i].weight, s.v[i].weight);
        assert_true(tc_address_eq(&t.v[i].reward, &s.v[i].reward));
    }
    tc_hash h1, h2;
    tc_valset_hash(&s, &h1);
    tc_valset_hash(&t, &h2);
    assert_memory_equal(h1.b, h2.b, 32);
    t.v[0].weight++;
    tc_valset_hash(&t, &h2);
    assert_memory_not_equal(h1.b, h2.b, 32);
    tc_valset_release(&t);
    /* empty set */
    tc_valset e;
    tc_valset_init(&e);
    tc_buf_reset(&b);
    tc_valset_encode(&e, &b);
    assert_int_equal(tc_valset_decode(&t, b.p, b.len), 0);
    assert_int_equal(t.n, 0);
    tc_valset_release(&t);
    tc_buf_release(&b);
    tc_valset_release(&s);
}

static void test_decode_rejects(void **state)
{
    (void)state;
    tc_valset s, t;
    build(&s);
    tc_buf b;
    tc_buf_init(&b);
    tc_valset_encode(&s, &b);
    for (size_t n = 0; n < b.len; n++) {
        assert_int_equal(tc_valset_decode(&t, b.p, n), TC_ETRUNC);
        assert_null(t.v);
    }
    tc_buf_u8(&b, 0);
    assert_int_equal(tc_valset_decode(&t, b.p, b.len), TC_ETRAILING);
    b.len--;
    /* validator 1 entry starts at 1 + 73 */
    uint8_t *v1 = b.p + 1 + 73;
    uint8_t save[73];
    memcpy(save, v1, 73);
    memcpy(v1, b.p + 1, 32); /* duplicate key of validator 0 */
    assert_int_equal(tc_valset_decode(&t, b.p, b.len), TC_ENONCANON);
    memset(v1, 0, 32); /* below validator 0: unsorted */
    assert_int_equal(tc_valset_decode(&t, b.p, b.len), TC_ENONCANON);
    memcpy(v1, save, 73);
    memset(v1 + 32, 0, 8); /* zero weight */
    assert_int_equal(tc_valset_decode(&t, b.p, b.len), TC_EBADVAL);
    memcpy(v1, save, 73);
    v1[40] = 1; /* reward address version */
    assert_int_equal(tc_valset_decode(&t, b.p, b.len), TC_EADDR_VERSION);
    memcpy(v1, save, 73);
    memset(v1 + 32, 0xff, 8); /* total weight wraps */
    assert_int_equal(tc_valset_decode(&t, b.p, b.len), TC_EOVERSIZE);
    memcpy(v1, save, 73);
    assert_int_equal(tc_valset_decode(&t, b.p, b.len), 0);
    tc_valset_release(&t);
    /* count over the limit, non-canonical count */
    uint8_t over[3] = {0xfd, (uint8_t)((TC_MAX_VALIDATORS + 1) & 0xff),
                       (uint8_t)((TC_MAX_VALIDATORS + 1) >> 8)};
    assert_int_equal(tc_valset_decode(&t, over, sizeof over), TC_EOVERSIZE);
    uint8_t noncanon[3] = {0xfd, 0x01, 0x00};
    assert_int_equal(tc_valset_decode(&t, noncanon, sizeof noncanon), TC_ENONCANON);
    /* a count the input cannot hold is truncation, found before allocating */
    uint8_t big[3] = {0xfd, 0xe8, 0x03};
    assert_int_equal(tc_valset_decode(&t, big, sizeof big), TC_ETRUNC);
    tc_buf_release(&b);
    tc_valset_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_keeps_order),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_quorum_arithmetic),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_decode_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
