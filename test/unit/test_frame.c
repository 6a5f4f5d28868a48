/* Frame codec: header checks before allocation, incremental parsing over
 * every split of the input, sticky errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/frame.h"

static const uint8_t MAGIC[4] = {0xDE, 0x7E, 0x7E, 0x4D};
static const uint8_t OTHER[4] = {0xC0, 0x1D, 0x7E, 0x4D};

static void test_header_roundtrip(void **state)
{
    (void)state;
    uint8_t h[TC_FRAME_HEADER_SIZE];
    tc_frame_header_encode(h, MAGIC, 0x1234, 0x00123456);
    const uint8_t want[] = {0xDE, 0x7E, 0x7E, 0x4D, 0x34, 0x12, 0x56, 0x34, 0x12, 0x00};
    assert_memory_equal(h, want, sizeof want);
    tc_frame_header fh;
    assert_int_equal(tc_frame_header_decode(&fh, MAGIC, h, sizeof h), 0);
    assert_int_equal(fh.type, 0x1234);
    assert_int_equal(fh.len, 0x00123456);
}

static void test_header_errors(void **state)
{
    (void)state;
    uint8_t h[TC_FRAME_HEADER_SIZE];
    tc_frame_header fh;
    tc_frame_header_encode(h, MAGIC, 3, 16);
    for (size_t n = 0; n < sizeof h; n++)
        assert_int_equal(tc_frame_header_decode(&fh, MAGIC, h, n), TC_ETRUNC);
    assert_int_equal(tc_frame_header_decode(&fh, OTHER, h, sizeof h), TC_ENET_MAGIC);
    assert_int_equal(fh.type, 0);
    assert_int_equal(fh.len, 0);
    /* exactly the maximum is fine, one more is not */
    tc_frame_header_encode(h, MAGIC, 3, TC_FRAME_MAX_PAYLOAD);
    assert_int_equal(tc_frame_header_decode(&fh, MAGIC, h, sizeof h), 0);
    tc_le32(h + 6, TC_FRAME_MAX_PAYLOAD + 1);
    assert_int_equal(tc_frame_header_decode(&fh, MAGIC, h, sizeof h), TC_ENET_FRAME_SIZE);
    tc_le32(h + 6, 0xffffffffu);
    assert_int_equal(tc_frame_header_decode(&fh, MAGIC, h, sizeof h), TC_ENET_FRAME_SIZE);
}

/* Three frames (one empty) parsed with the input cut at every chunk size. */
static void test_parser_every_split(void **state)
{
    (void)state;
    tc_buf b;
    tc_buf_init(&b);
    uint8_t p1[300], p3[7];
    for (size_t i = 0; i < sizeof p1; i++)
        p1[i] = (uint8_t)(i * 7);
    memset(p3, 0xaa, sizeof p3);
    tc_frame_encode(&b, MAGIC, 1, p1, sizeof p1);
    tc_frame_encode(&b, MAGIC, 2, NULL, 0);
    tc_frame_encode(&b, MAGIC, 0xffff, p3, sizeof p3);
    assert_int_equal(b.len, 3 * TC_FRAME_HEADER_SIZE + sizeof p1 + sizeof p3);

    for (size_t chunk = 1; chunk <= b.len; chunk++) {
        tc_frame_parser fp;
        tc_frame_parser_init(&fp, MAGIC);
        size_t pos = 0, got = 0;
        while (pos < b.len) {
            size_t n = b.len - pos < chunk ? b.len - pos : chunk;
            size_t used;
            int rc = tc_frame_parser_feed(&fp, b.p + pos, n, &used);
            assert_true(rc == 0 || rc == 1);
            assert_true(used <= n);
            pos += used;
            if (rc == 1) {
                uint16_t type;
                uint8_t *pl;
                size_t len;
                assert_int_equal(tc_frame_parser_take(&fp, &type, &pl, &len), 0);
                if (got == 0) {
                    assert_int_equal(type, 1);
                    assert_int_equal(len, sizeof p1);
                    assert_memory_equal(pl, p1, sizeof p1);
                } else if (got == 1) {
                    assert_int_equal(type, 2);
                    assert_int_equal(len, 0);
                } else {
                    assert_int_equal(type, 0xffff);
                    assert_int_equal(len, sizeof p3);
                    assert_memory_equal(pl, p3, sizeof p3);
                }
                free(pl);
                got++;
            } else {
                assert_int_equal(used, n); /* needs more: took everything */
            }
        }
        assert_int_equal(got, 3);
        assert_int_equal(tc_frame_parser_want(&fp), TC_FRAME_HEADER_SIZE);
        tc_frame_parser_release(&fp);
    }
    tc_buf_release(&b);
}

