/* Address book: sources, exponential backoff, ageing out, persistence;
 * address groups, bucketing by source, the per-group caps, that a flood from
 * one source cannot evict what other sources taught, promotion to tried,
 * alternation between the tables. */
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
    assert_int_equal(tc_addrbook_add(ab, "host:1", TC_ADDR_GOSSIP, t), TC_ENET_ADDR); /* never a name */
    assert_int_equal(tc_addrbook_add(ab, "10.0.0.1:0", TC_ADDR_GOSSIP, t), TC_ENET_ADDR);
    assert_int_equal(tc_addrbook_add(ab, "0.0.0.0:1", TC_ADDR_GOSSIP, t), TC_ENET_ADDR);
    assert_int_equal(tc_addrbook_size(ab), 2);
    assert_int_equal(tc_netstore_mem_addr_count(mem), 0); /* nothing written before a flush */
    assert_int_equal(tc_addrbook_flush(ab), 2);
    assert_int_equal(tc_addrbook_flush(ab), 0); /* nothing changed since */
    assert_int_equal(tc_netstore_mem_addr_count(mem), 2);
    assert_int_equal(tc_netstore_mem_batches(mem), 1);

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
    assert_true(tc_addrbook_flush(ab) > 0);
    assert_int_equal(tc_netstore_mem_addr_count(mem), 1);
    /* backoff is capped */
    assert_true(tc_addrbook_next(ab, t + TC_ADDR_BACKOFF_MAX_MS, NULL, NULL, &next));

    /* unseen gossip ages out */
    assert_int_equal(tc_addrbook_add(ab, "10.0.0.1:5", TC_ADDR_GOSSIP, t), 0);
    assert_int_equal(tc_addrbook_age(ab, t + TC_ADDR_MAX_AGE_MS), 0);
    assert_int_equal(tc_addrbook_age(ab, t + TC_ADDR_MAX_AGE_MS + 1), 1);
    assert_int_equal(tc_addrbook_size(ab), 1);
    assert_int_equal(tc_addrbook_flush(ab), 0); /* added and gone between flushes: no write */
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

static void test_groups(void **state)
{
    (void)state;
    uint64_t g = tc_addrbook_group("1.2.3.4:5");
    assert_true(g != 0);
    assert_true(g == tc_addrbook_group("1.2.250.9:1"));      /* IPv4 /16 */
    assert_true(g == tc_addrbook_group("1.2.3.4"));          /* a bare IP */
    assert_true(g == tc_addrbook_group("[::ffff:1.2.3.4]:1")); /* mapped: as IPv4 */
    assert_true(g != tc_addrbook_group("1.3.3.4:5"));
    uint64_t lo = tc_addrbook_group("127.0.0.1:1");
    assert_true(lo == tc_addrbook_group("127.0.0.200:2"));   /* loopback /24 */
    assert_true(lo != tc_addrbook_group("127.0.1.1:1"));
    assert_true(lo != tc_addrbook_group("[::1]:1"));
    uint64_t v6 = tc_addrbook_group("[2001:db8::1]:1");
    assert_true(v6 == tc_addrbook_group("[2001:db8:ffff::7]:9")); /* IPv6 /32 */
    assert_true(v6 == tc_addrbook_group("2001:db8::2"));
    assert_true(v6 != tc_addrbook_group("[2001:db9::1]:1"));
    assert_true(tc_addrbook_group("a b") == 0);
    assert_true(tc_addrbook_group("host:1") == 0);
    assert_true(tc_addrbook_group("1.2.3.4:99999") == 0);
    assert_true(tc_addrbook_group("[2001:db8::1]") == 0);
}

/* A distinct address (and /16 group) per i. */
static void spread(char *out, size_t len, unsigned i, unsigned port)
{
    snprintf(out, len, "%u.%u.%u.%u:%u", 1 + (i / 256) % 223, i % 256, (i / 57088) % 256, 1 + i % 250, port);
}

