/* Ledger: genesis, block application and rollback, every block rule and the
 * stateful transaction rules, masternode life cycle, jailing, sig cache,
 * batches of certified blocks applied in one transaction, block time rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/reward.h"
#include "store/chainstore.h"
#include "testchain.h"

/* ---- helpers ------------------------------------------------------------------ */

static int dump_entry(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    tc_buf *b = ctx;
    tc_buf_var(b, k, kl);
    tc_buf_var(b, v, vl);
    return 0;
}

/* Every table's entries, in order, as one byte string. */
static void dump_store(testchain *c, tc_buf *out)
{
    tc_txn *t;
    assert_int_equal(tc_store_begin(tc_ledger_store(c->L), 0, &t), 0);
    for (int tb = 0; tb < TC_TB_COUNT; tb++) {
        tc_buf_u8(out, (uint8_t)tb);
        assert_int_equal(tc_store_each(t, (enum tc_table)tb, NULL, 0, dump_entry, out), 0);
    }
    tc_store_abort(t);
}

static void assert_commitment_consistent(testchain *c)
{
    tc_hash inc, scan;
    tc_header tip;
    tc_ledger_utxo_commitment(c->L, &inc);
    assert_int_equal(tc_ledger_scan_utxo_commitment(c->L, &scan), 0);
    tc_ledger_tip(c->L, &tip, NULL);
    assert_memory_equal(inc.b, scan.b, 32);
    assert_memory_equal(inc.b, tip.utxo_commitment.b, 32);
}

/* A coin owned by user u of value v after the last transfer chain. */
typedef struct {
    tc_outpoint op;
    uint64_t value;
} coin;

static coin user_coin(const testchain *c, size_t u)
{
    coin k = {testchain_user_outpoint(c, u), TESTCHAIN_USER_FUNDS};
    return k;
}

/* Pays `amount` from coin *k of user u to `to`; *k becomes the change. */
static void pay(const testchain *c, coin *k, size_t u, const tc_address *to, uint64_t amount, tc_tx *tx)
{
    testchain_transfer(c, &k->op, k->value, &c->user[u], to, amount, tx);
    tc_tx_txid(tx, &k->op.txid);
    k->op.vout = 1;
    k->value = tx->out[1].value;
}

static void expect_block_error(testchain *c, tc_block *blk, int code)
{
    tc_errmsg e = {""};
    tc_cert cert;
    testchain_certify(c, blk, ~0ull, &cert);
    int err = tc_ledger_apply_block(c->L, blk, &cert, &e);
    if (err != code)
        fail_msg("expected %s, got %s: %s", tc_errname(code), tc_errname(err), e.msg);
    assert_true(strlen(e.msg) > 0);
    tc_cert_release(&cert);
}

/* Re-derives the header fields that depend on the body, so a test can change
 * one thing and see exactly the rule it breaks. */
static void reseal(tc_block *blk)
{
    tc_block_tx_root(blk, NULL, &blk->hdr.tx_root);
    tc_cert_hash(&blk->last_commit, &blk->hdr.last_commit_hash);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_genesis_open_reopen_foreign(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 5, 0);
    assert_int_equal(tc_ledger_height(c.L), 0);
    assert_commitment_consistent(&c);
    tc_valset vs;
    assert_int_equal(tc_ledger_valset(c.L, 1, &vs), 0);
    assert_int_equal(vs.n, 4);
    assert_int_equal(vs.total, 4);
    tc_valset_release(&vs);
    tc_utxo u;
    tc_outpoint o = testchain_user_outpoint(&c, 2);
    assert_int_equal(tc_ledger_get_utxo(c.L, &o, &u), 0);
    assert_int_equal(u.value, TESTCHAIN_USER_FUNDS);
    assert_int_equal(testchain_next(&c, NULL, 0, NULL, NULL), 0);
    tc_hash before;
    tc_ledger_tip(c.L, NULL, &before);
    testchain_close(&c);
    testchain_reopen(&c);
    tc_hash after;
    tc_ledger_tip(c.L, NULL, &after);
    assert_int_equal(tc_ledger_height(c.L), 1);
    assert_memory_equal(before.b, after.b, 32);
    testchain_close(&c);

    /* The same dir under another genesis is refused and left untouched. */
    tc_genesis other = c.g;
    other.time_ms++;
    tc_ledger *L;
    tc_errmsg e;
    assert_int_equal(tc_ledger_open(&L, c.dir, &other, NULL, &e), TC_EFOREIGN);
    assert_non_null(strstr(e.msg, "genesis"));
    other.chain_id = 2;
    assert_int_equal(tc_ledger_open(&L, c.dir, &other, NULL, &e), TC_EFOREIGN);
    assert_non_null(strstr(e.msg, "chain id 3"));
    testchain_reopen(&c);
    assert_int_equal(tc_ledger_height(c.L), 1);
    testchain_release(&c);
}

static void test_apply_100_rollback_all_byte_for_byte(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 3, 1000, 1);
    tc_buf start, end;
    tc_buf_init(&start);
    tc_buf_init(&end);
    dump_store(&c, &start);
    tc_hash commit0;
    tc_ledger_utxo_commitment(c.L, &commit0);
    coin k[TESTCHAIN_USERS];
    for (size_t u = 0; u < TESTCHAIN_USERS; u++)
        k[u] = user_coin(&c, u);
    for (int h = 1; h <= 100; h++) {
        tc_tx txs[3];
        for (size_t u = 0; u < 3; u++)
            pay(&c, &k[u], u, &c.user_addr[(u + 1) % TESTCHAIN_USERS], (uint64_t)(h + 1) * TC_COIN, &txs[u]);
        tc_errmsg e;
        int err = testchain_next(&c, txs, 3, NULL, &e);
        if (err)
            fail_msg("block %d: %s", h, e.msg);
        for (size_t u = 0; u < 3; u++)
            tc_tx_release(&txs[u]);
    }
    assert_int_equal(tc_ledger_height(c.L), 100);
    assert_commitment_consistent(&c);
    for (int h = 100; h >= 1; h--) {
        tc_errmsg e;
        if (tc_ledger_rollback_tip(c.L, &e) != 0)
            fail_msg("rollback %d: %s", h, e.msg);
    }
    assert_int_equal(tc_ledger_rollback_tip(c.L, NULL), TC_ETIP);
    dump_store(&c, &end);
    assert_int_equal(start.len, end.len);
    assert_memory_equal(start.p, end.p, start.len);
    tc_hash commit1;
    tc_ledger_utxo_commitment(c.L, &commit1);
    assert_memory_equal(commit0.b, commit1.b, 32);
    assert_commitment_consistent(&c);
    tc_buf_release(&start);
    tc_buf_release(&end);
    testchain_release(&c);
}