static void test_parser_errors_sticky(void **state)
{
    (void)state;
    uint8_t h[TC_FRAME_HEADER_SIZE + 4];
    tc_frame_parser fp;
    size_t used;

    /* oversize: refused on the header, no payload allocated */
    tc_frame_header_encode(h, MAGIC, 1, 0);
    tc_le32(h + 6, TC_FRAME_MAX_PAYLOAD + 1);
    tc_frame_parser_init(&fp, MAGIC);
    assert_int_equal(tc_frame_parser_feed(&fp, h, TC_FRAME_HEADER_SIZE, &used),
                     TC_ENET_FRAME_SIZE);
    assert_null(fp.payload);
    assert_int_equal(tc_frame_parser_feed(&fp, h, 1, &used), TC_ENET_FRAME_SIZE);
    assert_int_equal(used, 0);
    tc_frame_parser_release(&fp);

    /* wrong magic, fed byte by byte: error on the 10th byte */
    tc_frame_header_encode(h, OTHER, 1, 4);
    tc_frame_parser_init(&fp, MAGIC);
    for (size_t i = 0; i < TC_FRAME_HEADER_SIZE - 1; i++)
        assert_int_equal(tc_frame_parser_feed(&fp, h + i, 1, &used), 0);
    assert_int_equal(tc_frame_parser_feed(&fp, h + 9, 1, &used), TC_ENET_MAGIC);
    tc_frame_parser_release(&fp);

    /* a lowered limit (before a link is authenticated) */
    tc_frame_header_encode(h, MAGIC, 1, 4097);
    tc_frame_parser_init(&fp, MAGIC);
    tc_frame_parser_set_max(&fp, 4096);
    assert_int_equal(tc_frame_parser_feed(&fp, h, TC_FRAME_HEADER_SIZE, &used), TC_ENET_FRAME_SIZE);
    assert_null(fp.payload);
    tc_frame_parser_release(&fp);
    assert_int_equal(fp.max, 4096); /* release keeps the limit */
    tc_frame_header_encode(h, MAGIC, 1, 4);
    memset(h + TC_FRAME_HEADER_SIZE, 7, 4);
    assert_int_equal(tc_frame_parser_feed(&fp, h, sizeof h, &used), 1);
    tc_frame_parser_set_max(&fp, UINT32_MAX);
    assert_int_equal(fp.max, TC_FRAME_MAX_PAYLOAD);
    tc_frame_parser_release(&fp);

    /* take with nothing ready */
    uint16_t type;
    uint8_t *pl;
    size_t len;
    tc_frame_parser_init(&fp, MAGIC);
    assert_int_equal(tc_frame_parser_take(&fp, &type, &pl, &len), TC_ESTATE);
    assert_null(pl);
    tc_frame_parser_release(&fp);
}

