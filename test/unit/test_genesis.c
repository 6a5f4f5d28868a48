/* Genesis documents: a valid one, and every rejection naming the key at fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "chain/genesis.h"
#include "util/hex.h"

static char addr0[TC_ADDR_STRLEN], op_hex[65], owner_hex[65];

static int setup(void **state)
{
    (void)state;
    tc_keypair k;
    uint8_t seed[32] = {7};
    assert_int_equal(tc_crypto_init(), 0);
    tc_keypair_from_seed(&k, seed);
    tc_address a;
    tc_address_from_pubkey(&a, &k.pk);
    assert_int_equal(tc_address_encode(addr0, &a, "dtime"), 0);
    tc_hex_encode(op_hex, k.pk.b, 32);
    seed[0] = 8;
    tc_keypair_from_seed(&k, seed);
    tc_hex_encode(owner_hex, k.pk.b, 32);
    return 0;
}

/* A valid document with `patch` applied: "from=>to" replaces the first occurrence. */
static int parse_patched(const char *from, const char *to, tc_genesis *g, tc_errmsg *e)
{
    char doc[4096], out[4096];
    snprintf(doc, sizeof doc,
             "{\"network\":\"devnet\",\"chain_id\":3,\"time_ms\":1763700000000,"
             "\"allocations\":[{\"address\":\"%s\",\"amount\":\"1000.5\"}],"
             "\"masternodes\":[{\"tier\":\"bronze\",\"owner_pubkey\":\"%s\",\"operator_pubkey\":\"%s\","
             "\"reward_address\":\"%s\",\"netaddr\":\"127.0.0.1:24200\"}],"
             "\"consensus\":{\"propose_timeout_ms\":1000,\"propose_delta_ms\":500,\"prevote_timeout_ms\":1000,"
             "\"prevote_delta_ms\":500,\"precommit_timeout_ms\":1000,\"precommit_delta_ms\":500,"
             "\"block_interval_ms\":1000,\"activation_delay\":10,\"jail_after_missed\":50}}",
             addr0, owner_hex, op_hex, addr0);
    if (from) {
        char *at = strstr(doc, from);
        assert_non_null(at);
        snprintf(out, sizeof out, "%.*s%s%s", (int)(at - doc), doc, to, at + strlen(from));
    } else {
        strcpy(out, doc);
    }
    return tc_genesis_parse(g, out, strlen(out), e);
}

static void test_valid(void **state)
{
    (void)state;
    tc_genesis g;
    tc_errmsg e;
    if (parse_patched(NULL, NULL, &g, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(g.chain_id, 3);
    assert_int_equal(g.n_alloc, 1);
    assert_int_equal(g.alloc[0].value, 100050000000ull);
    assert_int_equal(g.n_mn, 1);
    assert_int_equal(g.mn[0].tier, TC_TIER_BRONZE);
    assert_int_equal(g.mn[0].collateral.vout, 1); /* after the one allocation */
    assert_int_equal(g.cp.activation_delay, 10);
    tc_block b;
    tc_genesis_block(&g, &b);
    assert_int_equal(b.n_tx, 1);
    assert_int_equal(b.txs[0].n_out, 2);
    assert_int_equal(b.txs[0].out[1].value, 1000 * TC_COIN);
    tc_hash h1, h2;
    tc_header_hash(&b.hdr, &h1);
    tc_block_release(&b);
    tc_genesis_block(&g, &b); /* deterministic */
    tc_header_hash(&b.hdr, &h2);
    assert_memory_equal(h1.b, h2.b, 32);
    tc_block_release(&b);
    tc_genesis_release(&g);
}

static void expect(const char *from, const char *to, const char *needle)
{
    tc_genesis g;
    tc_errmsg e = {""};
    int err = parse_patched(from, to, &g, &e);
    if (err != TC_EGENESIS)
        fail_msg("patch %s => %s: expected TC_EGENESIS, got %s (%s)", from, to, tc_errname(err), e.msg);
    if (strstr(e.msg, needle) == NULL)
        fail_msg("patch %s => %s: message \"%s\" lacks \"%s\"", from, to, e.msg, needle);
    assert_null(g.alloc);
    assert_null(g.mn);
}

static void test_rejections(void **state)
{
    (void)state;
    expect("\"chain_id\":3", "\"chain_id\":3,\"extra\":1", "genesis: unknown key \"extra\"");
    expect("\"time_ms\":1763700000000,", "", "genesis: missing \"time_ms\"");
    expect("\"chain_id\":3", "\"chain_id\":2", "does not match chain_id 2");
    expect("\"chain_id\":3", "\"chain_id\":-3", "chain_id: expected an integer");
    expect("\"amount\":\"1000.5\"", "\"amount\":\"1000.123456789\"", "allocations[0].amount");
    expect("\"amount\":\"1000.5\"", "\"amount\":1000", "allocations[0].amount: expected a string");
    expect("dtime1", "ttime1", "allocations[0].address");
    expect("\"tier\":\"bronze\"", "\"tier\":\"iron\"", "masternodes[0].tier: \"iron\"");
    expect("\"tier\":\"bronze\"", "\"tier\":\"free\"", "masternodes[0].tier");
    expect("\"owner_pubkey\":\"", "\"owner_pubkey\":\"zz", "masternodes[0].owner_pubkey: expected 64 hex digits");
    expect("127.0.0.1:24200", "127.0.0.1 24200", "masternodes[0].netaddr");
    expect("\"jail_after_missed\":50", "\"jail_after_missed\":0", "jail_after_missed: must be at least 1");
    expect("\"activation_delay\":10,", "", "consensus: missing \"activation_delay\"");
    expect("\"activation_delay\":10", "\"activation_delay\":10,\"speed\":1", "consensus: unknown key \"speed\"");
    expect("{\"network\"", "{\"network\":\"devnet\",\"network\"", "line 1"); /* duplicate key */
    expect("}}", "}", "line 1");                                             /* truncated JSON */
}

static void test_duplicate_operator(void **state)
{
    (void)state;
    char two[1024];
    snprintf(two, sizeof two,
             "{\"tier\":\"bronze\",\"owner_pubkey\":\"%s\",\"operator_pubkey\":\"%s\",\"reward_address\":\"%s\","
             "\"netaddr\":\"127.0.0.1:24200\"},{\"tier\":\"bronze\"",
             owner_hex, op_hex, addr0);
    expect("{\"tier\":\"bronze\"", two, "masternodes[1].operator_pubkey: same key as masternodes[0]");
}

static void test_no_masternodes(void **state)
{
    (void)state;
    char doc[2048];
    snprintf(doc, sizeof doc,
             "{\"network\":\"devnet\",\"chain_id\":3,\"time_ms\":1,\"allocations\":[],\"masternodes\":[],"
             "\"consensus\":{}}");
    tc_genesis g;
    tc_errmsg e;
    assert_int_equal(tc_genesis_parse(&g, doc, strlen(doc), &e), TC_EGENESIS);
    assert_non_null(strstr(e.msg, "masternodes: expected an array of 1"));
}

static void test_load_missing_file(void **state)
{
    (void)state;
    tc_genesis g;
    tc_errmsg e;
    assert_int_equal(tc_genesis_load(&g, "/nonexistent/genesis.json", &e), TC_EIO);
    assert_non_null(strstr(e.msg, "/nonexistent/genesis.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_duplicate_operator),
        cmocka_unit_test(test_no_masternodes),
        cmocka_unit_test(test_load_missing_file),
    };
    return cmocka_run_group_tests_name("genesis", tests, setup, NULL);
}