static void test_block_rules(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    assert_int_equal(testchain_next(&c, NULL, 0, NULL, NULL), 0);
    tc_block good, b;
    testchain_build(&c, NULL, 0, &good);
    tc_header tip;
    tc_ledger_tip(c.L, &tip, NULL);

#define MUTATE(stmt, code)                          \
    do {                                            \
        testchain_build(&c, NULL, 0, &b);           \
        stmt;                                       \
        expect_block_error(&c, &b, code);           \
        tc_block_release(&b);                       \
    } while (0)

    MUTATE(b.hdr.version = 9, TC_EBLK_VERSION);
    MUTATE(b.hdr.chain_id = 1, TC_EBLK_CHAIN);
    MUTATE(b.hdr.height = 5, TC_EBLK_HEIGHT);
    MUTATE(b.hdr.prev.b[0] ^= 1, TC_EBLK_PREV);
    MUTATE(b.hdr.time_ms = tip.time_ms, TC_EBLK_TIME);
    MUTATE(b.hdr.proposer = c.user[0].pk, TC_EBLK_PROPOSER);
    MUTATE(b.hdr.valset_hash.b[3] ^= 1, TC_EBLK_VALSET);
    MUTATE(b.hdr.tx_root.b[0] ^= 1, TC_EBLK_MERKLE);
    MUTATE(b.hdr.utxo_commitment.b[0] ^= 1, TC_EBLK_UTXO);
    MUTATE(b.hdr.last_commit_hash.b[0] ^= 1, TC_EBLK_LAST_COMMIT);
    /* A last commit carrying too little weight: one signature of four. */
    MUTATE((b.last_commit.n = 1, reseal(&b)), TC_EBLK_LAST_COMMIT);
    /* A coinbase paying one sat more than reward + fees. */
    MUTATE((b.txs[0].out[0].value++, reseal(&b)), TC_EBLK_REWARD);
    /* No coinbase at all. */
    MUTATE((tc_tx_release(&b.txs[0]), b.n_tx = 0, reseal(&b)), TC_EBLK_REWARD);
#undef MUTATE

    /* A certificate below quorum (2 of 4 weight; quorum is 3) is refused. */
    tc_cert weak;
    testchain_certify(&c, &good, 0x3, &weak);
    tc_errmsg e;
    assert_int_equal(tc_ledger_apply_block(c.L, &good, &weak, &e), TC_ECERT_QUORUM);
    assert_non_null(strstr(e.msg, "certificate"));
    tc_cert_release(&weak);
    /* Nothing was written by any of the rejections; the good block applies. */
    assert_int_equal(tc_ledger_height(c.L), 1);
    assert_int_equal(tc_ledger_check_block(c.L, &good, good.hdr.time_ms, NULL), 0);
    tc_cert cert;
    testchain_certify(&c, &good, 0x7, &cert);
    assert_int_equal(tc_ledger_apply_block(c.L, &good, &cert, NULL), 0);
    tc_cert_release(&cert);
    tc_block_release(&good);
    testchain_release(&c);
}

/* ---- block time (docs/chain.md) ------------------------------------------------ */

/* Builds the next empty block as a proposer whose clock reads now_ms. */
static int build_at(testchain *c, uint64_t now_ms, tc_block *out, tc_errmsg *e)
{
    tc_valset vs;
    tc_cert last;
    assert_int_equal(tc_ledger_valset(c->L, tc_ledger_height(c->L) + 1, &vs), 0);
    testchain_tip_cert(c, &last);
    int err = tc_ledger_build_block(c->L, NULL, 0, now_ms, &vs.v[0].key, &last, out, NULL, e);
    tc_cert_release(&last);
    tc_valset_release(&vs);
    return err;
}

static int certify_apply(testchain *c, const tc_block *blk, tc_errmsg *e)
{
    tc_cert cert;
    testchain_certify(c, blk, ~0ull, &cert);
    int err = tc_ledger_apply_block(c->L, blk, &cert, e);
    tc_cert_release(&cert);
    return err;
}