static void test_one_source_fills_few_buckets(void **state)
{
    (void)state;
    int err;
    tc_addrbook *ab = tc_addrbook_new(NULL, &err);
    char a[48];
    uint64_t t = 1000000;
    size_t took = 0;
    for (unsigned i = 0; i < 20000; i++) {
        spread(a, sizeof a, i, 24100);
        int rc = tc_addrbook_learn(ab, a, "203.0.113.7", t);
        assert_true(rc == 0 || rc == TC_ELIMIT);
        took += rc == 0;
    }
    size_t n_new;
    tc_addrbook_counts(ab, &n_new, NULL, NULL);
    assert_true(n_new <= TC_ADDRBOOK_NEW_PER_SOURCE * TC_ADDRBOOK_BUCKET_SIZE);
    assert_true(n_new >= TC_ADDRBOOK_BUCKET_SIZE); /* it did fill at least one */
    assert_int_equal(took, n_new);
    /* a source in the same /16 is the same source group */
    assert_int_equal(tc_addrbook_learn(ab, "9.9.9.9:1", "203.0.200.1", t), TC_ELIMIT);
    /* ... other source groups are not. Bucket choice is keyed by a random
     * secret, so one honest source's address lands in one of the flood's
     * (at most 4 of 128) full buckets with p <= 1/32: ask 16 sources and
     * require nearly all through (P(fail) < 1e-6), not every single one. */
    size_t through = 0;
    for (unsigned k = 0; k < 16; k++) {
        char addr[32], src[32];
        snprintf(addr, sizeof addr, "9.9.9.%u:1", 1 + k);
        snprintf(src, sizeof src, "198.%u.100.1", 40 + k);
        int rc = tc_addrbook_learn(ab, addr, src, t);
        assert_true(rc == 0 || rc == TC_ELIMIT);
        through += rc == 0;
    }
    assert_true(through >= 10);
    tc_addrbook_free(ab);
}

static void test_group_cap(void **state)
{
    (void)state;
    int err;
    tc_addrbook *ab = tc_addrbook_new(NULL, &err);
    char a[48], from[32];
    for (unsigned i = 0; i < 1000; i++) {
        snprintf(a, sizeof a, "10.1.%u.%u:1", i / 200, 1 + i % 200); /* one /16 */
        snprintf(from, sizeof from, "%u.%u.0.1", 11 + i / 256, i % 256); /* many sources */
        int rc = tc_addrbook_learn(ab, a, from, 5000);
        assert_true(rc == 0 || rc == TC_ELIMIT);
    }
    size_t n_new;
    tc_addrbook_counts(ab, &n_new, NULL, NULL);
    assert_int_equal(n_new, TC_ADDRBOOK_GROUP_MAX_NEW);
    /* the tried cap: of twenty connected addresses of the group, eight move */
    size_t moved = 0;
    for (unsigned i = 0; i < 1000; i++) {
        snprintf(a, sizeof a, "10.1.%u.%u:1", i / 200, 1 + i % 200);
        const tc_addr_rec *r = tc_addrbook_get(ab, a);
        if (r == NULL)
            continue;
        tc_addrbook_success(ab, a, 6000);
        moved += tc_addrbook_get(ab, a)->tried;
    }
    size_t n_tried;
    tc_addrbook_counts(ab, &n_new, &n_tried, NULL);
    assert_int_equal(moved, TC_ADDRBOOK_GROUP_MAX_TRIED);
    assert_int_equal(n_tried, TC_ADDRBOOK_GROUP_MAX_TRIED);
    assert_int_equal(n_new, TC_ADDRBOOK_GROUP_MAX_NEW - TC_ADDRBOOK_GROUP_MAX_TRIED);
    tc_addrbook_free(ab);
}

/* Honest sources teach the book first; then one source floods it, for days
 * of fresh addresses, so that its own entries keep being replaced. Not one
 * entry another source taught is lost, nor an anchored one. */
