/* devnet init: every file written; genesis parses with N masternodes whose
 * keys are the key files; each time.conf loads with its ports and peers; a
 * second init into the same directory is refused and changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/genesis.h"
#include "node/config.h"
#include "node/datadir.h"
#include "testdir.h"
#include "util/log.h"
#include "wallet/devnet.h"
#include "wallet/wallet.h"
#include "util/file.h"

#define NODES 4
#define BASE 31000

static char dir[64];
static char net_dir[96];

static int setup(void **state)
{
    (void)state;
    if (testdir_make(dir, sizeof dir, "devnet"))
        return -1;
    snprintf(net_dir, sizeof net_dir, "%s/dn", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return testdir_remove(dir);
}

static void path_of(char *out, size_t cap, const char *name, int node)
{
    if (node < 0)
        snprintf(out, cap, "%s/%s", net_dir, name);
    else
        snprintf(out, cap, "%s/node%d/%s", net_dir, node, name);
}

static void assert_mode(const char *path, unsigned mode)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("%s: missing", path);
    assert_int_equal(st.st_mode & 0777, mode);
}

static void test_init_layout(void **state)
{
    (void)state;
    tc_devnet_opts o = {.dir = net_dir, .nodes = NODES, .base_port = BASE};
    tc_devnet_result res;
    tc_errmsg e;
    char p[256];
    assert_int_equal(tc_devnet_init(&o, &res, &e), 0);
    assert_string_equal(res.dir, net_dir); /* already absolute */
    path_of(p, sizeof p, "genesis.json", -1);
    assert_mode(p, 0644);
    path_of(p, sizeof p, "faucet.wallet", -1);
    assert_mode(p, 0600);
    for (int i = 0; i < NODES; i++) {
        path_of(p, sizeof p, "time.conf", i);
        assert_mode(p, 0644);
        path_of(p, sizeof p, "operator.key", i);
        assert_mode(p, 0600);
        path_of(p, sizeof p, "owner.key", i);
        assert_mode(p, 0600);
    }
    path_of(p, sizeof p, "time.conf", NODES);
    assert_int_equal(access(p, F_OK), -1);
}

static void test_genesis_matches_keys(void **state)
{
    (void)state;
    tc_genesis g;
    tc_errmsg e;
    char p[256];
    path_of(p, sizeof p, "genesis.json", -1);
    assert_int_equal(tc_genesis_load(&g, p, &e), 0);
    assert_int_equal(g.chain_id, 3);
    assert_int_equal(g.net->net, TC_NET_DEVNET);
    assert_int_equal(g.n_mn, NODES);
    for (int i = 0; i < NODES; i++) {
        tc_keypair op, owner;
        tc_address reward;
        char want[32];
        path_of(p, sizeof p, "operator.key", i);
        assert_int_equal(tc_keyfile_load(p, false, &op, &e), 0);
        path_of(p, sizeof p, "owner.key", i);
        assert_int_equal(tc_keyfile_load(p, false, &owner, &e), 0);
        assert_memory_equal(g.mn[i].operator_key.b, op.pk.b, 32);
        assert_memory_equal(g.mn[i].owner.b, owner.pk.b, 32);
        tc_address_from_pubkey(&reward, &owner.pk);
        assert_true(tc_address_eq(&g.mn[i].reward, &reward));
        assert_true(g.mn[i].tier >= TC_TIER_BRONZE);
        snprintf(want, sizeof want, "127.0.0.1:%d", BASE + 10 * i);
        assert_string_equal(g.mn[i].netaddr, want);
        tc_keypair_wipe(&op);
        tc_keypair_wipe(&owner);
    }
    /* the faucet wallet holds the key of the one allocation */
    tc_wallet *w;
    path_of(p, sizeof p, "faucet.wallet", -1);
    assert_int_equal(tc_wallet_open(&w, p, NULL, &e), 0);
    assert_false(tc_wallet_is_encrypted(w));
    assert_int_equal(g.n_alloc, 1);
    assert_true(tc_address_eq(&g.alloc[0].addr, tc_wallet_address(w, 0)));
    assert_int_equal(g.alloc[0].value, TC_DEVNET_FAUCET_TIME * TC_COIN);
    tc_wallet_free(w);
    assert_int_equal(g.cp.propose_timeout_ms, 1000);
    assert_int_equal(g.cp.prevote_timeout_ms, 500);
    assert_int_equal(g.cp.block_interval_ms, 1000);
    assert_int_equal(g.cp.activation_delay, 5);
    assert_int_equal(g.cp.jail_after_missed, 30);
    tc_genesis_release(&g);
}