static void test_block_time_rules(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    const uint32_t drift = c.g.net->max_block_drift_ms;
    assert_int_equal(drift, 10000); /* devnet */
    assert_int_equal(testchain_next(&c, NULL, 0, NULL, NULL), 0);
    tc_header tip;
    tc_ledger_tip(c.L, &tip, NULL);
    const uint64_t now = tip.time_ms + 1000; /* the validating node's clock */
    tc_block b;
    tc_errmsg e = {""};

    /* Dated the parent's time: refused as a proposal and as a certified block. */
    assert_int_equal(build_at(&c, now, &b, NULL), 0);
    b.hdr.time_ms = tip.time_ms;
    assert_int_equal(tc_ledger_check_block(c.L, &b, now, &e), TC_EBLK_TIME);
    assert_non_null(strstr(e.msg, "not after the parent's"));
    assert_int_equal(certify_apply(&c, &b, NULL), TC_EBLK_TIME);
    tc_block_release(&b);

    /* A proposer whose clock is 45 s ahead: the block is built (its own clock
     * says it is fine) but refused live by a node 45 s behind it, with a
     * message that says by how much. Exactly at the drift it passes. */
    assert_int_equal(build_at(&c, now + 45000, &b, NULL), 0);
    assert_true(b.hdr.time_ms == now + 45000);
    assert_int_equal(tc_ledger_check_block(c.L, &b, now, &e), TC_EBLK_TIME);
    assert_non_null(strstr(e.msg, "is 45000 ms ahead of this node's clock (drift limit 10000 ms)"));
    assert_int_equal(tc_ledger_check_block(c.L, &b, now + 35000, NULL), 0);
    assert_int_equal(tc_ledger_check_block(c.L, &b, now + 34999, NULL), TC_EBLK_TIME);
    /* now + drift saturates: a node whose clock is near the end of the range
     * does not wrap and refuse everything. */
    assert_int_equal(tc_ledger_check_block(c.L, &b, UINT64_MAX - 5, NULL), 0);
    assert_int_equal(tc_ledger_check_block(c.L, &b, UINT64_MAX, NULL), 0);
    /* Certified, the same block is final: sync and commit apply it whatever
     * this node's clock says. */
    assert_int_equal(certify_apply(&c, &b, &e), 0);
    tc_block_release(&b);

    /* The parent is now 45 s ahead of `now`: a proposer at `now` cannot date
     * a child its own check would pass, and says so instead of building one. */
    assert_int_equal(build_at(&c, now, &b, &e), TC_EBLK_TIME);
    assert_non_null(strstr(e.msg, "ahead of this node's clock"));
    assert_int_equal(b.n_tx, 0);
    assert_int_equal(build_at(&c, now + 40000, &b, NULL), 0);
    assert_true(b.hdr.time_ms == now + 45001); /* just after the parent */
    assert_int_equal(tc_ledger_check_block(c.L, &b, now + 40000, NULL), 0);
    tc_block_release(&b);

    /* The attack of issue 11: a block dated UINT64_MAX. Refused live by any
     * honest clock; a Byzantine clock at UINT64_MAX builds it. */
    assert_int_equal(build_at(&c, UINT64_MAX, &b, NULL), 0);
    assert_true(b.hdr.time_ms == UINT64_MAX);
    assert_int_equal(tc_ledger_check_block(c.L, &b, now, &e), TC_EBLK_TIME);
    assert_non_null(strstr(e.msg, "ahead of this node's clock"));
    assert_int_equal(tc_ledger_check_block(c.L, &b, UINT64_MAX - 1, NULL), 0);
    /* Had 2/3 certified it, it is final, and the chain has reached its end:
     * no child can be built (no wrap to 0) nor pass a check. */
    assert_int_equal(certify_apply(&c, &b, NULL), 0);
    tc_block child;
    assert_int_equal(build_at(&c, now, &child, &e), TC_EBLK_TIME);
    assert_non_null(strstr(e.msg, "no block can follow it"));
    assert_int_equal(build_at(&c, UINT64_MAX, &child, &e), TC_EBLK_TIME);
    assert_non_null(strstr(e.msg, "no block can follow it"));
    /* A child made by hand (right height and parent) at any time. */
    tc_block_init(&child);
    child.hdr = b.hdr;
    child.hdr.height++;
    tc_header_hash(&b.hdr, &child.hdr.prev);
    static const uint64_t times[] = {0, 1, 1763800000000ull, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        child.hdr.time_ms = times[i];
        assert_int_equal(tc_ledger_check_block(c.L, &child, UINT64_MAX, &e), TC_EBLK_TIME);
        assert_non_null(strstr(e.msg, "no block can follow it"));
        assert_int_equal(tc_ledger_check_block(c.L, &child, now, NULL), TC_EBLK_TIME);
    }
    tc_block_release(&child);
    tc_block_release(&b);
    testchain_release(&c);
}

/* Puts tx into a block built around it (bypassing the builder's filter) and
 * expects the apply to fail with code and a message containing `needle`. */