static void test_flood_cannot_evict_other_sources(void **state)
{
    (void)state;
    int err;
    tc_addrbook *ab = tc_addrbook_new(NULL, &err);
    char a[48], from[32];
    uint64_t t = 1000000;
    enum { SOURCES = 100, EACH = 6 };
    static char kept[SOURCES * EACH][48];
    size_t n_kept = 0;
    for (unsigned s = 0; s < SOURCES; s++)
        for (unsigned k = 0; k < EACH; k++) {
            snprintf(a, sizeof a, "100.%u.%u.1:24100", s, k);
            snprintf(from, sizeof from, "172.%u.0.1", s);
            if (tc_addrbook_learn(ab, a, from, t) == 0)
                snprintf(kept[n_kept++], sizeof kept[0], "%s", a);
        }
    assert_true(n_kept > SOURCES * EACH * 9 / 10);
    assert_int_equal(tc_addrbook_add(ab, "100.200.0.1:1", TC_ADDR_CONNECT, t), 0);
    assert_int_equal(tc_addrbook_add(ab, "100.201.0.1:1", TC_ADDR_SEED, t), 0);
    assert_int_equal(tc_addrbook_add(ab, "100.202.0.1:1", TC_ADDR_CHAIN, t), 0);
    size_t flood_in = 0;
    for (unsigned round = 0; round < 48; round++) {
        uint64_t now = t + (uint64_t)(round + 1) * 2 * 3600 * 1000; /* two hours apart */
        for (unsigned i = 0; i < 2000; i++) {
            spread(a, sizeof a, round * 2000 + i, 1);
            flood_in += tc_addrbook_learn(ab, a, "203.0.113.7", now) == 0;
        }
    }
    assert_true(flood_in > TC_ADDRBOOK_NEW_PER_SOURCE * TC_ADDRBOOK_BUCKET_SIZE); /* it did churn its own */
    for (size_t i = 0; i < n_kept; i++)
        assert_non_null(tc_addrbook_get(ab, kept[i]));
    assert_non_null(tc_addrbook_get(ab, "100.200.0.1:1"));
    assert_non_null(tc_addrbook_get(ab, "100.201.0.1:1"));
    assert_non_null(tc_addrbook_get(ab, "100.202.0.1:1"));
    size_t n_new;
    tc_addrbook_counts(ab, &n_new, NULL, NULL);
    assert_true(n_new <= n_kept + TC_ADDRBOOK_NEW_PER_SOURCE * TC_ADDRBOOK_BUCKET_SIZE);
    tc_addrbook_free(ab);
}

static void test_promotion_and_alternation(void **state)
{
    (void)state;
    tc_netstore_mem *mem = tc_netstore_mem_new();
    tc_netstore st = tc_netstore_mem_iface(mem);
    int err;
    tc_addrbook *ab = tc_addrbook_new(&st, &err);
    uint64_t t = 1000000;
    assert_int_equal(tc_addrbook_learn(ab, "10.1.0.1:1", "172.16.0.1", t), 0);
    assert_int_equal(tc_addrbook_learn(ab, "10.2.0.1:1", "172.16.0.1", t), 0);
    tc_addrbook_success(ab, "10.1.0.1:1", t);
    size_t n_new, n_tried;
    tc_addrbook_counts(ab, &n_new, &n_tried, NULL);
    assert_int_equal(n_new, 1);
    assert_int_equal(n_tried, 1);
    assert_int_equal(tc_addrbook_get(ab, "10.1.0.1:1")->tried, 1);
    /* both due: picks alternate new, tried, new, tried */
    tc_netaddr out;
    const char *want[4] = {"10.2.0.1:1", "10.1.0.1:1", "10.2.0.1:1", "10.1.0.1:1"};
    for (int i = 0; i < 4; i++) {
        assert_true(tc_addrbook_next(ab, t, NULL, NULL, &out));
        assert_string_equal(out.s, want[i]);
    }
    /* the table survives a restart */
    assert_true(tc_addrbook_flush(ab) > 0);
    tc_addrbook_free(ab);
    ab = tc_addrbook_new(&st, &err);
    tc_addrbook_counts(ab, &n_new, &n_tried, NULL);
    assert_int_equal(n_new, 1);
    assert_int_equal(n_tried, 1);
    assert_int_equal(tc_addrbook_get(ab, "10.1.0.1:1")->tried, 1);
    /* chain addresses stay through any number of failures; seeds do not */
    assert_int_equal(tc_addrbook_add(ab, "10.3.0.1:1", TC_ADDR_CHAIN, t), 0);
    assert_int_equal(tc_addrbook_add(ab, "10.4.0.1:1", TC_ADDR_SEED, t), 0);
    for (int i = 0; i < 2 * TC_ADDR_MAX_FAILURES; i++) {
        tc_addrbook_failure(ab, "10.3.0.1:1", t);
        tc_addrbook_failure(ab, "10.4.0.1:1", t);
    }
    assert_non_null(tc_addrbook_get(ab, "10.3.0.1:1"));
    assert_null(tc_addrbook_get(ab, "10.4.0.1:1"));
    /* a gossiped address named in the config leaves the tables */
    assert_int_equal(tc_addrbook_add(ab, "10.2.0.1:1", TC_ADDR_CONNECT, t), 0);
    size_t n_anch;
    tc_addrbook_counts(ab, &n_new, &n_tried, &n_anch);
    assert_int_equal(n_new, 0);
    assert_int_equal(n_anch, 2);
    tc_addrbook_free(ab);
    tc_netstore_mem_free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_and_ageing),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_one_source_fills_few_buckets),
        cmocka_unit_test(test_group_cap),
        cmocka_unit_test(test_flood_cannot_evict_other_sources),
        cmocka_unit_test(test_promotion_and_alternation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