static void test_parser_partial_release(void **state)
{
    (void)state;
    /* A large announced frame that never completes is freed by release. */
    uint8_t h[TC_FRAME_HEADER_SIZE + 3] = {0};
    tc_frame_header_encode(h, MAGIC, 9, 1 << 20);
    tc_frame_parser fp;
    size_t used;
    tc_frame_parser_init(&fp, MAGIC);
    assert_int_equal(tc_frame_parser_feed(&fp, h, sizeof h, &used), 0);
    assert_int_equal(used, sizeof h);
    assert_int_equal(tc_frame_parser_want(&fp), (1 << 20) - 3);
    tc_frame_parser_release(&fp);
    assert_null(fp.payload);
}

/* Reading straight into the parser (space/commit), borrowing frames
 * (peek/next): the payload buffer is reused, grown only for a larger frame,
 * and an oversize header still fails before any allocation. */
static void test_parser_zero_copy(void **state)
{
    (void)state;
    tc_buf b;
    tc_buf_init(&b);
    uint8_t big[1000], small[10];
    memset(big, 0x5a, sizeof big);
    memset(small, 0x17, sizeof small);
    tc_frame_encode(&b, MAGIC, 3, big, sizeof big);
    tc_frame_encode(&b, MAGIC, 4, small, sizeof small);
    tc_frame_encode(&b, MAGIC, 5, NULL, 0);

    tc_frame_parser fp;
    tc_frame_parser_init(&fp, MAGIC);
    size_t pos = 0, got = 0;
    const uint8_t *first = NULL;
    while (pos < b.len) {
        size_t n;
        uint8_t *dst = tc_frame_parser_space(&fp, &n);
        assert_non_null(dst);
        assert_true(n >= 1);
        if (n > 3)
            n = 3; /* short reads */
        if (n > b.len - pos)
            n = b.len - pos;
        memcpy(dst, b.p + pos, n);
        pos += n;
        int rc = tc_frame_parser_commit(&fp, n);
        assert_true(rc == 0 || rc == 1);
        if (rc == 0)
            continue;
        size_t dummy;
        assert_null(tc_frame_parser_space(&fp, &dummy)); /* take the frame first */
        uint16_t type;
        const uint8_t *pl;
        size_t len;
        assert_int_equal(tc_frame_parser_peek(&fp, &type, &pl, &len), 0);
        assert_int_equal(type, 3 + got);
        if (got == 0) {
            assert_int_equal(len, sizeof big);
            assert_memory_equal(pl, big, sizeof big);
            first = pl;
        } else if (got == 1) {
            assert_int_equal(len, sizeof small);
            assert_memory_equal(pl, small, sizeof small);
            assert_ptr_equal(pl, first); /* the buffer is reused */
        } else {
            assert_int_equal(len, 0);
            assert_null(pl);
        }
        tc_frame_parser_next(&fp);
        got++;
    }
    assert_int_equal(got, 3);
    assert_int_equal(fp.cap, sizeof big);
    tc_frame_parser_trim(&fp, sizeof big);
    assert_int_equal(fp.cap, sizeof big);
    tc_frame_parser_trim(&fp, 64);
    assert_int_equal(fp.cap, 0);
    assert_null(fp.payload);

    /* over the limit: refused at the header, nothing allocated */
    uint8_t hdr[TC_FRAME_HEADER_SIZE];
    tc_frame_header_encode(hdr, MAGIC, 3, 100);
    tc_frame_parser_set_max(&fp, 99);
    size_t n;
    uint8_t *dst = tc_frame_parser_space(&fp, &n);
    assert_int_equal(n, TC_FRAME_HEADER_SIZE);
    memcpy(dst, hdr, n);
    assert_int_equal(tc_frame_parser_commit(&fp, n), TC_ENET_FRAME_SIZE);
    assert_null(fp.payload);
    assert_null(tc_frame_parser_space(&fp, &n));
    assert_int_equal(n, 0);
    tc_frame_parser_release(&fp);
    tc_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_parser_every_split),
        cmocka_unit_test(test_parser_errors_sticky),
        cmocka_unit_test(test_parser_partial_release),
        cmocka_unit_test(test_parser_zero_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