static void expect_tx_rejected(testchain *c, const tc_tx *tx, int code, const char *needle)
{
    tc_errmsg e = {""};
    uint64_t fee;
    int err = tc_ledger_check_tx(c->L, tx, &fee, &e);
    if (err != code)
        fail_msg("check_tx: expected %s, got %s: %s", tc_errname(code), tc_errname(err), e.msg);
    if (needle && strstr(e.msg, needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, needle);
    tc_block b;
    testchain_build(c, NULL, 0, &b);
    tc_block_add_tx(&b, tx);
    reseal(&b);
    tc_cert cert;
    testchain_certify(c, &b, ~0ull, &cert);
    err = tc_ledger_apply_block(c->L, &b, &cert, &e);
    assert_int_equal(err, code);
    tc_cert_release(&cert);
    tc_block_release(&b);
}

static void test_tx_rules(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    coin k = user_coin(&c, 0);
    tc_tx tx;
    uint64_t fee;

    /* unknown input */
    tc_outpoint bogus = k.op;
    bogus.vout = 77;
    testchain_transfer(&c, &bogus, k.value, &c.user[0], &c.user_addr[1], 10 * TC_COIN, &tx);
    expect_tx_rejected(&c, &tx, TC_ETX_MISSING_INPUT, "input 0 spends unknown output");
    tc_tx_release(&tx);

    /* key that does not own the output */
    testchain_transfer(&c, &k.op, k.value, &c.user[1], &c.user_addr[1], 10 * TC_COIN, &tx);
    expect_tx_rejected(&c, &tx, TC_ETX_WRONG_KEY, "does not own");
    tc_tx_release(&tx);

    /* outputs above inputs */
    testchain_transfer(&c, &k.op, k.value, &c.user[0], &c.user_addr[1], 10 * TC_COIN, &tx);
    tx.out[1].value = k.value;
    tc_tx_sign_input(&tx, 0, 3, &c.user[0]);
    expect_tx_rejected(&c, &tx, TC_ETX_INSUFFICIENT, "below outputs");
    tc_tx_release(&tx);

    /* fee below the schedule: 10 TIME sent needs 1% = 0.1 TIME */
    testchain_transfer(&c, &k.op, k.value, &c.user[0], &c.user_addr[1], 10 * TC_COIN, &tx);
    tx.out[1].value += tx.out[1].value > 0 ? tc_required_fee(10 * TC_COIN) - 1 : 0;
    tc_tx_sign_input(&tx, 0, 3, &c.user[0]);
    expect_tx_rejected(&c, &tx, TC_ETX_FEE, "fee 1 sat is below the required 10000000 sat");
    tc_tx_release(&tx);

    /* dust output */
    testchain_transfer(&c, &k.op, k.value, &c.user[0], &c.user_addr[1], 10 * TC_COIN, &tx);
    tx.out[0].value = 999;
    tc_tx_sign_input(&tx, 0, 3, &c.user[0]);
    expect_tx_rejected(&c, &tx, TC_ETX_DUST, "below the dust limit");
    tc_tx_release(&tx);

    /* bad signature */
    testchain_transfer(&c, &k.op, k.value, &c.user[0], &c.user_addr[1], 10 * TC_COIN, &tx);
    tx.in[0].sig.b[5] ^= 1;
    expect_tx_rejected(&c, &tx, TC_ESIG, "input 0: bad signature");
    tc_tx_release(&tx);

    /* lock time in the future */
    testchain_transfer(&c, &k.op, k.value, &c.user[0], &c.user_addr[1], 10 * TC_COIN, &tx);
    tx.lock_time = 50;
    tc_tx_sign_input(&tx, 0, 3, &c.user[0]);
    expect_tx_rejected(&c, &tx, TC_ETX_LOCKTIME, "lock time 50");
    tc_tx_release(&tx);

    /* the same outpoint twice in one transaction */
    testchain_transfer(&c, &k.op, k.value, &c.user[0], &c.user_addr[1], 10 * TC_COIN, &tx);
    tx.in = realloc(tx.in, 2 * sizeof *tx.in);
    tx.in[1] = tx.in[0];
    tx.n_in = 2;
    expect_tx_rejected(&c, &tx, TC_ETX_DUP_INPUT, "spent twice");
    tc_tx_release(&tx);

    /* a good one passes, then spending it again in a later block fails */
    coin k2 = k;
    pay(&c, &k2, 0, &c.user_addr[1], 10 * TC_COIN, &tx);
    assert_int_equal(tc_ledger_check_tx(c.L, &tx, &fee, NULL), 0);
    assert_int_equal(fee, tc_required_fee(10 * TC_COIN));
    assert_int_equal(testchain_next(&c, &tx, 1, NULL, NULL), 0);
    expect_tx_rejected(&c, &tx, TC_ETX_DOUBLE_SPEND, "already on chain");
    tc_tx_release(&tx);
    tc_tx spend_again;
    testchain_transfer(&c, &k.op, k.value, &c.user[0], &c.user_addr[2], 5 * TC_COIN, &spend_again);
    expect_tx_rejected(&c, &spend_again, TC_ETX_MISSING_INPUT, "spends unknown output");
    tc_tx_release(&spend_again);

    /* two spends of one coin in one block: the second finds it gone */
    tc_tx a, b2;
    coin ka = k2, kb = k2;
    pay(&c, &ka, 0, &c.user_addr[1], 3 * TC_COIN, &a);
    pay(&c, &kb, 0, &c.user_addr[2], 4 * TC_COIN, &b2);
    tc_block blk;
    testchain_build(&c, &a, 1, &blk);
    tc_block_add_tx(&blk, &b2);
    reseal(&blk);
    expect_block_error(&c, &blk, TC_ETX_MISSING_INPUT);
    tc_block_release(&blk);
    /* and the builder leaves the conflicting one out */
    const tc_tx *both[2] = {&a, &b2};
    size_t skipped = 0;
    tc_cert last;
    testchain_tip_cert(&c, &last);
    tc_valset vs;
    assert_int_equal(tc_ledger_valset(c.L, tc_ledger_height(c.L) + 1, &vs), 0);
    assert_int_equal(tc_ledger_build_block(c.L, both, 2, 1763800000000ull, &vs.v[0].key, &last, &blk, &skipped, NULL), 0);
    assert_int_equal(skipped, 1);
    assert_int_equal(blk.n_tx, 2);
    tc_block_release(&blk);
    tc_valset_release(&vs);
    tc_cert_release(&last);
    tc_tx_release(&a);
    tc_tx_release(&b2);
    testchain_release(&c);
}

static void test_reward_and_fees(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    /* block 1: no certificate yet, the 4 genesis validators share 100 TIME */
    tc_block b1;
    assert_int_equal(testchain_next(&c, NULL, 0, &b1, NULL), 0);
    assert_int_equal(b1.txs[0].n_out, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(b1.txs[0].out[i].value, 25 * TC_COIN);
    tc_block_release(&b1);
    /* block 2 with a fee: the signers of block 1's certificate share reward + fee */
    coin k = user_coin(&c, 0);
    tc_tx tx;
    pay(&c, &k, 0, &c.user_addr[1], 100 * TC_COIN, &tx);
    tc_block b2;
    assert_int_equal(testchain_next(&c, &tx, 1, &b2, NULL), 0);
    uint64_t total = 0;
    for (size_t i = 0; i < b2.txs[0].n_out; i++)
        total += b2.txs[0].out[i].value;
    assert_int_equal(total, TC_BLOCK_REWARD + tc_required_fee(100 * TC_COIN));
    tc_block_release(&b2);
    tc_tx_release(&tx);
    testchain_release(&c);
}

/* Registers a bronze masternode with collateral paid to a fresh owner key. */
static void test_masternode_lifecycle(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 3, 1000, 0);
    tc_keypair owner, op;
    testchain_key(&owner, 'O', 99);
    testchain_key(&op, 'P', 99);
    tc_address owner_addr;
    tc_address_from_pubkey(&owner_addr, &owner.pk);
    coin k = user_coin(&c, 0);
    tc_tx fund;
    pay(&c, &k, 0, &owner_addr, 1000 * TC_COIN, &fund);         /* exact bronze collateral */
    coin feecoin = k;
    tc_tx fund2;
    pay(&c, &feecoin, 0, &owner_addr, 5 * TC_COIN, &fund2);     /* pays the registration fee */
    tc_tx both[2] = {fund, fund2};
    assert_int_equal(testchain_next(&c, both, 2, NULL, NULL), 0);
    tc_outpoint col = {.vout = 0}, feeop = {.vout = 0};
    tc_tx_txid(&fund, &col.txid);
    tc_tx_txid(&fund2, &feeop.txid);

    tc_tx reg;
    tc_tx_init(&reg);
    reg.kind = TC_TX_MN_REGISTER;
    tc_tx_alloc(&reg, 1, 1);
    reg.in[0].prev = feeop;
    reg.in[0].pubkey = owner.pk;
    reg.out[0].value = 5 * TC_COIN - TC_MIN_FEE;
    reg.out[0].addr = owner_addr;
    reg.u.reg.tier = TC_TIER_BRONZE;
    reg.u.reg.collateral = col;
    reg.u.reg.owner = owner.pk;
    reg.u.reg.operator_key = op.pk;
    reg.u.reg.reward = owner_addr;
    strcpy(reg.u.reg.netaddr, "127.0.0.1:24250");
    tc_tx_sign_input(&reg, 0, 3, &owner);
    tc_tx_sign_extra(&reg, 0, 3, &owner);
    tc_tx_sign_extra(&reg, 1, 3, &op);

    /* wrong collateral amount: point at the 5 TIME output instead */
    tc_tx bad;
    tc_tx_copy(&bad, &reg);
    bad.u.reg.collateral = feeop;
    tc_tx_sign_input(&bad, 0, 3, &owner);
    tc_tx_sign_extra(&bad, 0, 3, &owner);
    tc_tx_sign_extra(&bad, 1, 3, &op);
    expect_tx_rejected(&c, &bad, TC_EMN_COLLATERAL, NULL);
    tc_tx_release(&bad);
    /* operator signature missing (signed by the owner instead) */
    tc_tx_copy(&bad, &reg);
    tc_tx_sign_extra(&bad, 1, 3, &owner);
    expect_tx_rejected(&c, &bad, TC_ESIG, "signature 1");
    tc_tx_release(&bad);

    uint64_t fee;
    tc_errmsg e;
    if (tc_ledger_check_tx(c.L, &reg, &fee, &e))
        fail_msg("register: %s", e.msg);
    assert_int_equal(testchain_next(&c, &reg, 1, NULL, NULL), 0); /* registered at height 2 */
    uint64_t reg_height = tc_ledger_height(c.L);
    /* a second registration of the same collateral is refused */
    expect_tx_rejected(&c, &reg, TC_ETX_DOUBLE_SPEND, NULL);

    tc_valset vs;
    assert_int_equal(tc_ledger_valset(c.L, reg_height + 1, &vs), 0);
    assert_int_equal(vs.n, 4); /* not active before the activation delay */
    tc_valset_release(&vs);
    while (tc_ledger_height(c.L) < reg_height + 2)
        assert_int_equal(testchain_next(&c, NULL, 0, NULL, NULL), 0);
    assert_int_equal(tc_ledger_valset(c.L, reg_height + 3, &vs), 0);
    assert_int_equal(vs.n, 5);
    assert_true(tc_valset_find(&vs, &op.pk) >= 0);
    tc_valset_release(&vs);

    /* the collateral cannot be spent while registered */
    tc_tx spend;
    testchain_transfer(&c, &col, 1000 * TC_COIN, &owner, &c.user_addr[3], 900 * TC_COIN, &spend);
    expect_tx_rejected(&c, &spend, TC_ETX_LOCKED, "deregister it first");
    /* deregistered: out of the set from the next block, the collateral
     * locked until the unbonding period is over */
    tc_tx dereg;
    tc_tx_init(&dereg);
    dereg.kind = TC_TX_MN_DEREGISTER;
    tc_tx_alloc(&dereg, 1, 1);
    tc_tx_txid(&reg, &dereg.in[0].prev.txid);
    dereg.in[0].pubkey = owner.pk;
    dereg.out[0].value = 5 * TC_COIN - 2 * TC_MIN_FEE;
    dereg.out[0].addr = owner_addr;
    dereg.u.dereg.collateral = col;
    dereg.u.dereg.owner = owner.pk;
    tc_tx_sign_input(&dereg, 0, 3, &owner);
    tc_tx_sign_extra(&dereg, 0, 3, &owner);
    assert_int_equal(testchain_next(&c, &dereg, 1, NULL, NULL), 0);
    tc_mn m;
    assert_int_equal(tc_ledger_get_mn(c.L, &col, &m), 0);
    assert_int_equal(m.unbond_height, tc_ledger_height(c.L) + c.g.cp.unbonding_blocks);
    assert_int_equal(tc_ledger_valset(c.L, tc_ledger_height(c.L) + 1, &vs), 0);
    assert_int_equal(vs.n, 4);
    tc_valset_release(&vs);
    while (tc_ledger_height(c.L) + 2 < m.unbond_height)
        assert_int_equal(testchain_next(&c, NULL, 0, NULL, NULL), 0);
    expect_tx_rejected(&c, &spend, TC_ETX_LOCKED, "unbonding until height");
    assert_int_equal(testchain_next(&c, NULL, 0, NULL, NULL), 0);
    /* the next block is the first that may spend it; spending removes the record */
    assert_int_equal(testchain_next(&c, &spend, 1, NULL, NULL), 0);
    assert_int_equal(tc_ledger_get_mn(c.L, &col, &m), TC_ENOTFOUND);

    /* and the spend rolls back: the masternode is back, unbonding */
    assert_int_equal(tc_ledger_rollback_tip(c.L, NULL), 0);
    assert_int_equal(tc_ledger_get_mn(c.L, &col, &m), 0);
    assert_int_equal(m.registered_height, reg_height);
    assert_true(m.unbond_height > 0);
    assert_commitment_consistent(&c);
    tc_tx_release(&dereg);
    tc_tx_release(&spend);
    tc_tx_release(&reg);
    tc_tx_release(&fund);
    tc_tx_release(&fund2);
    testchain_release(&c);
}

static void test_jail_absent_validator_and_unjail(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 3, 0);
    assert_int_equal(testchain_next(&c, NULL, 0, NULL, NULL), 0);
    /* validator 3 never signs: blocks 2.. carry certificates without it */
    for (int i = 0; i < 4; i++) {
        tc_block b;
        tc_cert cert;
        testchain_build(&c, NULL, 0, &b);
        testchain_certify(&c, &b, 0x7, &cert);
        tc_errmsg e;
        if (tc_ledger_apply_block(c.L, &b, &cert, &e))
            fail_msg("block: %s", e.msg);
        tc_cert_release(&cert);
        tc_block_release(&b);
    }
    tc_valset vs;
    assert_int_equal(tc_ledger_valset(c.L, tc_ledger_height(c.L) + 1, &vs), 0);
    assert_int_equal(vs.n, 3);
    assert_true(tc_valset_find(&vs, &c.val[3].pk) < 0);
    tc_valset_release(&vs);

    tc_mn m;
    tc_outpoint col = c.g.mn[3].collateral;
    assert_int_equal(tc_ledger_get_mn(c.L, &col, &m), 0);
    assert_true(m.jailed);
    /* unjail, paid by the owner from a user gift */
    coin k = user_coin(&c, 0);
    tc_tx gift;
    tc_address owner_addr;
    tc_address_from_pubkey(&owner_addr, &c.owner[3].pk);
    pay(&c, &k, 0, &owner_addr, 2 * TC_COIN, &gift);
    assert_int_equal(testchain_next(&c, &gift, 1, NULL, NULL), 0);
    tc_tx un;
    tc_tx_init(&un);
    un.kind = TC_TX_MN_UNJAIL;
    tc_tx_alloc(&un, 1, 1);
    tc_tx_txid(&gift, &un.in[0].prev.txid);
    un.in[0].prev.vout = 0;
    un.in[0].pubkey = c.owner[3].pk;
    un.out[0].value = 2 * TC_COIN - TC_MIN_FEE;
    un.out[0].addr = owner_addr;
    un.u.unjail.collateral = col;
    un.u.unjail.owner = c.val[3].pk;
    tc_tx_sign_input(&un, 0, 3, &c.owner[3]);
    tc_tx_sign_extra(&un, 0, 3, &c.val[3]);
    tc_errmsg e;
    int err = testchain_next(&c, &un, 1, NULL, &e);
    if (err)
        fail_msg("unjail: %s", e.msg);
    assert_int_equal(tc_ledger_get_mn(c.L, &col, &m), 0);
    assert_false(m.jailed);
    assert_int_equal(tc_ledger_valset(c.L, tc_ledger_height(c.L) + 1, &vs), 0);
    assert_int_equal(vs.n, 4);
    tc_valset_release(&vs);
    /* unjailing a validator that is not jailed is refused */
    expect_tx_rejected(&c, &un, TC_ETX_DOUBLE_SPEND, NULL);
    tc_tx_release(&un);
    tc_tx_release(&gift);
    testchain_release(&c);
}

