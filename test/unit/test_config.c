/* Configuration: file and flags, defaults, every rejection with file:line and
 * a hint, and docs/config.md naming every key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/route.h"
#include "node/config.h"
#include "testdir.h"
#include "util/log.h"

static char path[64];

static void write_conf(const char *text)
{
    snprintf(path, sizeof path, "/tmp/tc-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int run(tc_config *cfg, tc_errmsg *e, int argc, char **argv)
{
    tc_config_defaults(cfg);
    return tc_config_from_args(cfg, argc, argv, e);
}

static void test_file_and_flags(void **state)
{
    (void)state;
    write_conf("# a devnet node\n"
               "network = devnet\n"
               "datadir = /tmp/tc-node0\n"
               "[main]\n"
               "listen = 127.0.0.1:24200 ; inline comment\n"
               "connect = 127.0.0.1:24210\n"
               "connect = 127.0.0.1:24220\n"
               "max-inbound = 5\n"
               "log-format = json\n");
    tc_config cfg;
    tc_errmsg e;
    char *argv[] = {"timed", "--max-inbound", "7", "--config", path, "--rpc-listen=127.0.0.1:1", "--log-level", "debug"};
    if (run(&cfg, &e, 8, argv))
        fail_msg("%s", e.msg);
    assert_string_equal(cfg.net->name, "devnet");
    assert_string_equal(cfg.datadir, "/tmp/tc-node0");
    assert_string_equal(cfg.listen, "127.0.0.1:24200");
    assert_int_equal(cfg.n_connect, 2);
    assert_string_equal(cfg.connect[1], "127.0.0.1:24220");
    assert_int_equal(cfg.max_inbound, 7); /* the flag beats the file, wherever it stands */
    assert_string_equal(cfg.rpc_listen, "127.0.0.1:1");
    assert_int_equal(cfg.log_level, TC_LOG_DEBUG);
    assert_int_equal(cfg.log_format, TC_LOG_JSON);
    /* derived defaults */
    assert_string_equal(cfg.genesis, "/tmp/tc-node0/genesis.json");
    assert_string_equal(cfg.operator_key, "/tmp/tc-node0/operator.key");
    assert_string_equal(cfg.metrics_listen, "127.0.0.1:24202");
    assert_int_equal(cfg.mempool_max_txs, 10000);
    assert_int_equal(cfg.block_interval_ms, -1);
    unlink(path);
}

static void test_network_defaults(void **state)
{
    (void)state;
    tc_config cfg;
    tc_errmsg e;
    char *argv[] = {"timed", "--network", "mainnet", "--datadir", "/x"};
    assert_int_equal(run(&cfg, &e, 5, argv), 0);
    assert_string_equal(cfg.listen, "0.0.0.0:24000");
    assert_string_equal(cfg.rpc_listen, "127.0.0.1:24001");
    assert_string_equal(cfg.metrics_listen, "127.0.0.1:24002");
}

static void expect_file_error(const char *text, const char *needle)
{
    write_conf(text);
    tc_config cfg;
    tc_errmsg e = {""};
    char *argv[] = {"timed", "--config", path};
    int err = run(&cfg, &e, 3, argv);
    unlink(path);
    if (err != TC_ECONFIG)
        fail_msg("expected TC_ECONFIG for \"%s\", got %s (%s)", text, tc_errname(err), e.msg);
    char want[256];
    snprintf(want, sizeof want, "%s:%s", path, needle);
    if (strstr(e.msg, want) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, want);
}

static void test_file_errors_name_line_and_hint(void **state)
{
    (void)state;
    expect_file_error("network = devnet\nrpc_listen = 127.0.0.1:1\n",
                      "2: unknown key \"rpc_listen\" (did you mean \"rpc-listen\"?)");
    expect_file_error("\n\nmax-inbound = lots\n", "3: max-inbound: expected a whole number from 0 to 10000, got \"lots\"");
    expect_file_error("max-inbound = 10001\n", "1: max-inbound: expected a whole number");
    expect_file_error("max-inbound = -1\n", "1: max-inbound: expected a whole number");
    expect_file_error("rpc-listen = 127.0.0.1\n", "1: rpc-listen: expected host:port");
    expect_file_error("metrics-listen = 127.0.0.1:70000\n", "1: metrics-listen: expected host:port");
    expect_file_error("network = moonnet\n", "1: network: expected mainnet, testnet or devnet");
    expect_file_error("log-level = loud\n", "1: log-level: expected debug, info");
    expect_file_error("[devnet]\nlisten = 1.2.3.4:5\n", "2: section [devnet] is not known");
    expect_file_error("just some words\n", "1: expected \"key = value\"");
    expect_file_error("completelyunrelated = 1\n", "1: unknown key \"completelyunrelated\" (the keys are listed");
}

