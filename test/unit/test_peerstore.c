/* Bans and the address book on the node's LMDB store: saved, loaded after a
 * reopen, removed, undecodable records skipped; and a ban set through the P2P
 * API still holds after the store and the P2P endpoint are recreated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/p2p.h"
#include "node/peerstore.h"
#include "util/clock.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tc-peerstore-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return tc_crypto_init();
}

static int teardown(void **state)
{
    (void)state;
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static int count_ban(void *arg, const tc_ban *b)
{
    if (strcmp(b->subject, "10.0.0.9") == 0) {
        assert_int_equal(b->until_ms, 123456789);
        assert_string_equal(b->reason, "bad block");
    }
    (*(int *)arg)++;
    return 0;
}

static int count_addr(void *arg, const tc_addr_rec *a)
{
    assert_string_equal(a->addr.s, "127.0.0.1:24210");
    assert_int_equal(a->source, TC_ADDR_CONNECT);
    assert_int_equal(a->failures, 3);
    (*(int *)arg)++;
    return 0;
}

static void test_round_trip_across_reopen(void **state)
{
    (void)state;
    tc_store *s;
    tc_errmsg e;
    assert_int_equal(tc_store_open(&s, dir, 1 << 26, &e), 0);
    tc_netstore ns = tc_peerstore_iface(s);
    tc_ban b = {.created_ms = 1, .until_ms = 123456789};
    strcpy(b.subject, "10.0.0.9");
    strcpy(b.reason, "bad block");
    assert_int_equal(ns.ban_save(ns.ctx, &b), 0);
    strcpy(b.subject, "key:00ff");
    assert_int_equal(ns.ban_save(ns.ctx, &b), 0);
    tc_addr_rec a = {.source = TC_ADDR_CONNECT, .last_seen = 5, .failures = 3};
    strcpy(a.addr.s, "127.0.0.1:24210");
    assert_int_equal(ns.addr_save(ns.ctx, &a), 0);
    /* an undecodable record is skipped, never fatal */
    tc_txn *t;
    assert_int_equal(tc_store_begin(s, 1, &t), 0);
    assert_int_equal(tc_store_put(t, TC_TB_BANS, "junk", 4, "x", 1), 0);
    assert_int_equal(tc_store_commit(t), 0);
    tc_store_close(s);

    assert_int_equal(tc_store_open(&s, dir, 1 << 26, &e), 0);
    ns = tc_peerstore_iface(s);
    int bans = 0, addrs = 0;
    assert_int_equal(ns.ban_load(ns.ctx, count_ban, &bans), 0);
    assert_int_equal(bans, 2);
    assert_int_equal(ns.addr_load(ns.ctx, count_addr, &addrs), 0);
    assert_int_equal(addrs, 1);
    assert_int_equal(ns.ban_remove(ns.ctx, "key:00ff"), 0);
    assert_int_equal(ns.ban_remove(ns.ctx, "never-there"), 0);
    assert_int_equal(ns.addr_remove(ns.ctx, "127.0.0.1:24210"), 0);
    bans = addrs = 0;
    assert_int_equal(ns.ban_load(ns.ctx, count_ban, &bans), 0);
    assert_int_equal(ns.addr_load(ns.ctx, count_addr, &addrs), 0);
    assert_int_equal(bans, 1);
    assert_int_equal(addrs, 0);
    tc_store_close(s);
}

static tc_p2p *endpoint(struct event_base *base, const tc_netstore *ns, const tc_keypair *kp)
{
    tc_p2p_config pc;
    tc_p2p_config_default(&pc);
    pc.node_key = kp;
    pc.chain_id = 3;
    pc.listen = NULL;
    pc.store = ns;
    int err;
    tc_p2p *p = tc_p2p_new(base, &pc, &err);
    assert_non_null(p);
    return p;
}

static void test_setban_survives_restart(void **state)
{
    (void)state;
    char sub[96];
    snprintf(sub, sizeof sub, "%s/second", dir);
    tc_keypair kp;
    tc_keypair_generate(&kp);
    struct event_base *base = event_base_new();
    tc_store *s;
    tc_errmsg e;
    assert_int_equal(tc_store_open(&s, sub, 1 << 26, &e), 0);
    tc_netstore ns = tc_peerstore_iface(s);
    tc_p2p *p = endpoint(base, &ns, &kp);
    assert_int_equal(tc_p2p_setban(p, "203.0.113.7", 3600 * 1000, "test"), 0);
    assert_true(tc_p2p_is_banned(p, "203.0.113.7"));
    tc_p2p_free(p);
    tc_store_close(s);

    assert_int_equal(tc_store_open(&s, sub, 1 << 26, &e), 0);
    ns = tc_peerstore_iface(s);
    p = endpoint(base, &ns, &kp);
    assert_true(tc_p2p_is_banned(p, "203.0.113.7"));
    assert_false(tc_p2p_is_banned(p, "203.0.113.8"));
    tc_ban *list;
    size_t n = tc_p2p_listbanned(p, &list);
    assert_int_equal(n, 1);
    assert_true(list[0].until_ms > tc_clock_wall_ms());
    free(list);
    tc_p2p_free(p);
    tc_store_close(s);
    event_base_free(base);
    tc_keypair_wipe(&kp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_across_reopen),
        cmocka_unit_test(test_setban_survives_restart),
    };
    return cmocka_run_group_tests_name("peerstore", tests, setup, teardown);
}
