/* Transaction journal: appends reload in order after close (and after a
 * crash without sync, as far as the bytes reached the file); a torn or
 * corrupt tail is cut off and what precedes it loads; a length field is never
 * trusted beyond the limit or the bytes present; rewrite replaces the set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/txjournal.h"
#include "util/buf.h"
#include "util/log.h"

static char dir[64], path[128];

typedef struct {
    size_t n;
    size_t lens[16];
    uint8_t first[16];
} seen;

static void collect(void *ctx, const uint8_t *p, size_t len)
{
    seen *s = ctx;
    if (s->n < 16) {
        s->lens[s->n] = len;
        s->first[s->n] = p[0];
        for (size_t i = 0; i < len; i++)
            assert_int_equal(p[i], (uint8_t)(p[0] + i));
    }
    s->n++;
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/tc-txjournal-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/mempool.journal", dir);
    tc_log_setup(TC_LOG_ERROR, TC_LOG_LOGFMT, 2); /* the torn-tail warning is expected */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char tmp[160];
    unlink(path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    rmdir(dir);
    return 0;
}

static void append_rec(tc_txjournal *j, uint8_t tag, size_t len)
{
    uint8_t *p = malloc(len);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(tag + i);
    assert_int_equal(tc_txjournal_append(j, p, len), 0);
    free(p);
}

static void write_three(void)
{
    tc_txjournal *j;
    seen s = {0};
    assert_int_equal(tc_txjournal_open(&j, path, collect, &s, NULL), 0);
    assert_int_equal(s.n, 0);
    append_rec(j, 1, 10);
    append_rec(j, 2, 300);
    append_rec(j, 3, 7);
    assert_int_equal(tc_txjournal_sync(j), 0);
    assert_int_equal(tc_txjournal_size(j), 317 + 3 * TC_TXJOURNAL_OVERHEAD);
    tc_txjournal_close(j);
}

static off_t file_size(void)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void reload(seen *s, tc_txjournal_info *info)
{
    tc_txjournal *j;
    memset(s, 0, sizeof *s);
    assert_int_equal(tc_txjournal_open(&j, path, collect, s, info), 0);
    tc_txjournal_close(j);
}

static void test_append_reload(void **state)
{
    (void)state;
    write_three();
    seen s;
    tc_txjournal_info info;
    reload(&s, &info);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.lens[0], 10);
    assert_int_equal(s.lens[1], 300);
    assert_int_equal(s.lens[2], 7);
    assert_int_equal(s.first[2], 3);
    assert_int_equal(info.records, 3);
    assert_int_equal(info.dropped, 0);
    /* Appends after a reload go after the records that loaded. */
    tc_txjournal *j;
    assert_int_equal(tc_txjournal_open(&j, path, NULL, NULL, NULL), 0);
    append_rec(j, 4, 5);
    tc_txjournal_close(j); /* no sync: the bytes are in the file all the same */
    reload(&s, NULL);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.first[3], 4);
}

/* A crash mid-write: every cut inside the last record loses that record only. */
static void test_torn_tail(void **state)
{
    (void)state;
    write_three();
    off_t full = file_size(), last = 7 + TC_TXJOURNAL_OVERHEAD;
    unlink(path);
    for (off_t cut = 1; cut < last; cut++) {
        write_three();
        assert_int_equal(truncate(path, full - cut), 0);
        seen s;
        tc_txjournal_info info;
        reload(&s, &info);
        assert_int_equal(s.n, 2);
        assert_int_equal(info.dropped, (uint64_t)(last - cut));
        assert_int_equal(file_size(), full - last); /* cut off: appends go on cleanly */
        unlink(path);
    }
}

static void flip(off_t at)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseeko(f, at, SEEK_SET), 0);
    int c = fgetc(f);
    assert_int_equal(fseeko(f, at, SEEK_SET), 0);
    fputc(c ^ 0x40, f);
    fclose(f);
}

