/* Ban list: expiry under a fake clock, persistence through the in-memory
 * netstore across a "restart", the API edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "net/banlist.h"
#include "net/sockaddr.h"

#define HOUR (3600ull * 1000)

static void test_expiry(void **state)
{
    (void)state;
    uint64_t t = 1700000000000ull;
    int err;
    tc_banlist *bl = tc_banlist_new(NULL, t, &err);
    assert_non_null(bl);
    assert_int_equal(err, 0);
    assert_int_equal(tc_banlist_add(bl, "10.1.2.3", t, t + TC_BAN_DEFAULT_MS, "bad frame"), 0);
    assert_true(tc_banlist_is_banned(bl, "10.1.2.3", t));
    assert_true(tc_banlist_is_banned(bl, "10.1.2.3", t + TC_BAN_DEFAULT_MS - 1));
    assert_false(tc_banlist_is_banned(bl, "10.1.2.4", t));
    assert_false(tc_banlist_is_banned(bl, "10.1.2.3", t + TC_BAN_DEFAULT_MS));
    /* dropped once expired */
    tc_ban *list;
    assert_int_equal(tc_banlist_list(bl, t, &list), 0);
    assert_null(list);
    tc_banlist_free(bl);
}

static void test_longer_ban_wins(void **state)
{
    (void)state;
    int err;
    tc_banlist *bl = tc_banlist_new(NULL, 0, &err);
    assert_int_equal(tc_banlist_add(bl, "a", 0, 10 * HOUR, "long"), 0);
    assert_int_equal(tc_banlist_add(bl, "a", 0, 1 * HOUR, "short"), 0);
    assert_true(tc_banlist_is_banned(bl, "a", 5 * HOUR));
    assert_int_equal(tc_banlist_add(bl, "a", 0, 20 * HOUR, "longer"), 0);
    tc_ban *list;
    assert_int_equal(tc_banlist_list(bl, 0, &list), 1);
    assert_string_equal(list[0].reason, "longer");
    assert_int_equal(list[0].until_ms, 20 * HOUR);
    free(list);
    assert_int_equal(tc_banlist_remove(bl, "a"), 0);
    assert_int_equal(tc_banlist_remove(bl, "a"), TC_ENOTFOUND);
    assert_false(tc_banlist_is_banned(bl, "a", 0));
    assert_int_equal(tc_banlist_add(bl, "", 0, HOUR, NULL), TC_EINVAL);
    char longs[TC_BAN_SUBJECT_MAX + 1];
    memset(longs, 'x', sizeof longs - 1);
    longs[TC_BAN_SUBJECT_MAX] = 0;
    assert_int_equal(tc_banlist_add(bl, longs, 0, HOUR, NULL), TC_EINVAL);
    tc_banlist_free(bl);
    tc_banlist_free(NULL);
}

static void test_persists_across_restart(void **state)
{
    (void)state;
    tc_netstore_mem *mem = tc_netstore_mem_new();
    tc_netstore st = tc_netstore_mem_iface(mem);
    uint64_t t = 1000 * HOUR;
    int err;
    tc_banlist *bl = tc_banlist_new(&st, t, &err);
    assert_non_null(bl);
    tc_pubkey k;
    memset(k.b, 0xab, 32);
    char subj[TC_BAN_SUBJECT_MAX];
    tc_ban_subject_key(subj, &k);
    assert_int_equal(strlen(subj), 4 + 64);
    assert_memory_equal(subj, "key:abab", 8);
    assert_int_equal(tc_banlist_add(bl, subj, t, t + 24 * HOUR, "bad signature"), 0);
    assert_int_equal(tc_banlist_add(bl, "127.0.0.9", t, t + 1 * HOUR, "garbage"), 0);
    assert_int_equal(tc_banlist_add(bl, "::1", t, t + 2 * HOUR, "garbage"), 0);
    assert_int_equal(tc_netstore_mem_ban_count(mem), 3);
    assert_int_equal(tc_banlist_remove(bl, "::1"), 0);
    assert_int_equal(tc_netstore_mem_ban_count(mem), 2);
    tc_banlist_free(bl);

    /* restart 90 minutes later: the IP ban has expired and is deleted */
    t += 90 * 60 * 1000;
    bl = tc_banlist_new(&st, t, &err);
    assert_non_null(bl);
    assert_int_equal(tc_netstore_mem_ban_count(mem), 1);
    assert_true(tc_banlist_is_banned(bl, subj, t));
    assert_false(tc_banlist_is_banned(bl, "127.0.0.9", t));
    tc_ban *list;
    assert_int_equal(tc_banlist_list(bl, t, &list), 1);
    assert_string_equal(list[0].reason, "bad signature");
    free(list);
    /* sweeping after the key ban expires empties the store too */
    assert_int_equal(tc_banlist_sweep(bl, t + 24 * HOUR), 1);
    assert_int_equal(tc_netstore_mem_ban_count(mem), 0);
    assert_int_equal(tc_banlist_add(bl, "x", t, t + HOUR, NULL), 0);
    assert_int_equal(tc_banlist_clear(bl), 0);
    assert_int_equal(tc_netstore_mem_ban_count(mem), 0);
    tc_banlist_free(bl);
    tc_netstore_mem_free(mem);
}

static int failing_load(void *ctx, tc_ban_visit fn, void *arg)
{
    (void)ctx;
    (void)fn;
    (void)arg;
    return TC_ESTORE;
}

