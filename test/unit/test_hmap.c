/* Hash map: put/get/replace/delete against a reference array, through growth
 * and many deletions (backward shift must keep every probe run reachable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/hmap.h"

#define N 5000

static void key_of(uint8_t k[36], uint32_t i)
{
    memset(k, 0x77, 36); /* shared prefix: like outpoints of one txid */
    k[32] = (uint8_t)(i >> 24);
    k[33] = (uint8_t)(i >> 16);
    k[34] = (uint8_t)(i >> 8);
    k[35] = (uint8_t)i;
}

static void test_against_reference(void **state)
{
    (void)state;
    static int vals[N];
    static int present[N];
    tc_hmap *m = tc_hmap_new(36);
    uint8_t k[36];
    for (uint32_t i = 0; i < N; i++) {
        key_of(k, i);
        tc_hmap_put(m, k, &vals[i]);
        present[i] = 1;
    }
    assert_int_equal(tc_hmap_size(m), N);
    /* delete every third, replace every fifth */
    for (uint32_t i = 0; i < N; i += 3) {
        key_of(k, i);
        assert_ptr_equal(tc_hmap_del(m, k), &vals[i]);
        assert_null(tc_hmap_del(m, k));
        present[i] = 0;
    }
    for (uint32_t i = 0; i < N; i += 5) {
        key_of(k, i);
        tc_hmap_put(m, k, &vals[(i + 1) % N]);
        present[i] = 2;
    }
    size_t expect = 0;
    for (uint32_t i = 0; i < N; i++) {
        key_of(k, i);
        void *v = tc_hmap_get(m, k);
        if (present[i] == 0)
            assert_null(v);
        else
            assert_ptr_equal(v, present[i] == 2 ? &vals[(i + 1) % N] : &vals[i]);
        expect += present[i] != 0;
    }
    assert_int_equal(tc_hmap_size(m), expect);
    for (uint32_t i = 0; i < N; i++) {
        key_of(k, i);
        tc_hmap_del(m, k);
    }
    assert_int_equal(tc_hmap_size(m), 0);
    tc_hmap_free(m);
}

static void count_entry(void *ctx, const void *key, void *value)
{
    (void)key;
    (void)value;
    (*(size_t *)ctx)++;
}

static void test_each(void **state)
{
    (void)state;
    int v = 1;
    tc_hmap *m = tc_hmap_new(4);
    for (uint32_t i = 0; i < 100; i++)
        tc_hmap_put(m, &i, &v);
    size_t n = 0;
    tc_hmap_each(m, count_entry, &n);
    assert_int_equal(n, 100);
    tc_hmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_each),
    };
    return cmocka_run_group_tests_name("hmap", tests, NULL, NULL);
}