static void test_evidence_jails_double_signer(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    assert_int_equal(testchain_next(&c, NULL, 0, NULL, NULL), 0);
    tc_tx ev;
    tc_tx_init(&ev);
    ev.kind = TC_TX_EVIDENCE;
    tc_vote *a = &ev.u.evidence.a, *b = &ev.u.evidence.b;
    a->type = b->type = TC_VOTE_PREVOTE;
    a->height = b->height = 1;
    a->block.b[0] = 1;
    b->block.b[0] = 2;
    tc_vote_sign(a, 3, &c.val[2]);
    tc_vote_sign(b, 3, &c.val[2]);
    uint64_t fee;
    tc_errmsg e;
    if (tc_ledger_check_tx(c.L, &ev, &fee, &e))
        fail_msg("evidence: %s", e.msg);
    assert_int_equal(testchain_next(&c, &ev, 1, NULL, NULL), 0);
    tc_mn m;
    assert_int_equal(tc_ledger_get_mn(c.L, &c.g.mn[2].collateral, &m), 0);
    assert_true(m.jailed);
    /* votes that do not conflict are not evidence */
    b->block = a->block;
    tc_vote_sign(b, 3, &c.val[2]);
    assert_int_equal(tc_ledger_check_tx(c.L, &ev, &fee, NULL), TC_EEVIDENCE);
    tc_tx_release(&ev);
    testchain_release(&c);
}