/* Subjects: IPs and node keys in any spelling, made canonical; nothing else. */
static void test_subject_parse(void **state)
{
    (void)state;
    char out[TC_BAN_SUBJECT_MAX];
    static const char *const good[][2] = {
        {"203.0.113.5", "203.0.113.5"},
        {"2001:DB8:0:0::7", "2001:db8::7"},
        {"::1", "::1"},
        {"::ffff:203.0.113.5", "203.0.113.5"}, /* IPv4-mapped: the IPv4 host */
        {"::FFFF:cb00:7105", "203.0.113.5"},
        {"key:ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB",
         "key:abababababababababababababababababababababababababababababababab"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_int_equal(tc_ban_subject_parse(out, good[i][0]), 0);
        assert_string_equal(out, good[i][1]);
    }
    static const char *const bad[] = {"", "x", "999.1.1.1", "1.2.3", "1.2.3.4:80", "[::1]", "10.0.0.0/8",
                                      "host.example", " 1.2.3.4", "key:", "key:abab", "KEY:" "ab"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(tc_ban_subject_parse(out, bad[i]), TC_EINVAL);
        assert_string_equal(out, "");
    }
}

/* clearbanned empties the store, also of bans the list never loaded. */
static void test_clear_store(void **state)
{
    (void)state;
    tc_netstore_mem *mem = tc_netstore_mem_new();
    tc_netstore st = tc_netstore_mem_iface(mem);
    tc_ban b;
    memset(&b, 0, sizeof b);
    strcpy(b.subject, "10.0.0.1");
    b.until_ms = 10 * HOUR;
    assert_int_equal(st.ban_save(st.ctx, &b), 0);
    strcpy(b.subject, "10.0.0.2");
    assert_int_equal(st.ban_save(st.ctx, &b), 0);
    int err;
    tc_banlist *bl = tc_banlist_new(&st, HOUR, &err);
    assert_non_null(bl);
    strcpy(b.subject, "10.0.0.3"); /* stored behind the list's back */
    assert_int_equal(st.ban_save(st.ctx, &b), 0);
    assert_int_equal(tc_netstore_mem_ban_count(mem), 3);
    assert_int_equal(tc_banlist_clear(bl), 0);
    assert_int_equal(tc_netstore_mem_ban_count(mem), 0);
    assert_false(tc_banlist_is_banned(bl, "10.0.0.1", HOUR));
    tc_banlist_free(bl);
    tc_netstore_mem_free(mem);
}

static void test_store_failure(void **state)
{
    (void)state;
    tc_netstore_mem *mem = tc_netstore_mem_new();
    tc_netstore st = tc_netstore_mem_iface(mem);
    st.ban_load = failing_load;
    int err;
    assert_null(tc_banlist_new(&st, 0, &err));
    assert_int_equal(err, TC_ESTORE);
    tc_netstore_mem_free(mem);
}

static void test_netstore_mem_addrs(void **state)
{
    (void)state;
    tc_netstore_mem *mem = tc_netstore_mem_new();
    tc_netstore st = tc_netstore_mem_iface(mem);
    tc_addr_rec a = {.source = TC_ADDR_GOSSIP, .last_seen = 5};
    assert_int_equal(tc_netaddr_set(&a.addr, "127.0.0.1:1"), 0);
    assert_int_equal(st.addr_save_batch(st.ctx, &a, 1, NULL, 0), 0);
    a.failures = 3;
    assert_int_equal(st.addr_save_batch(st.ctx, &a, 1, NULL, 0), 0); /* replaces */
    assert_int_equal(tc_netstore_mem_addr_count(mem), 1);
    /* removals apply before the records of the same batch */
    assert_int_equal(st.addr_save_batch(st.ctx, &a, 1, &a.addr, 1), 0);
    assert_int_equal(tc_netstore_mem_addr_count(mem), 1);
    assert_int_equal(st.addr_save_batch(st.ctx, NULL, 0, &a.addr, 1), 0);
    assert_int_equal(tc_netstore_mem_addr_count(mem), 0);
    assert_int_equal(tc_netstore_mem_batches(mem), 4);
    tc_netstore_mem_free(mem);
}

/* A dual-stack listener sees an IPv4 client as ::ffff:a.b.c.d: the link is
 * named by the IPv4 address, the subject a ban of that host is stored under. */
static void test_mapped_connection(void **state)
{
    (void)state;
    struct sockaddr_in6 in6;
    memset(&in6, 0, sizeof in6);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(24100);
    assert_int_equal(inet_pton(AF_INET6, "::ffff:203.0.113.5", &in6.sin6_addr), 1);
    char ip[INET6_ADDRSTRLEN], addr[INET6_ADDRSTRLEN + 8], subject[TC_BAN_SUBJECT_MAX];
    tc_sockaddr_text((struct sockaddr *)&in6, ip, sizeof ip, addr, sizeof addr);
    assert_string_equal(ip, "203.0.113.5");
    assert_string_equal(addr, "203.0.113.5:24100");
    assert_int_equal(tc_ban_subject_parse(subject, "203.0.113.5"), 0);
    assert_string_equal(subject, ip);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", &in6.sin6_addr), 1); /* control: IPv6 stays IPv6 */
    tc_sockaddr_text((struct sockaddr *)&in6, ip, sizeof ip, addr, sizeof addr);
    assert_string_equal(ip, "2001:db8::7");
    assert_string_equal(addr, "[2001:db8::7]:24100");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_longer_ban_wins),
        cmocka_unit_test(test_persists_across_restart),
        cmocka_unit_test(test_store_failure),
        cmocka_unit_test(test_subject_parse),
        cmocka_unit_test(test_mapped_connection),
        cmocka_unit_test(test_clear_store),
        cmocka_unit_test(test_netstore_mem_addrs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