static void test_flag_errors(void **state)
{
    (void)state;
    tc_config cfg;
    tc_errmsg e;
    char *a1[] = {"timed", "--max-inbund", "3"};
    assert_int_equal(run(&cfg, &e, 3, a1), TC_ECONFIG);
    assert_non_null(strstr(e.msg, "did you mean \"max-inbound\""));
    char *a2[] = {"timed", "--listen"};
    assert_int_equal(run(&cfg, &e, 2, a2), TC_ECONFIG);
    assert_non_null(strstr(e.msg, "--listen: expects a value"));
    char *a3[] = {"timed", "stray"};
    assert_int_equal(run(&cfg, &e, 2, a3), TC_ECONFIG);
    assert_non_null(strstr(e.msg, "stray: unexpected argument"));
    char *a4[] = {"timed", "--config", "/nonexistent/time.conf"};
    assert_int_equal(run(&cfg, &e, 3, a4), TC_EIO);
    assert_non_null(strstr(e.msg, "/nonexistent/time.conf"));
    char *a5[] = {"timed", "--rpcuser", "u", "--datadir", "/x"};
    assert_int_equal(run(&cfg, &e, 5, a5), TC_ECONFIG);
    assert_non_null(strstr(e.msg, "rpcuser and rpcpassword"));
}

/* connect, addnode and seednode take only what the P2P layer can dial
 * without DNS, and listen only what it can bind (and advertise); a host name
 * stops the start instead of a silent no-op or a late failure. */
static void test_peer_addresses_are_numeric(void **state)
{
    (void)state;
    static const char *const lists[] = {"connect", "addnode", "seednode", "listen", "external-address"};
    static const char *const bad[] = {
        "example.com:9000", "localhost:9000", "127.0.0.1",  "[::1]",   "127.0.0.1:0",
        "127.0.0.1:65536",  "::1:9000",       "1.2.3:9000", "[::1]:-1",
    };
    tc_config cfg;
    tc_errmsg e = {""};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        char flag[32], text[128];
        snprintf(flag, sizeof flag, "--%s", lists[i]);
        bool repeatable = i < 3; /* connect, addnode, seednode */
        char *ok[] = {"timed", "--datadir", "/x", flag, "127.0.0.1:9000", flag, "[::1]:9000"};
        if (run(&cfg, &e, repeatable ? 7 : 5, ok))
            fail_msg("%s", e.msg);
        if (repeatable)
            snprintf(text, sizeof text, "%s = 10.1.2.3:24100\n%s = [2001:db8::1]:24100\n", lists[i], lists[i]);
        else
            snprintf(text, sizeof text, "%s = [2001:db8::1]:24100\n", lists[i]);
        write_conf(text);
        char *file[] = {"timed", "--datadir", "/x", "--config", path};
        int err = run(&cfg, &e, 5, file);
        unlink(path);
        if (err)
            fail_msg("%s", e.msg);
        for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
            char *a[] = {"timed", "--datadir", "/x", flag, (char *)bad[j]};
            char want[128];
            assert_int_equal(run(&cfg, &e, 5, a), TC_ECONFIG);
            snprintf(want, sizeof want, "%s: %s: \"%s\" is not a numeric ip:port", flag, lists[i], bad[j]);
            if (strstr(e.msg, want) == NULL || strstr(e.msg, "host names are not resolved") == NULL)
                fail_msg("message \"%s\" lacks \"%s\" and the reason", e.msg, want);
            snprintf(text, sizeof text, "network = devnet\n%s = %s\n", lists[i], bad[j]);
            snprintf(want, sizeof want, "2: %s: \"%s\" is not a numeric ip:port", lists[i], bad[j]);
            expect_file_error(text, want);
        }
    }
}