static void test_confs_load(void **state)
{
    (void)state;
    for (int i = 0; i < NODES; i++) {
        char p[256], want[TC_CONFIG_PATH];
        tc_config cfg;
        tc_errmsg e;
        path_of(p, sizeof p, "time.conf", i);
        char *argv[] = {"timed", "--config", p, NULL};
        tc_config_defaults(&cfg);
        if (tc_config_from_args(&cfg, 3, argv, &e) != 0)
            fail_msg("%s", e.msg);
        assert_int_equal(cfg.net->net, TC_NET_DEVNET);
        snprintf(want, sizeof want, "%s/node%d", net_dir, i);
        assert_string_equal(cfg.datadir, want);
        snprintf(want, sizeof want, "%s/genesis.json", net_dir);
        assert_string_equal(cfg.genesis, want);
        snprintf(want, sizeof want, "%s/node%d/operator.key", net_dir, i);
        assert_string_equal(cfg.operator_key, want);
        snprintf(want, sizeof want, "127.0.0.1:%d", BASE + 10 * i);
        assert_string_equal(cfg.listen, want);
        snprintf(want, sizeof want, "127.0.0.1:%d", BASE + 10 * i + 1);
        assert_string_equal(cfg.rpc_listen, want);
        snprintf(want, sizeof want, "127.0.0.1:%d", BASE + 10 * i + 2);
        assert_string_equal(cfg.metrics_listen, want);
        assert_int_equal(cfg.log_format, TC_LOG_LOGFMT);
        assert_int_equal(cfg.n_connect, NODES - 1);
        size_t k = 0;
        for (int j = 0; j < NODES; j++) {
            if (j == i)
                continue;
            snprintf(want, sizeof want, "127.0.0.1:%d", BASE + 10 * j);
            assert_string_equal(cfg.connect[k++], want);
        }
    }
}

static void test_second_init_refused(void **state)
{
    (void)state;
    char p[256], *before, *after;
    size_t n0, n1;
    tc_errmsg e;
    path_of(p, sizeof p, "genesis.json", -1);
    assert_int_equal(tc_file_read(p, 1 << 20, false, &before, &n0, &e), 0);
    tc_devnet_opts o = {.dir = net_dir, .nodes = 2};
    assert_int_equal(tc_devnet_init(&o, NULL, &e), TC_EEXIST);
    assert_non_null(strstr(e.msg, p));
    assert_int_equal(tc_file_read(p, 1 << 20, false, &after, &n1, &e), 0);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
}

/* A leftover key from another layout is refused before anything is written. */
static void test_leftover_refused_nothing_written(void **state)
{
    (void)state;
    char other[128], p[192];
    tc_errmsg e;
    tc_keypair kp;
    snprintf(other, sizeof other, "%s/other", dir);
    snprintf(p, sizeof p, "%s/node1", other);
    assert_int_equal(mkdir(other, 0700), 0);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/node1/owner.key", other);
    tc_keypair_generate(&kp);
    assert_int_equal(tc_keyfile_write(p, &kp, &e), 0);
    tc_keypair_wipe(&kp);
    tc_devnet_opts o = {.dir = other, .nodes = 3};
    assert_int_equal(tc_devnet_init(&o, NULL, &e), TC_EEXIST);
    assert_non_null(strstr(e.msg, "owner.key"));
    snprintf(p, sizeof p, "%s/node0", other);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof p, "%s/faucet.wallet", other);
    assert_int_equal(access(p, F_OK), -1);
}

static void test_bad_options(void **state)
{
    (void)state;
    char p[128];
    tc_errmsg e;
    snprintf(p, sizeof p, "%s/bad", dir);
    tc_devnet_opts o = {.dir = p, .nodes = 0};
    assert_int_equal(tc_devnet_init(&o, NULL, &e), TC_EINVAL);
    o.nodes = TC_DEVNET_MAX_NODES + 1;
    assert_int_equal(tc_devnet_init(&o, NULL, &e), TC_EINVAL);
    o.nodes = 4;
    o.base_port = 65520;
    assert_int_equal(tc_devnet_init(&o, NULL, &e), TC_EINVAL);
    assert_non_null(strstr(e.msg, "65552"));
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof p, "%s/no/such/parent", dir);
    o = (tc_devnet_opts){.dir = p, .nodes = 1};
    assert_int_equal(tc_devnet_init(&o, NULL, &e), TC_EIO);
    assert_non_null(strstr(e.msg, p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_layout),
        cmocka_unit_test(test_genesis_matches_keys),
        cmocka_unit_test(test_confs_load),
        cmocka_unit_test(test_second_init_refused),
        cmocka_unit_test(test_leftover_refused_nothing_written),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests_name("devnet init", tests, setup, teardown);
}
