/* Context-free transaction rules and signatures (tc_tx_check_basic,
 * tc_tx_check_sigs), one test per rule with its message; the stateful rules
 * are in test_ledger.c. Also the UTXO and masternode store records, and the
 * block time rules at the edges of the 64-bit range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "chain/masternode.h"
#include "chain/utxo.h"
#include "chain/validate.h"

static tc_keypair alice, bob;
static tc_address alice_addr, bob_addr;

static int setup(void **state)
{
    (void)state;
    uint8_t seed[32] = {1};
    assert_int_equal(tc_crypto_init(), 0);
    tc_keypair_from_seed(&alice, seed);
    seed[0] = 2;
    tc_keypair_from_seed(&bob, seed);
    tc_address_from_pubkey(&alice_addr, &alice.pk);
    tc_address_from_pubkey(&bob_addr, &bob.pk);
    return 0;
}

/* 1 input of alice's, pays bob 10 TIME, change to alice; signed. */
static void transfer(tc_tx *tx)
{
    tc_tx_init(tx);
    tc_tx_alloc(tx, 1, 2);
    memset(tx->in[0].prev.txid.b, 0xab, 32);
    tx->in[0].pubkey = alice.pk;
    tx->out[0].value = 10 * TC_COIN;
    tx->out[0].addr = bob_addr;
    tx->out[1].value = 5 * TC_COIN;
    tx->out[1].addr = alice_addr;
    tc_tx_sign_input(tx, 0, 3, &alice);
}

