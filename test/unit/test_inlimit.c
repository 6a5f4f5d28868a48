/* net/netgroup and net/inlimit: source groups, and admission of new inbound
 * connections per group before the total, on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/inlimit.h"
#include "net/netgroup.h"

static tc_netgroup group(const char *ip)
{
    tc_netgroup g;
    if (tc_netgroup_of(&g, ip, TC_NETGROUP_V4_BITS, TC_NETGROUP_V6_BITS) != 0)
        fail_msg("not an IP: %s", ip);
    return g;
}

static void test_groups(void **state)
{
    (void)state;
    char t[64];
    tc_netgroup a = group("10.1.2.3"), b = group("10.1.2.250"), c = group("10.1.3.3");
    assert_true(tc_netgroup_eq(&a, &b));
    assert_false(tc_netgroup_eq(&a, &c));
    assert_string_equal(tc_netgroup_text(&a, t, sizeof t), "10.1.2.0/24");
    tc_netgroup m = group("::ffff:10.1.2.77"); /* v4-mapped is the IPv4 address */
    assert_true(tc_netgroup_eq(&a, &m));
    tc_netgroup v6a = group("2001:db8:1:2:aaaa::1"), v6b = group("2001:db8:1:2:ffff::9"),
                v6c = group("2001:db8:1:3::1");
    assert_true(tc_netgroup_eq(&v6a, &v6b));
    assert_false(tc_netgroup_eq(&v6a, &v6c));
    assert_string_equal(tc_netgroup_text(&v6a, t, sizeof t), "2001:db8:1:2::/64");
    tc_netgroup l0 = group("127.0.0.1"), l1 = group("127.0.1.1");
    assert_false(tc_netgroup_eq(&l0, &l1));
    /* other prefix lengths, for address buckets */
    tc_netgroup w;
    assert_int_equal(tc_netgroup_of(&w, "10.1.200.3", 16, 32), 0);
    assert_string_equal(tc_netgroup_text(&w, t, sizeof t), "10.1.0.0/16");
    assert_int_equal(tc_netgroup_of(&w, "10.1.2.3", 33, 64), TC_ENET_ADDR);
    assert_int_equal(tc_netgroup_of(&w, "host.example", 24, 64), TC_ENET_ADDR);
    assert_int_equal(tc_netgroup_of(&w, "10.1.2.3:80", 24, 64), TC_ENET_ADDR);
    assert_int_equal(tc_netgroup_of(&w, NULL, 24, 64), TC_ENET_ADDR);
}

/* One flooding group never spends the total: a second group still gets in
 * while the first is refused, and the flood is recognised as abuse. */
static void test_flood_leaves_room_for_others(void **state)
{
    (void)state;
    tc_inlimit *l = tc_inlimit_new(30, 8);
    tc_netgroup bad = group("127.0.1.1"), good = group("127.0.0.1");
    uint64_t now = 1000;
    int admitted = 0, refused = 0;
    for (int i = 0; i < 5000; i++, now += 2) { /* 500 attempts a second for 10 s */
        enum tc_inlimit_verdict v = tc_inlimit_admit(l, &bad, now);
        if (v == TC_INLIMIT_ADMIT)
            admitted++;
        else {
            assert_int_equal(v, TC_INLIMIT_GROUP_RATE);
            refused++;
        }
    }
    /* burst 4, then 8 a minute: 4 + 8 * 10/60 */
    assert_in_range(admitted, 4, 6);
    assert_true(tc_inlimit_abusive(l, &bad, now));
    for (int i = 0; i < 4; i++)
        assert_int_equal(tc_inlimit_admit(l, &good, now), TC_INLIMIT_ADMIT);
    assert_false(tc_inlimit_abusive(l, &good, now));
    assert_int_equal(tc_inlimit_admit(l, &good, now), TC_INLIMIT_GROUP_RATE);
    /* a trusted source of the flooding group still gets in: total only */
    assert_int_equal(tc_inlimit_admit(l, NULL, now), TC_INLIMIT_ADMIT);
    /* a minute later the refusal count starts over */
    assert_false(tc_inlimit_abusive(l, &bad, now + 60000));
    tc_inlimit_free(l);
    tc_inlimit_free(NULL);
}

/* Many groups together can still spend the total (at most per_minute in any
 * 60 s); a refusal for the total is not the group's fault. */
static void test_total_and_share(void **state)
{
    (void)state;
    tc_inlimit *l = tc_inlimit_new(10, 100); /* a group gets at most half: 5 */
    tc_netgroup a = group("10.0.0.1");
    int n = 0;
    while (tc_inlimit_admit(l, &a, 5) == TC_INLIMIT_ADMIT)
        n++;
    assert_int_equal(n, 4); /* burst min(4, 5) */
    char ip[32];
    int others = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(ip, sizeof ip, "10.0.%d.1", i + 1);
        tc_netgroup g = group(ip);
        enum tc_inlimit_verdict v = tc_inlimit_admit(l, &g, 10);
        if (v == TC_INLIMIT_ADMIT)
            others++;
        else
            assert_int_equal(v, TC_INLIMIT_TOTAL_RATE);
        assert_false(tc_inlimit_abusive(l, &g, 10));
    }
    assert_int_equal(others, 6); /* 10 in total */
    assert_int_equal(tc_inlimit_admit(l, NULL, 10), TC_INLIMIT_TOTAL_RATE); /* trusted: total only */
    tc_netgroup z = group("10.9.9.9");
    assert_int_equal(tc_inlimit_admit(l, &z, 60004), TC_INLIMIT_TOTAL_RATE);
    assert_int_equal(tc_inlimit_admit(l, &z, 60005), TC_INLIMIT_ADMIT);
    tc_inlimit_free(l);

    /* no limits at all */
    l = tc_inlimit_new(0, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(tc_inlimit_admit(l, &a, 1), TC_INLIMIT_ADMIT);
    /* caller-decided refusals still count */
    for (int i = 0; i < 21; i++)
        tc_inlimit_refused(l, &a, 2);
    assert_true(tc_inlimit_abusive(l, &a, 3));
    tc_inlimit_free(l);
}

/* Memory is bounded however many groups show up. */
static void test_bounded_groups(void **state)
{
    (void)state;
    tc_inlimit *l = tc_inlimit_new(0, 8);
    char ip[64];
    for (uint32_t i = 0; i < 3 * TC_INLIMIT_MAX_GROUPS; i++) {
        snprintf(ip, sizeof ip, "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
        tc_netgroup g = group(ip);
        tc_inlimit_admit(l, &g, 100 + i / 100);
        assert_true(tc_inlimit_groups(l) <= TC_INLIMIT_MAX_GROUPS);
    }
    /* idle groups are forgotten once the table is full again */
    tc_netgroup g = group("10.0.0.1");
    assert_int_equal(tc_inlimit_admit(l, &g, 1000000), TC_INLIMIT_ADMIT);
    assert_true(tc_inlimit_groups(l) < 10);
    tc_inlimit_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_flood_leaves_room_for_others),
        cmocka_unit_test(test_total_and_share),
        cmocka_unit_test(test_bounded_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
