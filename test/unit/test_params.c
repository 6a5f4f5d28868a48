/* chain/params: the network table, tiers and fee schedule of DESIGN.md §3, §4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chain/params.h"

static const struct {
    enum tc_network net;
    const char *name;
    uint32_t chain_id;
    uint16_t p2p, rpc, metrics;
    uint8_t magic[4];
    const char *hrp;
    uint32_t drift_ms; /* docs/chain.md, "Block time" */
} design_networks[] = {
    {TC_NET_MAINNET, "mainnet", 1, 24000, 24001, 24002, {0xC0, 0x1D, 0x7E, 0x4D}, "time", 30000},
    {TC_NET_TESTNET, "testnet", 2, 24100, 24101, 24102, {0x7E, 0x57, 0x7E, 0x4D}, "ttime", 30000},
    {TC_NET_DEVNET, "devnet", 3, 24200, 24201, 24202, {0xDE, 0x7E, 0x7E, 0x4D}, "dtime", 10000},
};

static void assert_network(const tc_netparams *p, size_t i)
{
    assert_non_null(p);
    assert_int_equal(p->net, design_networks[i].net);
    assert_string_equal(p->name, design_networks[i].name);
    assert_int_equal(p->chain_id, design_networks[i].chain_id);
    assert_int_equal(p->p2p_port, design_networks[i].p2p);
    assert_int_equal(p->rpc_port, design_networks[i].rpc);
    assert_int_equal(p->metrics_port, design_networks[i].metrics);
    assert_memory_equal(p->magic, design_networks[i].magic, 4);
    assert_string_equal(p->hrp, design_networks[i].hrp);
    assert_int_equal(p->max_block_drift_ms, design_networks[i].drift_ms);
}

static void test_network_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        const tc_netparams *by_id = tc_params_by_chain_id(design_networks[i].chain_id);
        const tc_netparams *by_name = tc_params_by_name(design_networks[i].name);
        assert_network(by_id, i);
        assert_ptr_equal(by_id, by_name);
    }
    assert_int_equal(TC_NET_MAINNET, 1);
    assert_int_equal(TC_NET_TESTNET, 2);
    assert_int_equal(TC_NET_DEVNET, 3);
}

static void test_network_unknown(void **state)
{
    (void)state;
    assert_null(tc_params_by_chain_id(0));
    assert_null(tc_params_by_chain_id(4));
    assert_null(tc_params_by_chain_id(UINT32_MAX));
    assert_null(tc_params_by_name(""));
    assert_null(tc_params_by_name("Mainnet"));
    assert_null(tc_params_by_name("main"));
    assert_null(tc_params_by_name("mainnet "));
    assert_null(tc_params_by_name("regtest"));
}

static void test_magics_distinct(void **state)
{
    (void)state;
    const tc_netparams *p[3];
    for (uint32_t i = 0; i < 3; i++)
        p[i] = tc_params_by_chain_id(i + 1);
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++) {
            assert_memory_not_equal(p[i]->magic, p[j]->magic, 4);
            assert_string_not_equal(p[i]->hrp, p[j]->hrp);
        }
}

static void test_constants(void **state)
{
    (void)state;
    assert_true(TC_COIN == 100000000ull);
    assert_true(TC_MIN_FEE == 1000000ull);   /* 0.01 TIME */
    assert_true(TC_DUST_LIMIT == 1000ull);
    assert_true(TC_BLOCK_REWARD == 10000000000ull); /* 100 TIME */
    assert_int_equal(TC_MAX_TX_SIZE, 1000000);
    assert_int_equal(TC_MAX_BLOCK_SIZE, 2000000);
}