static void test_sigcache_spares_block_verification(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    coin k = user_coin(&c, 0);
    tc_tx tx;
    pay(&c, &k, 0, &c.user_addr[1], 10 * TC_COIN, &tx);
    uint64_t fee;
    assert_int_equal(tc_ledger_check_tx(c.L, &tx, &fee, NULL), 0);
    tc_sigcache_stats s0, s1;
    tc_sigcache_get_stats(c.cache, &s0);
    tc_block b;
    testchain_build(&c, &tx, 1, &b);
    tc_sigcache_get_stats(c.cache, &s1);
    assert_int_equal(s1.verifies, s0.verifies); /* the builder's check hit the cache */
    assert_true(s1.hits > s0.hits);
    tc_block_release(&b);
    tc_tx_release(&tx);
    testchain_release(&c);
}

/* ---- batches (sync) ---------------------------------------------------------------- */

#define RUN_BLOCKS 40

static tc_block blks[RUN_BLOCKS]; /* the run of the batch tests and its certificates */
static tc_cert certs[RUN_BLOCKS];

/* A certified run of RUN_BLOCKS blocks made one by one on c: transfers in
 * every block, validator 3 silent from block 3 to 9 so it is jailed and the
 * validator set changes inside the run. */
static void make_run(testchain *c)
{
    coin k[TESTCHAIN_USERS];
    for (size_t u = 0; u < TESTCHAIN_USERS; u++)
        k[u] = user_coin(c, u);
    for (int h = 1; h <= RUN_BLOCKS; h++) {
        tc_tx txs[2];
        for (size_t u = 0; u < 2; u++)
            pay(c, &k[u], u, &c->user_addr[(u + 1) % TESTCHAIN_USERS], (uint64_t)h * TC_COIN, &txs[u]);
        tc_block *b = &blks[h - 1];
        testchain_build(c, txs, 2, b);
        testchain_certify(c, b, h >= 3 && h <= 9 ? 0x7 : ~0ull, &certs[h - 1]);
        tc_errmsg e;
        if (tc_ledger_apply_block(c->L, b, &certs[h - 1], &e))
            fail_msg("block %d: %s", h, e.msg);
        for (size_t u = 0; u < 2; u++)
            tc_tx_release(&txs[u]);
    }
}

/* Chain a, made by make_run. */
static void run_setup(testchain *a)
{
    testchain_init(a, 4, 2, 3, 1);
    make_run(a);
}

static void run_teardown(testchain *a)
{
    for (size_t i = 0; i < RUN_BLOCKS; i++) {
        tc_block_release(&blks[i]);
        tc_cert_release(&certs[i]);
    }
    testchain_release(a);
}

/* Applies blks[from, from + n) as one batch; ends as tc_ledger_apply_blocks's
 * (indexed from `from`, may be NULL). *bad as its. */
static int apply_batch_ends(testchain *c, size_t from, size_t n, const bool *ends, size_t *bad, tc_errmsg *e)
{
    const tc_block *bp[RUN_BLOCKS];
    const tc_cert *cp[RUN_BLOCKS];
    for (size_t i = 0; i < n; i++) {
        bp[i] = &blks[from + i];
        cp[i] = &certs[from + i];
    }
    return tc_ledger_apply_blocks(c->L, bp, cp, ends ? ends + from : NULL, n, bad, e);
}

static int apply_batch(testchain *c, size_t from, size_t n, size_t *bad, tc_errmsg *e)
{
    return apply_batch_ends(c, from, n, NULL, bad, e);
}

/* The index of the first block of the run after which the validator set
 * changes (the next block names another set), from `from`. */
static size_t set_change(size_t from)
{
    for (size_t i = from; i + 1 < RUN_BLOCKS; i++)
        if (!tc_hash_eq(&blks[i + 1].hdr.valset_hash, &blks[i].hdr.valset_hash))
            return i;
    fail_msg("no validator set change in the run after %zu", from);
    return 0;
}

/* Batches of any size leave exactly the store that one-by-one apply leaves,
 * undo data included (rollback to genesis is byte for byte), with or without
 * the pool. */