/* A bad check in the middle ends the read there: the first record loads. */
static void test_bad_checksum(void **state)
{
    (void)state;
    write_three();
    flip(10 + TC_TXJOURNAL_OVERHEAD + 8 + 150); /* inside record 2's bytes */
    seen s;
    tc_txjournal_info info;
    reload(&s, &info);
    assert_int_equal(s.n, 1);
    assert_int_equal(info.records, 1);
    assert_int_equal(info.dropped, 300 + 7 + 2 * TC_TXJOURNAL_OVERHEAD);
    /* The journal stays usable. */
    tc_txjournal *j;
    assert_int_equal(tc_txjournal_open(&j, path, NULL, NULL, NULL), 0);
    append_rec(j, 9, 3);
    assert_int_equal(tc_txjournal_sync(j), 0);
    tc_txjournal_close(j);
    reload(&s, NULL);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.first[1], 9);
}

static void put_head(FILE *f, uint32_t magic, uint32_t len)
{
    uint8_t h[8];
    tc_le32(h, magic);
    tc_le32(h + 4, len);
    assert_int_equal(fwrite(h, 1, 8, f), 8);
}

/* A length beyond the limit, or beyond the bytes present, is never read on
 * its word (no huge allocation, no read past the end). */
static void test_bounded_sizes(void **state)
{
    (void)state;
    const uint32_t lens[] = {0xffffffffu, TC_TXJOURNAL_MAX_RECORD + 1, 1000, 0};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        write_three();
        FILE *f = fopen(path, "ab");
        assert_non_null(f);
        put_head(f, 0x4a544354u, lens[i]);
        assert_int_equal(fwrite("0123456789abcdef", 1, 16, f), 16);
        fclose(f);
        seen s;
        tc_txjournal_info info;
        reload(&s, &info);
        assert_int_equal(s.n, 3);
        assert_int_equal(info.dropped, 24);
        unlink(path);
    }
    tc_txjournal *j;
    assert_int_equal(tc_txjournal_open(&j, path, NULL, NULL, NULL), 0);
    uint8_t b = 0;
    assert_int_equal(tc_txjournal_append(j, &b, 0), TC_EINVAL);
    uint8_t *big = calloc(1, TC_TXJOURNAL_MAX_RECORD + 1);
    assert_int_equal(tc_txjournal_append(j, big, TC_TXJOURNAL_MAX_RECORD + 1), TC_EINVAL);
    free(big);
    assert_int_equal(tc_txjournal_size(j), 0);
    tc_txjournal_close(j);
}

/* Garbage only (not a journal at all): nothing loads, the file is emptied. */
static void test_garbage_file(void **state)
{
    (void)state;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 1000; i++)
        fputc(i * 7, f);
    fclose(f);
    seen s;
    tc_txjournal_info info;
    reload(&s, &info);
    assert_int_equal(s.n, 0);
    assert_int_equal(info.dropped, 1000);
    assert_int_equal(file_size(), 0);
}

static void test_rewrite(void **state)
{
    (void)state;
    write_three();
    tc_txjournal *j;
    assert_int_equal(tc_txjournal_open(&j, path, NULL, NULL, NULL), 0);
    uint8_t a[4] = {20, 21, 22, 23}, b[2] = {30, 31};
    const uint8_t *recs[] = {a, b};
    size_t lens[] = {4, 2};
    assert_int_equal(tc_txjournal_rewrite(j, recs, lens, 2), 0);
    assert_int_equal(tc_txjournal_size(j), 6 + 2 * TC_TXJOURNAL_OVERHEAD);
    append_rec(j, 40, 3); /* goes to the new file */
    assert_int_equal(tc_txjournal_sync(j), 0);
    assert_int_equal(tc_txjournal_rewrite(j, NULL, NULL, 0) == 0, 1);
    append_rec(j, 50, 1);
    assert_int_equal(tc_txjournal_sync(j), 0);
    tc_txjournal_close(j);
    seen s;
    reload(&s, NULL);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.first[0], 50);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed away */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
