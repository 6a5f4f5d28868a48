/* The store's write guard: a map that fills makes the store unwritable with
 * a reason naming the directory, later writes are refused without touching
 * LMDB until the backoff has passed (no spin), the backoff doubles to its
 * cap, and the first commit after room is made clears it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "store/diskguard.h"
#include "store/store.h"
#include "testdir.h"

static char dir[128];

static int setup(void **state)
{
    (void)state;
    return testdir_make(dir, sizeof dir, "diskguard");
}

static int teardown(void **state)
{
    (void)state;
    return testdir_remove(dir);
}

static void test_backoff_doubles_to_cap(void **state)
{
    (void)state;
    tc_diskguard g = {0};
    assert_true(tc_diskguard_may_write(&g, 0));
    uint64_t want[] = {1000, 2000, 4000, 8000, 8000};
    uint64_t now = 5000;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        tc_diskguard_failed(&g, dir, MDB_MAP_FULL, now);
        assert_int_equal(g.backoff_ms, want[i]);
        assert_false(tc_diskguard_may_write(&g, now + want[i] - 1));
        assert_true(tc_diskguard_may_write(&g, now + want[i]));
        now += want[i];
    }
    assert_non_null(strstr(g.why, "map or disk full"));
    assert_non_null(strstr(g.why, dir));
    tc_diskguard_ok(&g, dir);
    assert_false(g.full);
    assert_true(tc_diskguard_may_write(&g, 0));
}

static void test_full_vs_io_error(void **state)
{
    (void)state;
    assert_true(tc_diskguard_is_full(MDB_MAP_FULL, dir));
    assert_true(tc_diskguard_is_full(ENOSPC, dir));
    /* /tmp has room: an EIO there is a real I/O error, not a full disk */
    assert_false(tc_diskguard_is_full(EIO, dir));
    assert_false(tc_diskguard_is_full(MDB_CORRUPTED, dir));
}

/* Puts 1 KiB values until the 256 KiB map is full; returns the error. */
static int fill(tc_store *s)
{
    uint8_t v[1024] = {0};
    for (uint32_t i = 0;; i++) {
        tc_txn *t;
        int err = tc_store_begin(s, 1, &t);
        if (err)
            return err;
        err = tc_store_put(t, TC_TB_UTXO, &i, sizeof i, v, sizeof v);
        if (err) {
            tc_store_abort(t);
            return err;
        }
        if ((err = tc_store_commit(t)))
            return err;
    }
}

static void test_full_map_refuses_writes_until_backoff(void **state)
{
    (void)state;
    char sub[192];
    snprintf(sub, sizeof sub, "%s/map", dir);
    tc_store *s;
    tc_errmsg e;
    assert_int_equal(tc_store_open(&s, sub, 256 << 10, &e), 0);
    const char *why;
    assert_true(tc_store_writable(s, &why));
    assert_int_equal(fill(s), TC_ESTORE_FULL);
    assert_false(tc_store_writable(s, &why));
    assert_non_null(strstr(why, "map or disk full"));
    assert_non_null(strstr(why, sub));
    tc_txn *t;
    assert_int_equal(tc_store_begin(s, 1, &t), TC_ESTORE_FULL); /* within the backoff: LMDB not touched */
    assert_null(t);
    assert_int_equal(tc_store_begin(s, 0, &t), 0); /* reads go on */
    tc_store_abort(t);
    tc_store_close(s);
    /* a bigger map: the first commit clears it */
    assert_int_equal(tc_store_open(&s, sub, 4 << 20, &e), 0);
    assert_int_equal(tc_store_begin(s, 1, &t), 0);
    uint32_t k = 0xffffffff;
    assert_int_equal(tc_store_put(t, TC_TB_UTXO, &k, sizeof k, "x", 1), 0);
    assert_int_equal(tc_store_commit(t), 0);
    assert_true(tc_store_writable(s, NULL));
    tc_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_to_cap),
        cmocka_unit_test(test_full_vs_io_error),
        cmocka_unit_test(test_full_map_refuses_writes_until_backoff),
    };
    return cmocka_run_group_tests_name("diskguard", tests, setup, teardown);
}