static void expect_basic(const tc_tx *tx, int code, const char *needle)
{
    tc_errmsg e = {""};
    int err = tc_tx_check_basic(tx, &e);
    if (err != code)
        fail_msg("expected %s, got %s (%s)", tc_errname(code), tc_errname(err), e.msg);
    if (needle && strstr(e.msg, needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, needle);
}

static void test_valid_transfer(void **state)
{
    (void)state;
    tc_tx tx;
    tc_hash id;
    transfer(&tx);
    tc_tx_txid(&tx, &id);
    assert_int_equal(tc_tx_check_basic(&tx, NULL), 0);
    assert_int_equal(tc_tx_check_sigs(&tx, &id, 3, NULL, NULL), 0);
    /* the signature commits to the chain id */
    assert_int_equal(tc_tx_check_sigs(&tx, &id, 1, NULL, NULL), TC_ESIG);
    tc_tx_release(&tx);
}

static void test_version_and_kind(void **state)
{
    (void)state;
    tc_tx tx;
    transfer(&tx);
    tx.version = 2;
    expect_basic(&tx, TC_ETX_VERSION, "version 2 is not supported");
    tx.version = 1;
    tx.kind = 42;
    expect_basic(&tx, TC_ETX_KIND, "unknown kind 42");
    tx.kind = TC_TX_COINBASE;
    expect_basic(&tx, TC_ETX_KIND, "coinbase has 1 inputs");
    tc_tx_release(&tx);
}

static void test_inputs_and_outputs_required(void **state)
{
    (void)state;
    tc_tx tx;
    tc_tx_init(&tx);
    tc_tx_alloc(&tx, 0, 1);
    tx.out[0].value = TC_COIN;
    tx.out[0].addr = bob_addr;
    expect_basic(&tx, TC_ETX_NO_INPUTS, "transfer has no inputs");
    tc_tx_alloc(&tx, 1, 0);
    expect_basic(&tx, TC_ETX_NO_OUTPUTS, "transfer has no outputs");
    tc_tx_release(&tx);
}

static void test_dust_overflow_address(void **state)
{
    (void)state;
    tc_tx tx;
    transfer(&tx);
    tx.out[1].value = TC_DUST_LIMIT - 1;
    expect_basic(&tx, TC_ETX_DUST, "output 1: value 999 sat is below the dust limit 1000 sat");
    tx.out[1].value = TC_DUST_LIMIT;
    assert_int_equal(tc_tx_check_basic(&tx, NULL), 0);
    tx.out[0].value = TC_MAX_MONEY;
    expect_basic(&tx, TC_ETX_OVERFLOW, "output 1: total output value exceeds the money supply");
    tx.out[0].value = UINT64_MAX;
    expect_basic(&tx, TC_ETX_OVERFLOW, "output 0");
    tx.out[0].value = TC_COIN;
    tx.out[0].addr.version = 1;
    expect_basic(&tx, TC_EADDR_VERSION, "output 0: unknown address version 1");
    tc_tx_release(&tx);
}

static void test_duplicate_input(void **state)
{
    (void)state;
    tc_tx tx;
    tc_tx_init(&tx);
    tc_tx_alloc(&tx, 20, 1);
    for (size_t i = 0; i < 20; i++) {
        tx.in[i].prev.txid.b[0] = (uint8_t)i;
        tx.in[i].prev.vout = (uint32_t)i;
    }
    tx.out[0].value = TC_COIN;
    tx.out[0].addr = bob_addr;
    assert_int_equal(tc_tx_check_basic(&tx, NULL), 0);
    tx.in[17].prev = tx.in[3].prev;
    expect_basic(&tx, TC_ETX_DUP_INPUT, ":3 is spent twice");
    tc_tx_release(&tx);
}

static void test_size_limit(void **state)
{
    (void)state;
    tc_tx tx;
    size_t n = TC_MAX_TX_SIZE / 41 + 1;
    tc_tx_init(&tx);
    tc_tx_alloc(&tx, 1, n);
    for (size_t i = 0; i < n; i++) {
        tx.out[i].value = TC_COIN;
        tx.out[i].addr = bob_addr;
    }
    expect_basic(&tx, TC_ETX_SIZE, "exceeds 1000000");
    tc_tx_release(&tx);
}

static void test_register_payload(void **state)
{
    (void)state;
    tc_tx tx;
    transfer(&tx);
    tx.kind = TC_TX_MN_REGISTER;
    tx.u.reg.tier = TC_TIER_FREE;
    strcpy(tx.u.reg.netaddr, "127.0.0.1:1");
    expect_basic(&tx, TC_EMN_TIER, "tier 0 cannot register");
    tx.u.reg.tier = 9;
    expect_basic(&tx, TC_EMN_TIER, "tier 9");
    tx.u.reg.tier = TC_TIER_GOLD;
    tx.u.reg.netaddr[0] = '\0';
    expect_basic(&tx, TC_ETX_PAYLOAD, "without a network address");
    strcpy(tx.u.reg.netaddr, "127.0.0.1:1");
    assert_int_equal(tc_tx_check_basic(&tx, NULL), 0);
    tc_tx_release(&tx);
}

static void test_extra_signatures(void **state)
{
    (void)state;
    tc_tx tx;
    tc_hash id;
    transfer(&tx);
    tx.kind = TC_TX_MN_REGISTER;
    tx.u.reg.tier = TC_TIER_BRONZE;
    tx.u.reg.owner = alice.pk;
    tx.u.reg.operator_key = bob.pk;
    strcpy(tx.u.reg.netaddr, "127.0.0.1:1");
    tc_tx_sign_input(&tx, 0, 3, &alice);
    tc_tx_sign_extra(&tx, 0, 3, &alice);
    tc_tx_sign_extra(&tx, 1, 3, &bob);
    tc_tx_txid(&tx, &id);
    assert_int_equal(tc_tx_check_sigs(&tx, &id, 3, NULL, NULL), 0);
    tc_tx_sign_extra(&tx, 1, 3, &alice); /* operator slot signed by the owner */
    tc_errmsg e;
    assert_int_equal(tc_tx_check_sigs(&tx, &id, 3, NULL, &e), TC_ESIG);
    assert_string_equal(e.msg, "mn_register signature 1: bad signature");
    tc_tx_release(&tx);
}

static void test_evidence_shape(void **state)
{
    (void)state;
    tc_tx tx;
    tc_hash id;
    tc_tx_init(&tx);
    tx.kind = TC_TX_EVIDENCE;
    tc_vote *a = &tx.u.evidence.a, *b = &tx.u.evidence.b;
    a->type = b->type = TC_VOTE_PRECOMMIT;
    a->height = b->height = 9;
    a->round = b->round = 1;
    b->block.b[0] = 1; /* a votes nil, b votes a block: still a conflict */
    tc_vote_sign(a, 3, &bob);
    tc_vote_sign(b, 3, &bob);
    tc_tx_txid(&tx, &id);
    assert_int_equal(tc_tx_check_basic(&tx, NULL), 0);
    assert_int_equal(tc_tx_check_sigs(&tx, &id, 3, NULL, NULL), 0);
    b->sig.b[0] ^= 1;
    assert_int_equal(tc_tx_check_sigs(&tx, &id, 3, NULL, NULL), TC_EEVIDENCE);
    b->round = 2;
    expect_basic(&tx, TC_EEVIDENCE, "do not conflict");
    tc_tx_release(&tx);
}

static void test_sent_amount_excludes_change(void **state)
{
    (void)state;
    tc_tx tx;
    transfer(&tx);
    assert_int_equal(tc_tx_sent_amount(&tx), 10 * TC_COIN);
    tx.out[0].addr = alice_addr;
    assert_int_equal(tc_tx_sent_amount(&tx), 0);
    tc_tx_release(&tx);
}

static void test_records_round_trip(void **state)
{
    (void)state;
    tc_outpoint o = {.vout = 0x01020304}, o2;
    memset(o.txid.b, 0x5a, 32);
    uint8_t key[TC_UTXO_KEY_SIZE], rec[TC_UTXO_REC_SIZE];
    tc_utxo_key(&o, key);
    assert_int_equal(key[32], 1); /* vout big-endian: keys sort by output index */
    tc_utxo_key_parse(key, &o2);
    assert_memory_equal(&o, &o2, sizeof o);
    tc_utxo u = {123456789, bob_addr, 77, TC_UTXO_COINBASE}, u2;
    tc_utxo_encode(&u, rec);
    assert_int_equal(tc_utxo_decode(&u2, rec, sizeof rec), 0);
    assert_int_equal(u2.value, u.value);
    assert_int_equal(u2.height, 77);
    assert_int_equal(u2.flags, TC_UTXO_COINBASE);
    assert_true(tc_address_eq(&u2.addr, &bob_addr));
    assert_int_equal(tc_utxo_decode(&u2, rec, sizeof rec - 1), TC_ECORRUPT);

    tc_mn m = {.collateral = o, .tier = TC_TIER_SILVER, .owner = alice.pk, .operator_key = bob.pk,
               .reward = alice_addr, .registered_height = 5, .active_height = 15, .jailed = 1, .missed = 3};
    strcpy(m.netaddr, "10.0.0.1:24000");
    tc_buf b;
    tc_buf_init(&b);
    tc_mn_encode(&m, &b);
    tc_mn m2 = {.collateral = o};
    assert_int_equal(tc_mn_decode(&m2, b.p, b.len), 0);
    tc_buf b2;
    tc_buf_init(&b2);
    tc_mn_encode(&m2, &b2);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b.p, b2.p, b.len);
    tc_buf_release(&b2);
    assert_string_equal(m2.netaddr, "10.0.0.1:24000");
    assert_int_equal(m2.active_height, 15);
    assert_int_equal(m2.missed, 3);
    assert_int_equal(tc_mn_decode(&m2, b.p, b.len - 1), TC_ECORRUPT);
    tc_buf_u8(&b, 0);
    assert_int_equal(tc_mn_decode(&m2, b.p, b.len), TC_ECORRUPT);
    tc_buf_release(&b);
    assert_false(tc_mn_is_validator(&m, 20)); /* jailed */
    m.jailed = 0;
    assert_false(tc_mn_is_validator(&m, 14)); /* not yet active */
    assert_true(tc_mn_is_validator(&m, 15));
}