static void test_batch_equals_one_by_one(void **state)
{
    (void)state;
    testchain a;
    run_setup(&a);
    tc_valset vs;
    assert_int_equal(tc_ledger_valset(a.L, RUN_BLOCKS, &vs), 0);
    assert_int_equal(vs.n, 3); /* the set did change inside the run */
    tc_valset_release(&vs);
    tc_buf want;
    tc_buf_init(&want);
    dump_store(&a, &want);
    static const size_t sizes[] = {1, 7, 32};
    for (int pool = 0; pool <= 1; pool++) {
        testchain b;
        testchain_init(&b, 4, 2, 3, pool);
        tc_buf start, got;
        tc_buf_init(&start);
        tc_buf_init(&got);
        dump_store(&b, &start);
        for (size_t at = 0, s = 0; at < RUN_BLOCKS; s++) {
            size_t n = sizes[s % 3] < RUN_BLOCKS - at ? sizes[s % 3] : RUN_BLOCKS - at, bad = 99;
            tc_errmsg e;
            if (apply_batch(&b, at, n, &bad, &e))
                fail_msg("batch at %zu: %s", at, e.msg);
            at += n;
            assert_int_equal(tc_ledger_height(b.L), at);
        }
        dump_store(&b, &got);
        assert_int_equal(want.len, got.len);
        assert_memory_equal(want.p, got.p, want.len);
        assert_commitment_consistent(&b);
        /* survives a reopen, and the undo data rolls it all back */
        testchain_close(&b);
        testchain_reopen(&b);
        assert_int_equal(tc_ledger_height(b.L), RUN_BLOCKS);
        for (int h = RUN_BLOCKS; h >= 1; h--)
            assert_int_equal(tc_ledger_rollback_tip(b.L, NULL), 0);
        tc_buf_reset(&got);
        dump_store(&b, &got);
        assert_int_equal(start.len, got.len);
        assert_memory_equal(start.p, got.p, start.len);
        tc_buf_release(&start);
        tc_buf_release(&got);
        testchain_release(&b);
    }
    tc_buf_release(&want);
    run_teardown(&a);
}

/* A copy of blk that can be changed without touching the original. */
static void copy_block(const tc_block *blk, tc_block *out)
{
    tc_buf raw;
    tc_buf_init(&raw);
    tc_block_encode(blk, &raw);
    assert_int_equal(tc_block_decode(out, raw.p, raw.len), 0);
    tc_buf_release(&raw);
}

/* A bad block inside a batch: nothing of the batch is applied, the rule
 * broken is reported and *bad names the block. Same for a bad certificate
 * where one is verified (the last block's), and for a last commit with a
 * forged signature in the middle, which changes its block's hash: the next
 * block's link to it breaks. The good batch then applies (positive control). */
static void test_batch_bad_block_applies_nothing(void **state)
{
    (void)state;
    testchain a;
    run_setup(&a);
    static const struct {
        size_t at, n; /* what is broken; the run's length from block 1 */
        int want;
        size_t bad; /* the block blamed */
        const char *what;
    } cases[] = {
        {12, 20, TC_EBLK_REWARD, 12, "the coinbase pays too much"},
        {12, 13, TC_ESIG, 12, "the last block's certificate has a forged signature"},
        {12, 13, TC_ECERT_QUORUM, 12, "the last block's certificate is short of quorum"},
        {13, 20, TC_ECERT_TARGET, 13, "a last commit in the middle has a forged signature"},
        {13, 20, TC_EBLK_PREV, 14, "the same with a certificate retargeted to it: the next block's link breaks"},
    };
    for (size_t kind = 0; kind < sizeof cases / sizeof cases[0]; kind++) {
        testchain b;
        testchain_init(&b, 4, 2, 3, 1);
        size_t at = cases[kind].at, bad = 99;
        tc_block saved = blks[at];
        tc_cert_sig saved_sig = certs[at].sigs[0];
        size_t saved_n = certs[at].n;
        bool block = cases[kind].want != TC_ESIG && cases[kind].want != TC_ECERT_QUORUM;
        if (block) {
            copy_block(&saved, &blks[at]);
            if (cases[kind].want == TC_EBLK_REWARD)
                blks[at].txs[0].out[0].value++;
            else
                blks[at].last_commit.sigs[0].sig.b[5] ^= 1;
            reseal(&blks[at]);
            if (cases[kind].want == TC_EBLK_PREV)
                tc_header_hash(&blks[at].hdr, &certs[at].block);
        } else if (cases[kind].want == TC_ESIG) {
            certs[at].sigs[0].sig.b[5] ^= 1;
        } else {
            certs[at].n = 2;
        }
        tc_errmsg e = {""};
        int err = apply_batch(&b, 0, cases[kind].n, &bad, &e);
        if (err != cases[kind].want)
            fail_msg("%s: expected %s, got %s: %s", cases[kind].what, tc_errname(cases[kind].want), tc_errname(err),
                     e.msg);
        assert_true(strlen(e.msg) > 0);
        assert_int_equal(bad, cases[kind].bad);
        assert_int_equal(tc_ledger_height(b.L), 0);
        assert_commitment_consistent(&b);
        if (block) {
            tc_block_release(&blks[at]);
            blks[at] = saved;
            tc_header_hash(&saved.hdr, &certs[at].block);
        } else {
            certs[at].sigs[0] = saved_sig;
            certs[at].n = saved_n;
        }
        /* good again: the whole run applies */
        if ((err = apply_batch(&b, 0, RUN_BLOCKS, &bad, &e)))
            fail_msg("%s: good run: %s", cases[kind].what, e.msg);
        assert_int_equal(tc_ledger_height(b.L), RUN_BLOCKS);
        /* a run that does not start after the tip is refused whole */
        assert_int_equal(apply_batch(&b, 0, 2, &bad, NULL), TC_EBLK_HEIGHT);
        assert_int_equal(bad, 0);
        testchain_release(&b);
    }
    run_teardown(&a);
}

/* Between checkpoints a served certificate is checked but for its
 * signatures and not stored: a block is stored with the next block's last
 * commit, which the next checkpoint proves. A run costs the signatures of
 * its checkpoints (the last block, and the block before each change of
 * validator set), not of a certificate per block. */
static void test_batch_certifies_by_next_last_commit(void **state)
{
    (void)state;
    testchain a;
    run_setup(&a);
    testchain b;
    testchain_init(&b, 4, 2, 3, 1);
    size_t changes = 0;
    for (size_t i = 0; i + 1 < RUN_BLOCKS; i++)
        changes += !tc_hash_eq(&blks[i + 1].hdr.valset_hash, &blks[i].hdr.valset_hash);
    assert_true(changes >= 1);
    assert_true(set_change(0) != 12);
    certs[12].sigs[0].sig.b[5] ^= 1;
    tc_sigcache_stats s0, s1;
    tc_sigcache_get_stats(b.cache, &s0);
    size_t bad;
    tc_errmsg e;
    if (apply_batch(&b, 0, RUN_BLOCKS, &bad, &e))
        fail_msg("run: %s", e.msg);
    tc_sigcache_get_stats(b.cache, &s1);
    tc_cert stored;
    assert_int_equal(tc_ledger_get_cert(b.L, 13, &stored), 0);
    tc_buf x, y;
    tc_buf_init(&x);
    tc_buf_init(&y);
    tc_cert_encode(&stored, &x);
    tc_cert_encode(&blks[13].last_commit, &y);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.p, y.p, x.len);
    certs[12].sigs[0].sig.b[5] ^= 1;
    /* 2 transfers a block, 4 signers at most per checkpoint */
    uint64_t spent = s1.verifies - s0.verifies;
    if (spent > 2 * RUN_BLOCKS + 4 * (1 + changes))
        fail_msg("%llu signature verifies for %d blocks with %zu set changes", (unsigned long long)spent, RUN_BLOCKS,
                 changes);
    tc_buf_release(&x);
    tc_buf_release(&y);
    tc_cert_release(&stored);
    testchain_release(&b);
    run_teardown(&a);
}

