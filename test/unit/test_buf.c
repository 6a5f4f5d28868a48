/* util/buf: the growable writer and the bounded, sticky-error reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"

static void assert_buf_bytes(const tc_buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->len, n);
    assert_memory_equal(b->p, want, n);
}

/* ---- writer ------------------------------------------------------------ */

static void test_write_integers_le(void **state)
{
    (void)state;
    tc_buf b;
    tc_buf_init(&b);
    tc_buf_u8(&b, 0xab);
    tc_buf_u16(&b, 0x1234);
    tc_buf_u32(&b, 0xdeadbeef);
    tc_buf_u64(&b, 0x0102030405060708ull);
    static const uint8_t want[] = {0xab, 0x34, 0x12, 0xef, 0xbe, 0xad, 0xde,
                                   0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    assert_buf_bytes(&b, want, sizeof want);
    tc_buf_release(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_integer_round_trip(void **state)
{
    (void)state;
    static const uint64_t vals[] = {0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff, 0x10000,
                                    0x7fffffff, 0xffffffff, 0x100000000ull, 0x8000000000000000ull,
                                    UINT64_MAX, 0x0123456789abcdefull};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint64_t v = vals[i];
        tc_buf b;
        tc_buf_init(&b);
        tc_buf_u8(&b, (uint8_t)v);
        tc_buf_u16(&b, (uint16_t)v);
        tc_buf_u32(&b, (uint32_t)v);
        tc_buf_u64(&b, v);
        assert_int_equal(b.len, 1 + 2 + 4 + 8);

        tc_reader r;
        tc_reader_init(&r, b.p, b.len);
        uint8_t a8 = 0;
        uint16_t a16 = 0;
        uint32_t a32 = 0;
        uint64_t a64 = 0;
        assert_int_equal(tc_rd_u8(&r, &a8), 0);
        assert_int_equal(tc_rd_u16(&r, &a16), 0);
        assert_int_equal(tc_rd_u32(&r, &a32), 0);
        assert_int_equal(tc_rd_u64(&r, &a64), 0);
        assert_int_equal(a8, (uint8_t)v);
        assert_int_equal(a16, (uint16_t)v);
        assert_int_equal(a32, (uint32_t)v);
        assert_true(a64 == v);
        assert_int_equal(tc_rd_done(&r), 0);
        tc_buf_release(&b);
    }
}

static void test_buf_growth_and_reset(void **state)
{
    (void)state;
    tc_buf b;
    tc_buf_init(&b);
    uint8_t chunk[97];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (uint8_t)i;
    for (int i = 0; i < 200; i++)
        tc_buf_put(&b, chunk, sizeof chunk);
    assert_int_equal(b.len, 200 * sizeof chunk);
    assert_true(b.cap >= b.len);
    for (int i = 0; i < 200; i++)
        assert_memory_equal(b.p + (size_t)i * sizeof chunk, chunk, sizeof chunk);

    size_t cap = b.cap;
    uint8_t *p = b.p;
    tc_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_ptr_equal(b.p, p);

    tc_buf_put(&b, NULL, 0); /* zero-length put is a no-op */
    assert_int_equal(b.len, 0);
    uint8_t *at = tc_buf_extend(&b, 3);
    assert_ptr_equal(at, b.p);
    assert_int_equal(b.len, 3);
    tc_buf_release(&b);
}

static void test_buf_var(void **state)
{
    (void)state;
    tc_buf b;
    tc_buf_init(&b);
    tc_buf_var(&b, "abc", 3);
    tc_buf_var(&b, "", 0);
    static const uint8_t want[] = {0x03, 'a', 'b', 'c', 0x00};
    assert_buf_bytes(&b, want, sizeof want);

    tc_reader r;
    tc_reader_init(&r, b.p, b.len);
    size_t n = 99;
    const uint8_t *p = tc_rd_var(&r, 3, &n);
    assert_non_null(p);
    assert_int_equal(n, 3);
    assert_memory_equal(p, "abc", 3);
    p = tc_rd_var(&r, 3, &n);
    assert_non_null(p);
    assert_int_equal(n, 0);
    assert_int_equal(tc_rd_done(&r), 0);
    tc_buf_release(&b);
}

static void test_rd_var_limits(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x04, 'a', 'b', 'c', 'd'};
    tc_reader r;
    size_t n = 99;

    tc_reader_init(&r, in, sizeof in);
    assert_null(tc_rd_var(&r, 3, &n));
    assert_int_equal(n, 0);
    assert_int_equal(r.err, TC_EOVERSIZE);
    assert_int_equal(r.err_pos, 0);

    n = 99;
    tc_reader_init(&r, in, sizeof in - 1); /* says 4, holds 3 */
    assert_null(tc_rd_var(&r, 64, &n));
    assert_int_equal(n, 0);
    assert_int_equal(r.err, TC_ETRUNC);
    assert_int_equal(r.err_pos, 1);
}

/* ---- compact size -------------------------------------------------------- */

static const struct {
    uint64_t v;
    size_t n;
    uint8_t enc[9];
} cs_vectors[] = {
    {0, 1, {0x00}},
    {1, 1, {0x01}},
    {0xfc, 1, {0xfc}},
    {0xfd, 3, {0xfd, 0xfd, 0x00}},
    {0xfe, 3, {0xfd, 0xfe, 0x00}},
    {0xffff, 3, {0xfd, 0xff, 0xff}},
    {0x10000, 5, {0xfe, 0x00, 0x00, 0x01, 0x00}},
    {0xffffffffull, 5, {0xfe, 0xff, 0xff, 0xff, 0xff}},
    {0x100000000ull, 9, {0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}},
    {0x0123456789abcdefull, 9, {0xff, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01}},
    {UINT64_MAX, 9, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
};

static void test_cs_canonical_boundaries(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cs_vectors / sizeof cs_vectors[0]; i++) {
        tc_buf b;
        tc_buf_init(&b);
        tc_buf_cs(&b, cs_vectors[i].v);
        assert_int_equal(tc_cs_size(cs_vectors[i].v), cs_vectors[i].n);
        assert_buf_bytes(&b, cs_vectors[i].enc, cs_vectors[i].n);

        tc_reader r;
        tc_reader_init(&r, b.p, b.len);
        uint64_t v = 42;
        assert_int_equal(tc_rd_cs(&r, &v), 0);
        assert_true(v == cs_vectors[i].v);
        assert_int_equal(r.pos, cs_vectors[i].n);
        assert_int_equal(tc_rd_done(&r), 0);
        tc_buf_release(&b);
    }
}

static void test_cs_noncanonical_rejected(void **state)
{
    (void)state;
    static const struct {
        size_t n;
        uint8_t enc[9];
    } bad[] = {
        {3, {0xfd, 0x00, 0x00}},                                     /* 0 */
        {3, {0xfd, 0xfc, 0x00}},                                     /* 0xfc */
        {5, {0xfe, 0x00, 0x00, 0x00, 0x00}},                         /* 0 */
        {5, {0xfe, 0xfd, 0x00, 0x00, 0x00}},                         /* 0xfd */
        {5, {0xfe, 0xff, 0xff, 0x00, 0x00}},                         /* 0xffff */
        {9, {0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* 0 */
        {9, {0xff, 0xfc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* 0xfc */
        {9, {0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}}, /* 0xffff */
        {9, {0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00}}, /* 0xffffffff */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* one good byte in front, so err_pos must point at the size itself */
        uint8_t in[10];
        in[0] = 0x07;
        memcpy(in + 1, bad[i].enc, bad[i].n);
        tc_reader r;
        tc_reader_init(&r, in, 1 + bad[i].n);
        uint8_t first;
        assert_int_equal(tc_rd_u8(&r, &first), 0);
        uint64_t v = 42;
        assert_int_equal(tc_rd_cs(&r, &v), TC_ENONCANON);
        assert_true(v == 0);
        assert_int_equal(r.err, TC_ENONCANON);
        assert_int_equal(r.err_pos, 1);
        assert_int_equal(tc_rd_done(&r), TC_ENONCANON);

        /* the same bytes as a count */
        size_t count = 42;
        tc_reader_init(&r, bad[i].enc, bad[i].n);
        assert_int_equal(tc_rd_count(&r, SIZE_MAX, 0, &count), TC_ENONCANON);
        assert_int_equal(count, 0);
    }
}

static void test_cs_truncated(void **state)
{
    (void)state;
    static const uint8_t full[] = {0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
    /* every prefix of the 3, 5 and 9 byte forms is truncated */
    static const uint8_t fd[] = {0xfd, 0x00, 0x01};
    static const uint8_t fe[] = {0xfe, 0x00, 0x00, 0x01, 0x00};
    const uint8_t *forms[] = {fd, fe, full};
    const size_t lens[] = {sizeof fd, sizeof fe, sizeof full};
    for (size_t f = 0; f < 3; f++) {
        for (size_t n = 0; n < lens[f]; n++) {
            tc_reader r;
            tc_reader_init(&r, forms[f], n);
            uint64_t v = 42;
            assert_int_equal(tc_rd_cs(&r, &v), TC_ETRUNC);
            assert_true(v == 0);
            /* the tag is at 0; a missing tag fails there, a short body after it */
            assert_int_equal(r.err_pos, n == 0 ? 0 : 1);
        }
    }
}

/* ---- reader errors ------------------------------------------------------- */

static void test_truncation_err_pos(void **state)
{
    (void)state;
    static const uint8_t in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    tc_reader r;
    uint8_t v8;
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;

    tc_reader_init(&r, in, 1);
    assert_int_equal(tc_rd_u16(&r, &v16), TC_ETRUNC);
    assert_int_equal(v16, 0);
    assert_int_equal(r.err_pos, 0);

    tc_reader_init(&r, in, 4);
    assert_int_equal(tc_rd_u8(&r, &v8), 0);
    assert_int_equal(tc_rd_u32(&r, &v32), TC_ETRUNC);
    assert_int_equal(v32, 0);
    assert_int_equal(r.err_pos, 1);

    tc_reader_init(&r, in, 10);
    assert_int_equal(tc_rd_u16(&r, &v16), 0);
    assert_int_equal(tc_rd_u64(&r, &v64), 0);
    assert_true(v64 == 0x0a09080706050403ull);
    assert_int_equal(tc_rd_u8(&r, &v8), TC_ETRUNC);
    assert_int_equal(r.err_pos, 10);

    uint8_t out[8];
    memset(out, 0xaa, sizeof out);
    tc_reader_init(&r, in, 7);
    assert_int_equal(tc_rd_bytes(&r, out, 8), TC_ETRUNC);
    static const uint8_t zero[8] = {0};
    assert_memory_equal(out, zero, 8);
    assert_int_equal(r.err_pos, 0);

    tc_reader_init(&r, in, 3);
    assert_null(tc_rd_ptr(&r, 4));
    assert_int_equal(r.err, TC_ETRUNC);

    tc_reader_init(&r, NULL, 5); /* NULL input is empty input */
    assert_int_equal(tc_rd_left(&r), 0);
    assert_int_equal(tc_rd_u8(&r, &v8), TC_ETRUNC);
}

static void test_rd_ptr_and_left(void **state)
{
    (void)state;
    static const uint8_t in[] = {1, 2, 3, 4, 5};
    tc_reader r;
    tc_reader_init(&r, in, sizeof in);
    assert_int_equal(tc_rd_left(&r), 5);
    const uint8_t *p = tc_rd_ptr(&r, 2);
    assert_ptr_equal(p, in);
    assert_int_equal(tc_rd_left(&r), 3);
    p = tc_rd_ptr(&r, 0);
    assert_ptr_equal(p, in + 2);
    p = tc_rd_ptr(&r, 3);
    assert_ptr_equal(p, in + 2);
    assert_int_equal(tc_rd_left(&r), 0);
    assert_int_equal(tc_rd_done(&r), 0);
}

static void test_trailing(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x01, 0x02, 0x03};
    tc_reader r;
    tc_reader_init(&r, in, sizeof in);
    uint16_t v;
    assert_int_equal(tc_rd_u16(&r, &v), 0);
    assert_int_equal(tc_rd_done(&r), TC_ETRAILING);
    assert_int_equal(r.err, TC_ETRAILING);
    assert_int_equal(r.err_pos, 2);

    tc_reader_init(&r, in, 0);
    assert_int_equal(tc_rd_done(&r), 0); /* empty input, nothing read */
}

static void test_rd_count(void **state)
{
    (void)state;
    tc_reader r;
    size_t count;

    /* 3 elements of ≥ 2 bytes fit in 6 remaining bytes */
    static const uint8_t ok[] = {0x03, 1, 2, 3, 4, 5, 6};
    tc_reader_init(&r, ok, sizeof ok);
    assert_int_equal(tc_rd_count(&r, 3, 2, &count), 0);
    assert_int_equal(count, 3);
    assert_int_equal(r.pos, 1);

    /* above max: TC_EOVERSIZE at the count's offset */
    count = 42;
    tc_reader_init(&r, ok, sizeof ok);
    assert_int_equal(tc_rd_count(&r, 2, 1, &count), TC_EOVERSIZE);
    assert_int_equal(count, 0);
    assert_int_equal(r.err_pos, 0);

    /* 4 elements of ≥ 2 bytes do not fit in 6 */
    static const uint8_t short4[] = {0x04, 1, 2, 3, 4, 5, 6};
    count = 42;
    tc_reader_init(&r, short4, sizeof short4);
    assert_int_equal(tc_rd_count(&r, 100, 2, &count), TC_ETRUNC);
    assert_int_equal(count, 0);

    /* A huge count against a few bytes: rejected from the count alone, so
     * nothing sized by it is ever allocated. */
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00};
    count = 42;
    tc_reader_init(&r, huge, sizeof huge);
    assert_int_equal(tc_rd_count(&r, SIZE_MAX, 1, &count), TC_ETRUNC);
    assert_int_equal(count, 0);

    /* count * min_elem overflows 64 bits: still TC_ETRUNC, not a wrap */
    static const uint8_t wrap[] = {0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00};
    count = 42;
    tc_reader_init(&r, wrap, sizeof wrap);
    assert_int_equal(tc_rd_count(&r, SIZE_MAX, 8, &count), TC_ETRUNC);
    assert_int_equal(count, 0);

    /* over max is checked before the length */
    count = 42;
    tc_reader_init(&r, huge, sizeof huge);
    assert_int_equal(tc_rd_count(&r, 1000, 1, &count), TC_EOVERSIZE);
    assert_int_equal(count, 0);

    /* min_elem 0: only max applies */
    static const uint8_t many[] = {0xfd, 0xe8, 0x03};
    tc_reader_init(&r, many, sizeof many);
    assert_int_equal(tc_rd_count(&r, 1000, 0, &count), 0);
    assert_int_equal(count, 1000);
    assert_int_equal(tc_rd_done(&r), 0);

    /* a count of zero needs no bytes */
    static const uint8_t zero[] = {0x00};
    tc_reader_init(&r, zero, 1);
    assert_int_equal(tc_rd_count(&r, 0, 1000, &count), 0);
    assert_int_equal(count, 0);
    assert_int_equal(tc_rd_done(&r), 0);
}

static void test_sticky_error(void **state)
{
    (void)state;
    static const uint8_t in[] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x11, 0x22, 0x33, 0x44,
                                 0x55, 0x66, 0x77, 0x88, 0x99};
    tc_reader r;
    tc_reader_init(&r, in, 3);
    uint8_t v8;
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;
    assert_int_equal(tc_rd_u8(&r, &v8), 0);
    assert_int_equal(v8, 0xaa);
    assert_int_equal(tc_rd_u32(&r, &v32), TC_ETRUNC); /* needs 4, has 2 */
    assert_int_equal(r.err_pos, 1);
    assert_int_equal(tc_rd_left(&r), 0);

    /* later reads of sizes that would fit still fail and yield zero */
    v8 = 0xff;
    v16 = 0xffff;
    v64 = 1;
    assert_int_equal(tc_rd_u8(&r, &v8), TC_ETRUNC);
    assert_int_equal(v8, 0);
    assert_int_equal(tc_rd_u16(&r, &v16), TC_ETRUNC);
    assert_int_equal(v16, 0);
    assert_int_equal(tc_rd_u64(&r, &v64), TC_ETRUNC);
    assert_true(v64 == 0);
    uint64_t cs = 5;
    assert_int_equal(tc_rd_cs(&r, &cs), TC_ETRUNC);
    assert_true(cs == 0);
    size_t count = 5;
    assert_int_equal(tc_rd_count(&r, 10, 0, &count), TC_ETRUNC);
    assert_int_equal(count, 0);
    uint8_t out[1] = {0xff};
    assert_int_equal(tc_rd_bytes(&r, out, 1), TC_ETRUNC);
    assert_int_equal(out[0], 0);
    assert_null(tc_rd_ptr(&r, 0));
    size_t n = 5;
    assert_null(tc_rd_var(&r, 10, &n));
    assert_int_equal(n, 0);

    /* a second failure does not replace the first */
    assert_int_equal(tc_rd_fail(&r, TC_EBADVAL), TC_ETRUNC);
    assert_int_equal(tc_rd_done(&r), TC_ETRUNC);
    assert_int_equal(r.err, TC_ETRUNC);
    assert_int_equal(r.err_pos, 1);
    assert_int_equal(r.pos, 1);

    /* tc_rd_fail on a good reader records the current offset */
    tc_reader_init(&r, in, sizeof in);
    assert_int_equal(tc_rd_u16(&r, &v16), 0);
    assert_int_equal(tc_rd_fail(&r, TC_EBADVAL), TC_EBADVAL);
    assert_int_equal(r.err_pos, 2);
    assert_int_equal(tc_rd_u8(&r, &v8), TC_EBADVAL);
    assert_int_equal(v8, 0);
}

static void test_endian_helpers(void **state)
{
    (void)state;
    uint8_t p[8];
    tc_le32(p, 0x11223344);
    static const uint8_t le32[] = {0x44, 0x33, 0x22, 0x11};
    assert_memory_equal(p, le32, 4);
    assert_int_equal(tc_get_le32(p), 0x11223344);
    tc_le64(p, 0x0102030405060708ull);
    static const uint8_t le64[] = {8, 7, 6, 5, 4, 3, 2, 1};
    assert_memory_equal(p, le64, 8);
    assert_true(tc_get_le64(p) == 0x0102030405060708ull);
    tc_be64(p, 0x0102030405060708ull);
    static const uint8_t be64[] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(p, be64, 8);
    assert_true(tc_get_be64(p) == 0x0102030405060708ull);
    tc_be64(p, UINT64_MAX);
    assert_true(tc_get_be64(p) == UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_integers_le),
        cmocka_unit_test(test_integer_round_trip),
        cmocka_unit_test(test_buf_growth_and_reset),
        cmocka_unit_test(test_buf_var),
        cmocka_unit_test(test_rd_var_limits),
        cmocka_unit_test(test_cs_canonical_boundaries),
        cmocka_unit_test(test_cs_noncanonical_rejected),
        cmocka_unit_test(test_cs_truncated),
        cmocka_unit_test(test_truncation_err_pos),
        cmocka_unit_test(test_rd_ptr_and_left),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_rd_count),
        cmocka_unit_test(test_sticky_error),
        cmocka_unit_test(test_endian_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