/* ---- block time -------------------------------------------------------------- */

static void test_block_time_after_parent(void **state)
{
    (void)state;
    tc_errmsg e = {""};
    assert_int_equal(tc_block_check_time(1001, 1000, &e), 0);
    assert_int_equal(tc_block_check_time(1000, 1000, &e), TC_EBLK_TIME);
    assert_non_null(strstr(e.msg, "not after the parent's 1000 ms"));
    assert_int_equal(tc_block_check_time(999, 1000, NULL), TC_EBLK_TIME);
    assert_int_equal(tc_block_check_time(UINT64_MAX, UINT64_MAX - 1, NULL), 0);
    /* A parent at the last representable time can have no child at all. */
    assert_int_equal(tc_block_check_time(UINT64_MAX, UINT64_MAX, &e), TC_EBLK_TIME);
    assert_non_null(strstr(e.msg, "no block can follow it"));
    assert_int_equal(tc_block_check_time(0, UINT64_MAX, NULL), TC_EBLK_TIME);
}

static void test_block_time_drift(void **state)
{
    (void)state;
    tc_errmsg e = {""};
    const uint64_t now = 1763800000000ull;
    assert_int_equal(tc_block_check_drift(now + 10000, now, 10000, NULL), 0);
    assert_int_equal(tc_block_check_drift(now - 99999, now, 10000, NULL), 0); /* behind is the parent rule's */
    assert_int_equal(tc_block_check_drift(now + 10001, now, 10000, &e), TC_EBLK_TIME);
    assert_non_null(strstr(e.msg, "is 10001 ms ahead of this node's clock (drift limit 10000 ms)"));
    /* The attack of issue 11: a block dated UINT64_MAX against an honest clock. */
    assert_int_equal(tc_block_check_drift(UINT64_MAX, now, 10000, &e), TC_EBLK_TIME);
    /* now + drift saturates instead of wrapping (a wrap would refuse these). */
    assert_int_equal(tc_block_check_drift(UINT64_MAX, UINT64_MAX - 5, 10000, NULL), 0);
    assert_int_equal(tc_block_check_drift(UINT64_MAX, UINT64_MAX, UINT32_MAX, NULL), 0);
    assert_int_equal(tc_block_check_drift(5, UINT64_MAX, 10000, NULL), 0);
    assert_int_equal(tc_block_check_drift(0, 0, 0, NULL), 0);
    assert_int_equal(tc_block_check_drift(1, 0, 0, NULL), TC_EBLK_TIME);
}