/* Where the validator set changes the batch verifies: a forged certificate
 * of the block before the change is caught (nothing applied), though the
 * same forgery one block earlier, between checkpoints, is not looked at. A
 * block the caller marks as the end of a part (a peer's range) is verified
 * likewise. */
static void test_batch_verifies_at_set_change_and_ends(void **state)
{
    (void)state;
    testchain a;
    run_setup(&a);
    size_t c = set_change(0);
    assert_true(c >= 2 && c + 5 < RUN_BLOCKS);
    size_t n = c + 5, bad = 99;
    tc_errmsg e;
    for (int where = 0; where < 3; where++) {
        testchain b;
        testchain_init(&b, 4, 2, 3, 1);
        bool ends[RUN_BLOCKS] = {false};
        size_t at = where == 0 ? c : c - 1;
        if (where == 2)
            ends[at] = true; /* c - 1 marked: verified too */
        certs[at].sigs[0].sig.b[5] ^= 1;
        int err = apply_batch_ends(&b, 0, n, ends, &bad, &e);
        certs[at].sigs[0].sig.b[5] ^= 1;
        if (where == 1) { /* c - 1 between checkpoints: applies */
            if (err)
                fail_msg("forged certificate between checkpoints: %s", e.msg);
            assert_int_equal(tc_ledger_height(b.L), n);
        } else {
            if (err != TC_ESIG)
                fail_msg("forged certificate at %zu (set change after %zu): got %s", at, c, tc_errname(err));
            assert_int_equal(bad, at);
            assert_int_equal(tc_ledger_height(b.L), 0);
            assert_int_equal(apply_batch_ends(&b, 0, n, ends, &bad, &e), 0); /* positive control */
            assert_int_equal(tc_ledger_height(b.L), n);
        }
        assert_commitment_consistent(&b);
        testchain_release(&b);
    }
    run_teardown(&a);
}

/* A data.mdb cut short (a partial copy) is refused at open, naming the file
 * and the remedy, instead of SIGBUS on the first read past its end. */
static void test_truncated_store_refused(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(testchain_next(&c, NULL, 0, NULL, NULL), 0);
    testchain_close(&c);
    char file[300];
    snprintf(file, sizeof file, "%s/data.mdb", c.dir);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_true(st.st_size > 4 * 4096);
    tc_ledger *L;
    tc_errmsg e;
    tc_ledger_opts o = {1ull << 30, c.cache, c.pool};
    assert_int_equal(tc_ledger_open(&L, c.dir, &c.g, &o, &e), 0); /* control: intact, it opens */
    tc_ledger_close(L);
    assert_int_equal(truncate(file, st.st_size / 2), 0);
    assert_int_equal(tc_ledger_open(&L, c.dir, &c.g, &o, &e), TC_ECORRUPT);
    assert_non_null(strstr(e.msg, "data.mdb is"));
    assert_non_null(strstr(e.msg, "truncated"));
    assert_non_null(strstr(e.msg, "hint:"));
    assert_int_equal(stat(file, &st), 0); /* nothing was written to it */
    testchain_release(&c);
}

/* Damage LMDB meets while the store is open (pages zeroed under it, as a
 * failing disk or a stray write would) fails the read with TC_ECORRUPT and
 * marks the store damaged for good, which the node stops on. */
static void test_damage_while_open_is_flagged(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(testchain_next(&c, NULL, 0, NULL, NULL), 0);
    tc_buf blk, cert;
    tc_buf_init(&blk);
    tc_buf_init(&cert);
    assert_int_equal(tc_ledger_get_raw(c.L, 5, &blk, &cert), 0); /* control: intact, it reads */
    assert_null(tc_chainstore_damaged(c.L));
    char file[300];
    snprintf(file, sizeof file, "%s/data.mdb", c.dir);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    int fd = open(file, O_WRONLY);
    assert_true(fd >= 0);
    static const uint8_t zero[4096];
    for (off_t off = 2 * 4096; off < st.st_size; off += 4096) /* every page but the two meta pages */
        assert_int_equal(pwrite(fd, zero, sizeof zero, off), (ssize_t)sizeof zero);
    close(fd);
    assert_int_equal(tc_ledger_get_raw(c.L, 5, &blk, &cert), TC_ECORRUPT);
    const char *why = tc_chainstore_damaged(c.L);
    assert_non_null(why);
    assert_non_null(strstr(why, "MDB_"));
    assert_int_equal(tc_ledger_get_raw(c.L, 6, &blk, &cert), TC_ECORRUPT);
    assert_ptr_equal(tc_chainstore_damaged(c.L), why); /* the first damage seen stays */
    tc_buf_release(&blk);
    tc_buf_release(&cert);
    testchain_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genesis_open_reopen_foreign),
        cmocka_unit_test(test_damage_while_open_is_flagged),
        cmocka_unit_test(test_apply_100_rollback_all_byte_for_byte),
        cmocka_unit_test(test_block_rules),
        cmocka_unit_test(test_block_time_rules),
        cmocka_unit_test(test_tx_rules),
        cmocka_unit_test(test_reward_and_fees),
        cmocka_unit_test(test_masternode_lifecycle),
        cmocka_unit_test(test_jail_absent_validator_and_unjail),
        cmocka_unit_test(test_evidence_jails_double_signer),
        cmocka_unit_test(test_sigcache_spares_block_verification),
        cmocka_unit_test(test_batch_equals_one_by_one),
        cmocka_unit_test(test_batch_bad_block_applies_nothing),
        cmocka_unit_test(test_batch_verifies_at_set_change_and_ends),
        cmocka_unit_test(test_batch_certifies_by_next_last_commit),
        cmocka_unit_test(test_truncated_store_refused),
    };
    return cmocka_run_group_tests_name("ledger", tests, NULL, NULL);
}
