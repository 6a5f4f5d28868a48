/* Address book: sources, exponential backoff, ageing out, persistence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/addrbook.h"

static bool skip_named(void *arg, const char *addr)
{
    return strcmp(addr, arg) == 0;
}

static void test_backoff_and_ageing(void **state)
{
    (void)state;
    tc_netstore_mem *mem = tc_netstore_mem_new();
    tc_netstore st = tc_netstore_mem_iface(mem);
    int err;
    tc_addrbook *ab = tc_addrbook_new(&st, &err);
    assert_non_null(ab);
    uint64_t t = 1000000;
    assert_int_equal(tc_addrbook_add(ab, "127.0.0.1:1", TC_ADDR_CONNECT, t), 0);
    assert_int_equal(tc_addrbook_add(ab, "127.0.0.1:2", TC_ADDR_GOSSIP, t), 0);
    assert_int_equal(tc_addrbook_add(ab, "", TC_ADDR_GOSSIP, t), TC_ENET_ADDR);
    assert_int_equal(tc_addrbook_add(ab, "a b", TC_ADDR_GOSSIP, t), TC_ENET_ADDR);
    assert_int_equal(tc_addrbook_size(ab), 2);
    assert_int_equal(tc_netstore_mem_addr_count(mem), 2);

    /* config addresses first */
    tc_netaddr next;
    assert_true(tc_addrbook_next(ab, t, NULL, NULL, &next));
    assert_string_equal(next.s, "127.0.0.1:1");
    assert_true(tc_addrbook_next(ab, t, skip_named, "127.0.0.1:1", &next));
    assert_string_equal(next.s, "127.0.0.1:2");

    /* failures back off: 1 s, 2 s, 4 s … */
    tc_addrbook_attempt(ab, "127.0.0.1:2", t);
    tc_addrbook_failure(ab, "127.0.0.1:2", t);
    assert_false(tc_addrbook_next(ab, t + 1999, skip_named, "127.0.0.1:1", &next));
    assert_false(tc_addrbook_due(ab, "127.0.0.1:2", t + 1999));
    assert_true(tc_addrbook_due(ab, "127.0.0.1:2", t + 2000));
    assert_true(tc_addrbook_due(ab, "10.0.0.99:1", t)); /* unknown */
    assert_true(tc_addrbook_next(ab, t + 2000, skip_named, "127.0.0.1:1", &next));
    tc_addrbook_attempt(ab, "127.0.0.1:2", t + 2000);
    tc_addrbook_failure(ab, "127.0.0.1:2", t + 2000);
    assert_false(tc_addrbook_next(ab, t + 5999, skip_named, "127.0.0.1:1", &next));
    assert_true(tc_addrbook_next(ab, t + 6000, skip_named, "127.0.0.1:1", &next));
    /* a success resets */
    tc_addrbook_success(ab, "127.0.0.1:2", t + 6000);
    assert_int_equal(tc_addrbook_get(ab, "127.0.0.1:2")->failures, 0);

    /* enough failures age a gossip address out; a config one stays */
    for (int i = 0; i < TC_ADDR_MAX_FAILURES; i++) {
        tc_addrbook_failure(ab, "127.0.0.1:2", t);
        tc_addrbook_failure(ab, "127.0.0.1:1", t);
    }
    assert_null(tc_addrbook_get(ab, "127.0.0.1:2"));
    assert_non_null(tc_addrbook_get(ab, "127.0.0.1:1"));
    assert_int_equal(tc_netstore_mem_addr_count(mem), 1);
    /* backoff is capped */
    assert_true(tc_addrbook_next(ab, t + TC_ADDR_BACKOFF_MAX_MS, NULL, NULL, &next));

    /* unseen gossip ages out */
    assert_int_equal(tc_addrbook_add(ab, "10.0.0.1:5", TC_ADDR_GOSSIP, t), 0);
    assert_int_equal(tc_addrbook_age(ab, t + TC_ADDR_MAX_AGE_MS), 0);
    assert_int_equal(tc_addrbook_age(ab, t + TC_ADDR_MAX_AGE_MS + 1), 1);
    assert_int_equal(tc_addrbook_size(ab), 1);
    tc_addrbook_free(ab);

    /* reload from the store */
    ab = tc_addrbook_new(&st, &err);
    assert_int_equal(tc_addrbook_size(ab), 1);
    assert_int_equal(tc_addrbook_get(ab, "127.0.0.1:1")->source, TC_ADDR_CONNECT);
    tc_msg_peer sample[4];
    tc_addrbook_success(ab, "127.0.0.1:1", t);
    assert_int_equal(tc_addrbook_sample(ab, sample, 4), 1);
    assert_string_equal(sample[0].addr.s, "127.0.0.1:1");
    tc_addrbook_free(ab);
    tc_netstore_mem_free(mem);
}

static void test_full_book_evicts_gossip(void **state)
{
    (void)state;
    int err;
    tc_addrbook *ab = tc_addrbook_new(NULL, &err);
    char a[32];
    for (int i = 0; i < TC_ADDRBOOK_MAX; i++) {
        snprintf(a, sizeof a, "10.%d.%d.1:1", i / 256, i % 256);
        assert_int_equal(tc_addrbook_add(ab, a, TC_ADDR_GOSSIP, (uint64_t)i + 1), 0);
    }
    assert_int_equal(tc_addrbook_add(ab, "192.168.0.1:1", TC_ADDR_GOSSIP, 999999), 0);
    assert_int_equal(tc_addrbook_size(ab), TC_ADDRBOOK_MAX);
    assert_null(tc_addrbook_get(ab, "10.0.0.1:1")); /* the oldest went */
    tc_addrbook_free(ab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_and_ageing),
        cmocka_unit_test(test_full_book_evicts_gossip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