static void test_block_next_time(void **state)
{
    (void)state;
    tc_errmsg e = {""};
    uint64_t t = 7;
    assert_int_equal(tc_block_next_time(1000, 5000, 10000, &t, NULL), 0);
    assert_true(t == 5000); /* the proposer's clock */
    assert_int_equal(tc_block_next_time(5000, 5000, 10000, &t, NULL), 0);
    assert_true(t == 5001); /* a slow clock: just after the parent */
    assert_int_equal(tc_block_next_time(UINT64_MAX - 1, UINT64_MAX, 0, &t, NULL), 0);
    assert_true(t == UINT64_MAX);
    assert_int_equal(tc_block_next_time(UINT64_MAX - 1, 0, 10000, &t, NULL), TC_EBLK_TIME);
    /* The parent at UINT64_MAX: no time, never the wrapped 0 of old. */
    t = 7;
    assert_int_equal(tc_block_next_time(UINT64_MAX, 1763800000000ull, 10000, &t, &e), TC_EBLK_TIME);
    assert_non_null(strstr(e.msg, "no block can follow it"));
    assert_int_equal(tc_block_next_time(UINT64_MAX, UINT64_MAX, 10000, &t, NULL), TC_EBLK_TIME);
    assert_true(t == 7);
    /* A parent further ahead than the drift: the child would fail its own check. */
    assert_int_equal(tc_block_next_time(20000, 5000, 10000, &t, &e), TC_EBLK_TIME);
    assert_non_null(strstr(e.msg, "ahead of this node's clock"));
    assert_true(t == 7);
    assert_int_equal(tc_block_next_time(14999, 5000, 10000, &t, NULL), 0);
    assert_true(t == 15000);
    /* Whatever it returns passes both rules at that clock. */
    static const uint64_t v[] = {0, 1, 1000, UINT64_MAX - 10001, UINT64_MAX - 2, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        for (size_t j = 0; j < sizeof v / sizeof v[0]; j++)
            if (tc_block_next_time(v[i], v[j], 10000, &t, NULL) == 0) {
                assert_int_equal(tc_block_check_time(t, v[i], NULL), 0);
                assert_int_equal(tc_block_check_drift(t, v[j], 10000, NULL), 0);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_transfer),
        cmocka_unit_test(test_version_and_kind),
        cmocka_unit_test(test_inputs_and_outputs_required),
        cmocka_unit_test(test_dust_overflow_address),
        cmocka_unit_test(test_duplicate_input),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_register_payload),
        cmocka_unit_test(test_extra_signatures),
        cmocka_unit_test(test_evidence_shape),
        cmocka_unit_test(test_sent_amount_excludes_change),
        cmocka_unit_test(test_records_round_trip),
        cmocka_unit_test(test_block_time_after_parent),
        cmocka_unit_test(test_block_time_drift),
        cmocka_unit_test(test_block_next_time),
    };
    return cmocka_run_group_tests_name("validate", tests, setup, NULL);
}