static void test_tiers(void **state)
{
    (void)state;
    static const struct {
        uint8_t tier;
        const char *name;
        uint64_t collateral, weight;
    } want[] = {
        {TC_TIER_FREE, "free", 0, 0},
        {TC_TIER_BRONZE, "bronze", 1000ull * 100000000ull, 1},
        {TC_TIER_SILVER, "silver", 10000ull * 100000000ull, 10},
        {TC_TIER_GOLD, "gold", 100000ull * 100000000ull, 100},
    };
    for (size_t i = 0; i < 4; i++) {
        uint64_t c = 7, w = 7;
        assert_int_equal(tc_tier_info(want[i].tier, &c, &w), 0);
        assert_true(c == want[i].collateral);
        assert_true(w == want[i].weight);
        assert_string_equal(tc_tier_name(want[i].tier), want[i].name);
        uint8_t t = 0xee;
        assert_int_equal(tc_tier_parse(want[i].name, &t), 0);
        assert_int_equal(t, want[i].tier);
    }
    /* either output may be NULL */
    uint64_t w = 0;
    assert_int_equal(tc_tier_info(TC_TIER_SILVER, NULL, &w), 0);
    assert_true(w == 10);
    assert_int_equal(tc_tier_info(TC_TIER_GOLD, NULL, NULL), 0);
}

static void test_tier_unknown(void **state)
{
    (void)state;
    uint64_t c = 7, w = 7;
    assert_int_equal(tc_tier_info(4, &c, &w), TC_EMN_TIER);
    assert_int_equal(tc_tier_info(255, &c, &w), TC_EMN_TIER);
    assert_null(tc_tier_name(4));
    assert_null(tc_tier_name(255));
    uint8_t t;
    assert_int_equal(tc_tier_parse("platinum", &t), TC_EMN_TIER);
    assert_int_equal(tc_tier_parse("Gold", &t), TC_EMN_TIER);
    assert_int_equal(tc_tier_parse("", &t), TC_EMN_TIER);
}

#define TIME(x) ((uint64_t)(x) * 100000000ull)

static void test_fee_schedule_boundaries(void **state)
{
    (void)state;
    static const struct {
        uint64_t sent, fee;
    } v[] = {
        /* 1% below 100 TIME */
        {TIME(100) - 1, 100000000ull},         /* 99.99999999 TIME -> 0.9999999999, rounded up */
        {TIME(50), TIME(50) / 100},
        /* 0.5% from 100 TIME */
        {TIME(100), 50000000ull},              /* 0.5 TIME */
        {TIME(100) + 1, 50000001ull},          /* 0.500000005 rounded up */
        {TIME(1000) - 1, 500000000ull},        /* 999.99999999 -> 4.99999999(5), rounded up */
        /* 0.25% from 1,000 TIME */
        {TIME(1000), 250000000ull},            /* 2.5 TIME */
        {TIME(10000) - 1, 2500000000ull},      /* 9999.99999999 -> 24.99999999(75), rounded up */
        /* 0.1% from 10,000 TIME */
        {TIME(10000), 1000000000ull},          /* 10 TIME */
        {TIME(1000000), TIME(1000)},
        {TC_MAX_MONEY, TC_MAX_MONEY / 1000},
        {UINT64_MAX, UINT64_MAX / 1000 + 1},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint64_t got = tc_required_fee(v[i].sent);
        if (got != v[i].fee)
            fail_msg("sent %llu: fee %llu, want %llu", (unsigned long long)v[i].sent,
                     (unsigned long long)got, (unsigned long long)v[i].fee);
    }
}

static void test_fee_minimum(void **state)
{
    (void)state;
    static const struct {
        uint64_t sent, fee;
    } v[] = {
        {0, 1000000ull},
        {1, 1000000ull},
        {TC_DUST_LIMIT, 1000000ull},
        {TIME(1) - 1, 1000000ull},   /* 1% = 0.00999999 < 0.01 */
        {TIME(1), 1000000ull},       /* 1% = exactly the minimum */
        {TIME(1) + 100, 1000001ull}, /* first amount above the minimum */
        {TIME(2), 2000000ull},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint64_t got = tc_required_fee(v[i].sent);
        if (got != v[i].fee)
            fail_msg("sent %llu: fee %llu, want %llu", (unsigned long long)v[i].sent,
                     (unsigned long long)got, (unsigned long long)v[i].fee);
        assert_true(got >= TC_MIN_FEE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_table),
        cmocka_unit_test(test_network_unknown),
        cmocka_unit_test(test_magics_distinct),
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_tiers),
        cmocka_unit_test(test_tier_unknown),
        cmocka_unit_test(test_fee_schedule_boundaries),
        cmocka_unit_test(test_fee_minimum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