static void write_conf_n(const char *text, size_t len)
{
    snprintf(path, sizeof path, "/tmp/tc-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static void expect_error_has(int argc, char **argv, const char *needle)
{
    tc_config cfg;
    tc_errmsg e = {""};
    int err = run(&cfg, &e, argc, argv);
    if (err != TC_ECONFIG)
        fail_msg("expected TC_ECONFIG with \"%s\", got %s (%s)", needle, tc_errname(err), e.msg);
    if (strstr(e.msg, needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, needle);
}

/* The mistakes an operator makes first (issue 16): each stops the start
 * with what is wrong and where, none is read as something else. */
static void test_front_door_errors(void **state)
{
    (void)state;
    /* a NUL byte in a line: refused at its line and column, not truncated */
    static const char nul[] = "network = devnet\nrpcpassword = se\0cret\n";
    write_conf_n(nul, sizeof nul - 1);
    char *argv[] = {"timed", "--config", path};
    expect_error_has(3, argv, ":2: a NUL byte at column 17");
    unlink(path);
    /* a 10,000-character value: reported at its own line, the only one */
    static char longline[10100];
    int n = snprintf(longline, sizeof longline, "# first\nrpcpassword = ");
    memset(longline + n, 'x', 10000);
    memcpy(longline + n + 10000, "\n", 2);
    write_conf(longline);
    expect_error_has(3, argv, ":2: longer than 198 characters");
    unlink(path);
    /* a single-value key twice in the file, or as a flag twice */
    write_conf("max-inbound = 5\nlog-level = debug\nmax-inbound = 6\n");
    expect_error_has(3, argv, ":3: max-inbound: given twice");
    unlink(path);
    char *twice[] = {"timed", "--datadir", "/x", "--max-inbound", "5", "--max-inbound=6"};
    expect_error_has(6, twice, "--max-inbound: given twice");
    /* --config of a directory: named as such, never read as an empty file */
    char *dir[] = {"timed", "--config", "/tmp"};
    expect_error_has(3, dir, "/tmp: not a regular file");
    /* an rpcuser with ':' would split user from password at bind time */
    char *user[] = {"timed", "--datadir", "/x", "--rpcuser", "a:b", "--rpcpassword", "p"};
    expect_error_has(7, user, "--rpcuser: rpcuser: may not contain ':'");
    /* devnet overrides are refused on other networks */
    char *bi[] = {"timed", "--datadir", "/x", "--network", "mainnet", "--block-interval-ms", "0"};
    expect_error_has(7, bi, "block-interval-ms: a devnet override; on mainnet");
    char *pt[] = {"timed", "--datadir", "/x", "--network", "testnet", "--prevote-timeout-ms", "50"};
    expect_error_has(7, pt, "prevote-timeout-ms: a devnet override; on testnet");
    tc_config cfg;
    tc_errmsg e = {""};
    char *dev[] = {"timed", "--datadir", "/x", "--block-interval-ms", "0", "--propose-timeout-ms", "50"};
    if (run(&cfg, &e, 7, dev))
        fail_msg("%s", e.msg);
    assert_false(cfg.network_given);
    char *net[] = {"timed", "--datadir", "/x", "--network", "devnet"};
    assert_int_equal(run(&cfg, &e, 5, net), 0);
    assert_true(cfg.network_given);
}

/* With no --datadir the default's parent (~/.timecoin) is created, so a
 * first start on a fresh machine does not fail on a missing parent. */
static void test_default_datadir_parent(void **state)
{
    (void)state;
    char home[] = "/tmp/tc-home-XXXXXX";
    assert_non_null(mkdtemp(home));
    const char *old = getenv("HOME");
    char *saved = old ? strdup(old) : NULL;
    setenv("HOME", home, 1);
    tc_config cfg;
    tc_errmsg e = {""};
    char *argv[] = {"timed", "--network", "testnet"};
    int err = run(&cfg, &e, 3, argv);
    char want[128], parent[128];
    snprintf(want, sizeof want, "%s/.timecoin/testnet", home);
    snprintf(parent, sizeof parent, "%s/.timecoin", home);
    bool made = access(parent, F_OK) == 0;
    rmdir(parent);
    rmdir(home);
    if (saved) {
        setenv("HOME", saved, 1);
        free(saved);
    }
    assert_int_equal(err, 0);
    assert_string_equal(cfg.datadir, want);
    assert_true(made);
}

static void test_docs_name_every_key(void **state)
{
    (void)state;
    FILE *f = fopen("docs/config.md", "r");
    assert_non_null(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    for (size_t i = 0; i < tc_config_key_count(); i++) {
        char cell[80];
        snprintf(cell, sizeof cell, "| `%s` |", tc_config_key_name(i));
        if (strstr(doc, cell) == NULL)
            fail_msg("docs/config.md has no row for key \"%s\"", tc_config_key_name(i));
    }
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* time-cli's view of a local node: rpc-listen of its time.conf (wildcards
 * mean loopback, [v6] unbracketed) and the cookie, with clear errors. */
static void test_rpc_target_of_datadir(void **state)
{
    (void)state;
    char dir[64];
    assert_int_equal(testdir_make(dir, sizeof dir, "rpct"), 0);
    tc_rpc_target t;
    tc_errmsg e = {""};
    assert_int_equal(tc_config_rpc_target(&t, dir, &e), TC_EIO); /* no cookie yet */
    assert_non_null(strstr(e.msg, "/.cookie: cannot read the RPC cookie"));

    put_file(dir, ".cookie", "__cookie__:s3cret\n");
    assert_int_equal(tc_config_rpc_target(&t, dir, &e), 0); /* no time.conf: devnet default */
    assert_string_equal(t.host, "127.0.0.1");
    tc_config d;
    tc_config_defaults(&d);
    assert_int_equal(t.port, d.net->rpc_port);
    assert_string_equal(t.auth, "__cookie__:s3cret");

    put_file(dir, "time.conf", "rpc-listen = 0.0.0.0:24999\n");
    assert_int_equal(tc_config_rpc_target(&t, dir, &e), 0);
    assert_string_equal(t.host, "127.0.0.1");
    assert_int_equal(t.port, 24999);
    put_file(dir, "time.conf", "rpc-listen = [::]:25000\n");
    assert_int_equal(tc_config_rpc_target(&t, dir, &e), 0);
    assert_string_equal(t.host, "::1");
    assert_int_equal(t.port, 25000);
    put_file(dir, "time.conf", "rpc-listen = [::1]:25001\n");
    assert_int_equal(tc_config_rpc_target(&t, dir, &e), 0);
    assert_string_equal(t.host, "::1");

    put_file(dir, ".cookie", "no colon here\n");
    assert_int_equal(tc_config_rpc_target(&t, dir, &e), TC_EIO);
    assert_non_null(strstr(e.msg, "/.cookie: not a cookie file"));
    assert_string_equal(t.auth, "");
    put_file(dir, "time.conf", "rpc-listen = nonsense\n");
    assert_int_equal(tc_config_rpc_target(&t, dir, &e), TC_ECONFIG);
    assert_non_null(strstr(e.msg, "time.conf:1"));
    assert_int_equal(testdir_remove(dir), 0);
}

/* What the node advertises: external-address, else a specific listen
 * address, never a wildcard (nobody can dial 0.0.0.0). */
static void test_advertised_address(void **state)
{
    (void)state;
    tc_config cfg;
    tc_errmsg e = {""};
    char *def[] = {"timed", "--datadir", "/x", "--network", "testnet"};
    assert_int_equal(run(&cfg, &e, 5, def), 0);
    assert_string_equal(cfg.listen, "0.0.0.0:24100");
    assert_null(tc_config_advertise(&cfg));
    assert_int_equal(cfg.inbound_per_minute_per_group, 8);
    char *v6[] = {"timed", "--datadir", "/x", "--listen", "[::]:24100"};
    assert_int_equal(run(&cfg, &e, 5, v6), 0);
    assert_null(tc_config_advertise(&cfg));
    char *v6b[] = {"timed", "--datadir", "/x", "--listen", "[0:0::0]:24100"};
    assert_int_equal(run(&cfg, &e, 5, v6b), 0);
    assert_null(tc_config_advertise(&cfg));
    char *spec[] = {"timed", "--datadir", "/x", "--listen", "10.0.0.7:24100"};
    assert_int_equal(run(&cfg, &e, 5, spec), 0);
    assert_string_equal(tc_config_advertise(&cfg), "10.0.0.7:24100");
    char *ext[] = {"timed", "--datadir", "/x", "--external-address", "203.0.113.5:24000"};
    assert_int_equal(run(&cfg, &e, 5, ext), 0);
    assert_string_equal(tc_config_advertise(&cfg), "203.0.113.5:24000");
    assert_string_equal(cfg.listen, "0.0.0.0:24200"); /* still binds the wildcard */
    char *ext6[] = {"timed", "--datadir", "/x", "--listen", "127.0.0.1:9", "--external-address", "[2001:db8::5]:24000"};
    assert_int_equal(run(&cfg, &e, 7, ext6), 0);
    assert_string_equal(tc_config_advertise(&cfg), "[2001:db8::5]:24000");
    /* a wildcard is never an external address */
    static const char *const wild[] = {"0.0.0.0:24000", "[::]:24000", "[::0]:1"};
    for (size_t i = 0; i < sizeof wild / sizeof *wild; i++) {
        char *a[] = {"timed", "--datadir", "/x", "--external-address", (char *)wild[i]};
        assert_int_equal(run(&cfg, &e, 5, a), TC_ECONFIG);
        assert_non_null(strstr(e.msg, "is a wildcard"));
    }
    expect_file_error("external-address = 0.0.0.0:5\n", "1: external-address: \"0.0.0.0:5\" is a wildcard");
    char *grp[] = {"timed", "--datadir", "/x", "--inbound-per-minute-per-group", "0"};
    assert_int_equal(run(&cfg, &e, 5, grp), 0);
    assert_int_equal(cfg.inbound_per_minute_per_group, 0);
}

/* peer-address: ADDR=DIAL, both numeric and dialable, each ADDR once; the
 * P2P layer's table finds a route by the canonical text of the known
 * address (as tc_p2p_connect writes it), so spellings of one IPv6 address
 * are one peer. */
static void test_peer_address_routes(void **state)
{
    (void)state;
    tc_config cfg;
    tc_errmsg e = {""};
    write_conf("peer-address = 10.0.0.5:24100=127.0.0.1:30005\n"
               "peer-address = [2001:db8::7]:24100=127.0.0.1:30007\n");
    char *file[] = {"timed", "--datadir", "/x", "--config", path};
    int err = run(&cfg, &e, 5, file);
    unlink(path);
    if (err)
        fail_msg("%s", e.msg);
    assert_int_equal(cfg.n_peer_address, 2);
    const char *entries[] = {cfg.peer_address[0], cfg.peer_address[1]};
    tc_routes t;
    assert_int_equal(tc_routes_parse(&t, entries, 2, &e), 0);
    const tc_route *r = tc_routes_find(&t, "10.0.0.5:24100");
    assert_non_null(r);
    assert_string_equal(r->to, "127.0.0.1:30005");
    assert_non_null(tc_routes_find(&t, "[2001:db8::7]:24100"));
    assert_null(tc_routes_find(&t, "10.0.0.5:24101"));
    assert_null(tc_routes_find(&t, "127.0.0.1:30005"));
    const char *spelled[] = {"[2001:0db8:0:0::7]:24100=127.0.0.1:1"};
    assert_int_equal(tc_routes_parse(&t, spelled, 1, &e), 0);
    assert_non_null(tc_routes_find(&t, "[2001:db8::7]:24100"));

    static const char *const bad[] = {
        "10.0.0.5:24100",           "=127.0.0.1:1",  "10.0.0.5:24100=",          "host:1=127.0.0.1:1",
        "10.0.0.5:24100=host:1",    "10.0.0.5:0=127.0.0.1:1", "10.0.0.5:1=10.0.0.5:1", "0.0.0.0:1=127.0.0.1:1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *a[] = {"timed", "--datadir", "/x", "--peer-address", (char *)bad[i]};
        if (run(&cfg, &e, 5, a) != TC_ECONFIG || strstr(e.msg, "--peer-address: peer-address:") == NULL)
            fail_msg("\"%s\" accepted or unclear: %s", bad[i], e.msg);
    }
    char *twice[] = {"timed", "--datadir", "/x", "--peer-address", "10.0.0.5:1=127.0.0.1:2",
                     "--peer-address", "10.0.0.5:1=127.0.0.1:3"};
    assert_int_equal(run(&cfg, &e, 7, twice), TC_ECONFIG);
    assert_non_null(strstr(e.msg, "10.0.0.5:1 is routed twice"));
    const char *dup[] = {"[2001:db8::7]:1=127.0.0.1:2", "[2001:db8:0::7]:1=127.0.0.1:3"};
    assert_int_equal(tc_routes_parse(&t, dup, 2, &e), TC_EINVAL);
    assert_int_equal(t.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_and_flags),
        cmocka_unit_test(test_network_defaults),
        cmocka_unit_test(test_file_errors_name_line_and_hint),
        cmocka_unit_test(test_flag_errors),
        cmocka_unit_test(test_peer_addresses_are_numeric),
        cmocka_unit_test(test_front_door_errors),
        cmocka_unit_test(test_default_datadir_parent),
        cmocka_unit_test(test_docs_name_every_key),
        cmocka_unit_test(test_advertised_address),
        cmocka_unit_test(test_peer_address_routes),
        cmocka_unit_test(test_rpc_target_of_datadir),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
