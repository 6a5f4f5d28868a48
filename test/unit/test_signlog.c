/* Sign log: durable last-signed state; a torn tail is truncated with a
 * warning and the previous record survives; corruption before the end is an
 * error; compaction keeps the newest record. */
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

#include "consensus/signguard.h"
#include "store/signlog.h"
#include "util/log.h"

#define FRAME (4 + TC_SIGNSTATE_SIZE + 8)

static char dir[64], path[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/tc-signlog-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/signlog", dir);
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

static tc_signstate state_at(uint64_t h, uint32_t r, uint8_t step)
{
    tc_signstate s;
    tc_signstate_init(&s);
    s.height = h;
    s.round = r;
    s.step = step;
    memset(s.value.b, (int)(h + r + step), 32);
    return s;
}

static void append(tc_signlog *l, const tc_signstate *s)
{
    uint8_t rec[TC_SIGNSTATE_SIZE];
    tc_signstate_encode(s, rec);
    assert_int_equal(tc_signlog_append(l, rec), 0);
}

static void same_state(const tc_signstate *a, const tc_signstate *b)
{
    uint8_t x[TC_SIGNSTATE_SIZE], y[TC_SIGNSTATE_SIZE];
    tc_signstate_encode(a, x);
    tc_signstate_encode(b, y);
    assert_memory_equal(x, y, sizeof x);
}

static tc_signlog *reopen(tc_signstate *last, bool *have)
{
    tc_signlog *l;
    uint8_t rec[TC_SIGNSTATE_SIZE];
    assert_int_equal(tc_signlog_open(&l, path, sizeof rec, rec, have), 0);
    if (*have)
        assert_int_equal(tc_signstate_decode(last, rec, sizeof rec), 0);
    return l;
}

static off_t file_size(void)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void test_write_tear_reopen(void **state)
{
    (void)state;
    tc_signstate last, s1 = state_at(5, 0, TC_SIGN_PREVOTE), s2 = state_at(5, 0, TC_SIGN_PRECOMMIT),
                       s3 = state_at(5, 1, TC_SIGN_PREVOTE);
    s2.lock_round = 0;
    memset(s2.lock_value.b, 9, 32);
    bool have;
    tc_signlog *l = reopen(&last, &have);
    assert_false(have);
    append(l, &s1);
    append(l, &s2);
    append(l, &s3);
    tc_signlog_close(l);
    assert_int_equal(file_size(), 3 * FRAME);

    l = reopen(&last, &have);
    assert_true(have);
    same_state(&last, &s3);
    tc_signlog_close(l);

    /* tear the tail mid-record: the previous record survives, file is cut back */
    assert_int_equal(truncate(path, 3 * FRAME - 10), 0);
    l = reopen(&last, &have);
    assert_true(have);
    same_state(&last, &s2);
    assert_int_equal(last.lock_round, 0);
    assert_int_equal(file_size(), 2 * FRAME);
    /* appending after the repair works */
    append(l, &s3);
    tc_signlog_close(l);
    l = reopen(&last, &have);
    same_state(&last, &s3);
    tc_signlog_close(l);

    /* a whole last frame with a bad check (garbage written over it) is torn too */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 2 * FRAME + 20, SEEK_SET), 0);
    fputc(0x5a ^ fgetc(f), f);
    fclose(f);
    l = reopen(&last, &have);
    same_state(&last, &s2);
    tc_signlog_close(l);
    assert_int_equal(file_size(), 2 * FRAME);

    /* a bad frame followed by a good one is corruption, not a torn write */
    f = fopen(path, "r+b");
    assert_int_equal(fseek(f, 10, SEEK_SET), 0);
    fputc(0xff, f);
    fclose(f);
    uint8_t rec[TC_SIGNSTATE_SIZE];
    assert_int_equal(tc_signlog_open(&l, path, sizeof rec, rec, &have), TC_ECORRUPT);
    assert_null(l);

    /* a file holding only part of one frame opens empty */
    assert_int_equal(truncate(path, 7), 0);
    l = reopen(&last, &have);
    assert_false(have);
    assert_int_equal(file_size(), 0);
    tc_signlog_close(l);
}

static void test_compaction(void **state)
{
    (void)state;
    unlink(path);
    tc_signstate last;
    bool have;
    tc_signlog *l = reopen(&last, &have);
    size_t n = TC_SIGNLOG_COMPACT / FRAME + 20;
    for (size_t i = 0; i < n; i++) {
        tc_signstate s = state_at(1 + i, 0, TC_SIGN_PREVOTE);
        append(l, &s);
        assert_true(file_size() <= TC_SIGNLOG_COMPACT);
    }
    tc_signlog_close(l);
    l = reopen(&last, &have);
    assert_true(have);
    assert_int_equal(last.height, n);
    tc_signlog_close(l);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    tc_signlog *l;
    uint8_t rec[8];
    bool have;
    assert_int_equal(tc_signlog_open(&l, path, 0, rec, &have), TC_EINVAL);
    assert_int_equal(tc_signlog_open(&l, "/nonexistent-dir/x", 8, rec, &have), TC_EIO);
    /* signstate decoding rejects bad steps and short input */
    tc_signstate s = state_at(1, 1, TC_SIGN_PRECOMMIT), t;
    uint8_t enc[TC_SIGNSTATE_SIZE];
    tc_signstate_encode(&s, enc);
    assert_int_equal(tc_signstate_decode(&t, enc, sizeof enc - 1), TC_ETRUNC);
    enc[12] = 9;
    assert_int_equal(tc_signstate_decode(&t, enc, sizeof enc), TC_EBADVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_tear_reopen),
        cmocka_unit_test(test_compaction),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
