/* The state-transition function (chain/transition.h, chain/mnstate.h) over
 * an in-memory state (memstate.h): no LMDB. One test per rule: the header
 * rules including block time, the body rules, the effects of transactions
 * and of the end of a block, building = applying, the reward set, and every
 * masternode transition (register, activation delay, update, deregister and
 * unbonding, unjail, jail by missed liveness, slash by evidence, also while
 * unbonding, the last validator). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "chain/mnstate.h"
#include "chain/transition.h"
#include "memstate.h"
#include "testchain.h"

/* ---- fixture: a chain over memory ------------------------------------------------ */

typedef struct {
    testchain c; /* keys and genesis only */
    memstate ms;
    tc_rules r;
    tc_header tip;
    tc_hash tip_hash;
    tc_cert tip_cert; /* the tip's certificate, carried by the next block */
} memchain;

static void mc_init(memchain *m, size_t n_val, uint32_t delay, uint32_t jail_after)
{
    tc_block g;
    testchain_init_genesis(&m->c, n_val, delay, jail_after);
    memstate_init(&m->ms);
    assert_int_equal(tc_genesis_apply(&m->ms.st, &m->c.g), 0);
    m->r = (tc_rules){&m->c.g, NULL, NULL, false};
    tc_genesis_block(&m->c.g, &g);
    m->tip = g.hdr;
    tc_header_hash(&g.hdr, &m->tip_hash);
    tc_block_release(&g);
    tc_cert_init(&m->tip_cert);
}

static void mc_release(memchain *m)
{
    tc_cert_release(&m->tip_cert);
    memstate_release(&m->ms);
    testchain_release(&m->c);
}

static const tc_keypair *operator_of(const memchain *m, const tc_pubkey *pk)
{
    for (size_t i = 0; i < m->c.n_val; i++)
        if (memcmp(m->c.val[i].pk.b, pk->b, 32) == 0)
            return &m->c.val[i];
    return NULL;
}

/* The validators of blk's height whose bit (genesis order) is in mask sign a
 * precommit for it. */
static void mc_certify(memchain *m, const tc_block *blk, uint64_t mask, tc_cert *out)
{
    tc_valset vs;
    assert_int_equal(m->ms.st.get_valset(&m->ms, blk->hdr.height, &vs), 0);
    tc_cert_init(out);
    out->height = blk->hdr.height;
    tc_header_hash(&blk->hdr, &out->block);
    for (size_t i = 0; i < vs.n; i++) {
        const tc_keypair *kp = operator_of(m, &vs.v[i].key);
        if (kp == NULL || !(mask >> (kp - m->c.val) & 1))
            continue;
        tc_vote v = {.type = TC_VOTE_PRECOMMIT, .height = out->height, .round = 0, .block = out->block};
        tc_vote_sign(&v, m->c.g.chain_id, kp);
        assert_int_equal(tc_cert_add(out, &v), 0);
    }
    tc_valset_release(&vs);
}

/* Builds the next block from txs on a copy of the state (dated a second
 * after the tip); *built, if not NULL, receives that copy. */
static void mc_build(memchain *m, const tc_tx *txs, size_t n, tc_block *out, memstate *built)
{
    memstate tmp;
    tc_valset vs;
    tc_errmsg e;
    const tc_tx *ptrs[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &txs[i];
    memstate_copy(&tmp, &m->ms);
    assert_int_equal(m->ms.st.get_valset(&m->ms, m->tip.height + 1, &vs), 0);
    int err = tc_block_build(&m->r, &tmp.st, &m->tip, &m->tip_hash, ptrs, n, m->tip.time_ms + 1000, &vs.v[0].key,
                             &m->tip_cert, out, NULL, &e);
    if (err)
        fail_msg("build: %s", e.msg);
    tc_valset_release(&vs);
    if (built)
        *built = tmp;
    else
        memstate_release(&tmp);
}

/* Applies blk to a copy of the state, which replaces it on success; the tip
 * moves and mask says who signs its certificate. The state is untouched on
 * failure. */
static int mc_apply(memchain *m, const tc_block *blk, uint64_t mask, tc_errmsg *e)
{
    memstate tmp;
    tc_valset vs;
    memstate_copy(&tmp, &m->ms);
    int err = tc_block_apply(&m->r, &tmp.st, &m->tip, &m->tip_hash, blk, NULL, &vs, e);
    tc_valset_release(&vs);
    if (err) {
        memstate_release(&tmp);
        return err;
    }
    memstate_release(&m->ms);
    memstate_copy(&m->ms, &tmp);
    memstate_release(&tmp);
    m->tip = blk->hdr;
    tc_header_hash(&blk->hdr, &m->tip_hash);
    tc_cert_release(&m->tip_cert);
    mc_certify(m, blk, mask, &m->tip_cert);
    return 0;
}

static void mc_next(memchain *m, const tc_tx *txs, size_t n, uint64_t mask)
{
    tc_block b;
    tc_errmsg e;
    mc_build(m, txs, n, &b, NULL);
    if (mc_apply(m, &b, mask, &e))
        fail_msg("apply: %s", e.msg);
    tc_block_release(&b);
}

static void expect_header(memchain *m, const tc_block *blk, const uint64_t *now_ms, int code)
{
    tc_valset vs;
    tc_errmsg e = {""};
    int err = tc_block_check_header(&m->r, &m->ms.st, &m->tip, &m->tip_hash, blk, now_ms, &vs, &e);
    tc_valset_release(&vs);
    if (err != code)
        fail_msg("expected %s, got %s: %s", tc_errname(code), tc_errname(err), e.msg);
}

static void expect_apply(memchain *m, const tc_block *blk, int code)
{
    tc_errmsg e = {""};
    int err = mc_apply(m, blk, ~0ull, &e);
    if (err != code)
        fail_msg("expected %s, got %s: %s", tc_errname(code), tc_errname(err), e.msg);
}

/* Re-derives the header fields that depend on the body. */
static void reseal(tc_block *blk)
{
    tc_block_tx_root(blk, NULL, &blk->hdr.tx_root);
    tc_cert_hash(&blk->last_commit, &blk->hdr.last_commit_hash);
}

static void block_copy(tc_block *dst, const tc_block *src)
{
    tc_buf b;
    tc_buf_init(&b);
    tc_block_encode(src, &b);
    assert_int_equal(tc_block_decode(dst, b.p, b.len), 0);
    tc_buf_release(&b);
}

static void derive(memchain *m, uint64_t height, tc_valset *vs)
{
    assert_int_equal(tc_valset_derive(vs, height, m->ms.st.each_mn, &m->ms), 0);
}

static bool votes_at(memchain *m, const tc_pubkey *op, uint64_t height)
{
    tc_valset vs;
    derive(m, height, &vs);
    bool in = tc_valset_find(&vs, op) >= 0;
    tc_valset_release(&vs);
    return in;
}

static tc_mn get_mn(memchain *m, const tc_outpoint *col)
{
    tc_mn mn;
    assert_int_equal(m->ms.st.view.get_mn(&m->ms, col, &mn), 0);
    return mn;
}

/* ---- genesis and header rules --------------------------------------------------------- */

static void test_genesis_state(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 5);
    tc_block g;
    tc_hash cbid, digest;
    tc_genesis_block(&m.c.g, &g);
    tc_tx_txid(&g.txs[0], &cbid);
    assert_int_equal(m.ms.n_utxo, g.txs[0].n_out);
    assert_true(m.ms.utxo[0].u.flags & TC_UTXO_COINBASE);
    assert_int_equal(m.ms.st.view.has_tx(&m.ms, &cbid), 1);
    assert_int_equal(m.ms.n_mn, 4);
    assert_int_equal(m.ms.n_vs, 1);
    assert_int_equal(m.ms.vs[0].height, 1);
    assert_int_equal(m.ms.vs[0].vs.n, 4);
    m.ms.st.utxo_commitment(&m.ms, &digest);
    assert_memory_equal(digest.b, g.hdr.utxo_commitment.b, 32);
    tc_block_release(&g);
    mc_release(&m);
}

static void test_header_frame(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 5);
    tc_block b;
    mc_build(&m, NULL, 0, &b, NULL);
    expect_header(&m, &b, NULL, 0);
    b.hdr.version = 2;
    expect_header(&m, &b, NULL, TC_EBLK_VERSION);
    b.hdr.version = TC_BLOCK_VERSION;
    b.hdr.chain_id = 1;
    expect_header(&m, &b, NULL, TC_EBLK_CHAIN);
    b.hdr.chain_id = m.c.g.chain_id;
    b.hdr.height = 2;
    expect_header(&m, &b, NULL, TC_EBLK_HEIGHT);
    b.hdr.height = 1;
    b.hdr.prev.b[0] ^= 1;
    expect_header(&m, &b, NULL, TC_EBLK_PREV);
    b.hdr.prev = m.tip_hash;
    expect_header(&m, &b, NULL, 0);
    tc_block_release(&b);
    mc_release(&m);
}

/* Parent rule: parent + 1 and later pass, the parent's own time does not, a
 * parent dated UINT64_MAX has no child. Clock rule (live proposals only):
 * now + drift passes, one more does not, now + drift saturates. */
static void test_header_block_time(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 5);
    tc_block b;
    mc_build(&m, NULL, 0, &b, NULL);
    uint64_t parent = m.tip.time_ms, drift = m.c.g.net->max_block_drift_ms;
    b.hdr.time_ms = parent + 1;
    expect_header(&m, &b, NULL, 0);
    b.hdr.time_ms = parent;
    expect_header(&m, &b, NULL, TC_EBLK_TIME);
    b.hdr.time_ms = parent - 1;
    expect_header(&m, &b, NULL, TC_EBLK_TIME);
    /* the clock rule */
    uint64_t now = parent + 5000;
    b.hdr.time_ms = now + drift;
    expect_header(&m, &b, &now, 0);
    expect_header(&m, &b, NULL, 0);
    b.hdr.time_ms = now + drift + 1;
    expect_header(&m, &b, &now, TC_EBLK_TIME);
    expect_header(&m, &b, NULL, 0); /* a certified block is not held to this node's clock */
    uint64_t late = UINT64_MAX - 1;
    b.hdr.time_ms = UINT64_MAX;
    expect_header(&m, &b, &late, 0); /* now + drift saturates instead of wrapping to a small time */
    /* a parent dated UINT64_MAX: no time is after it */
    m.tip.time_ms = UINT64_MAX;
    expect_header(&m, &b, NULL, TC_EBLK_TIME);
    tc_block_release(&b);
    mc_release(&m);
}

static void test_header_coinbase_and_size(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 5);
    tc_block b;
    mc_build(&m, NULL, 0, &b, NULL);
    tc_tx cb;
    tc_tx_copy(&cb, &b.txs[0]);
    b.txs[0].kind = TC_TX_TRANSFER;
    expect_header(&m, &b, NULL, TC_EBLK_REWARD);
    b.txs[0].kind = TC_TX_COINBASE;
    tc_block_add_tx(&b, &cb); /* a second coinbase */
    expect_header(&m, &b, NULL, TC_EBLK_REWARD);
    tc_tx_release(&cb);
    tc_block_release(&b);
    /* over 2 MB */
    mc_build(&m, NULL, 0, &b, NULL);
    tc_tx big;
    tc_tx_init(&big);
    tc_tx_alloc(&big, 1, TC_MAX_BLOCK_SIZE / 41 + 1);
    tc_block_add_tx(&b, &big);
    expect_header(&m, &b, NULL, TC_EBLK_SIZE);
    tc_tx_release(&big);
    tc_block_release(&b);
    mc_release(&m);
}

static void test_header_proposer_valset_last_commit(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 5);
    tc_block b;
    mc_build(&m, NULL, 0, &b, NULL);
    b.hdr.proposer = m.c.user[0].pk;
    expect_header(&m, &b, NULL, TC_EBLK_PROPOSER);
    b.hdr.proposer = m.c.val[1].pk;
    expect_header(&m, &b, NULL, 0); /* any validator of the height may propose */
    b.hdr.valset_hash.b[0] ^= 1;
    expect_header(&m, &b, NULL, TC_EBLK_VALSET);
    b.hdr.valset_hash.b[0] ^= 1;
    b.hdr.last_commit_hash.b[0] ^= 1;
    expect_header(&m, &b, NULL, TC_EBLK_LAST_COMMIT);
    /* block 1 carries an empty last commit */
    tc_cert_release(&b.last_commit);
    mc_certify(&m, &b, ~0ull, &b.last_commit);
    reseal(&b);
    expect_header(&m, &b, NULL, TC_EBLK_LAST_COMMIT);
    tc_block_release(&b);
    /* block 2's last commit needs a quorum of height 1 (3 of 4) */
    mc_next(&m, NULL, 0, 0x3);
    mc_build(&m, NULL, 0, &b, NULL);
    expect_header(&m, &b, NULL, TC_EBLK_LAST_COMMIT);
    tc_block_release(&b);
    mc_release(&m);
}

/* ---- body rules and effects -------------------------------------------------------------- */

static void test_body_rules(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 5);
    tc_tx pay, spend_change;
    tc_outpoint in = testchain_user_outpoint(&m.c, 0);
    testchain_transfer(&m.c, &in, TESTCHAIN_USER_FUNDS, &m.c.user[0], &m.c.user_addr[1], 100 * TC_COIN, &pay);
    tc_outpoint change = {.vout = 1};
    tc_tx_txid(&pay, &change.txid);
    /* a later transaction spends an earlier one's output in the same block */
    testchain_transfer(&m.c, &change, pay.out[1].value, &m.c.user[0], &m.c.user_addr[2], 10 * TC_COIN,
                       &spend_change);
    tc_tx both[2] = {pay, spend_change};
    tc_block b;
    mc_build(&m, both, 2, &b, NULL);
    assert_int_equal(b.n_tx, 3);
    tc_block bad;
    block_copy(&bad, &b);
    bad.hdr.tx_root.b[0] ^= 1;
    expect_apply(&m, &bad, TC_EBLK_MERKLE);
    tc_block_release(&bad);
    block_copy(&bad, &b);
    bad.hdr.utxo_commitment.b[0] ^= 1;
    expect_apply(&m, &bad, TC_EBLK_UTXO);
    tc_block_release(&bad);
    block_copy(&bad, &b);
    bad.txs[0].out[0].value += 1; /* the coinbase pays one sat too much */
    reseal(&bad);
    expect_apply(&m, &bad, TC_EBLK_REWARD);
    tc_block_release(&bad);
    /* the two in the other order: the second spends what does not exist yet */
    block_copy(&bad, &b);
    tc_tx t = bad.txs[1];
    bad.txs[1] = bad.txs[2];
    bad.txs[2] = t;
    reseal(&bad);
    expect_apply(&m, &bad, TC_ETX_MISSING_INPUT);
    tc_block_release(&bad);
    expect_apply(&m, &b, 0);
    tc_block_release(&b);
    tc_tx_release(&pay);
    tc_tx_release(&spend_change);
    mc_release(&m);
}

/* A transfer's inputs leave the set, its outputs join it at the height, it
 * is indexed at its place; the coinbase's outputs are flagged and it is
 * indexed at 0. */
static void test_tx_and_coinbase_effects(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 5);
    tc_tx pay;
    tc_outpoint in = testchain_user_outpoint(&m.c, 0);
    testchain_transfer(&m.c, &in, TESTCHAIN_USER_FUNDS, &m.c.user[0], &m.c.user_addr[1], 100 * TC_COIN, &pay);
    tc_block b;
    mc_build(&m, &pay, 1, &b, NULL);
    expect_apply(&m, &b, 0);
    tc_utxo u;
    tc_hash id, cbid;
    tc_tx_txid(&pay, &id);
    tc_tx_txid(&b.txs[0], &cbid);
    assert_int_equal(m.ms.st.view.get_utxo(&m.ms, &in, &u), TC_ENOTFOUND);
    assert_int_equal(m.ms.st.view.get_utxo(&m.ms, &(tc_outpoint){id, 0}, &u), 0);
    assert_int_equal(u.value, 100 * TC_COIN);
    assert_int_equal(u.height, 1);
    assert_int_equal(u.flags, 0);
    assert_int_equal(m.ms.st.view.get_utxo(&m.ms, &(tc_outpoint){cbid, 0}, &u), 0);
    assert_int_equal(u.flags, TC_UTXO_COINBASE);
    assert_int_equal(m.ms.st.view.has_tx(&m.ms, &id), 1);
    assert_int_equal(m.ms.st.view.has_tx(&m.ms, &cbid), 1);
    for (size_t i = 0; i < m.ms.n_tx; i++) {
        if (tc_hash_eq(&m.ms.tx[i].txid, &id))
            assert_true(m.ms.tx[i].height == 1 && m.ms.tx[i].index == 1);
        if (tc_hash_eq(&m.ms.tx[i].txid, &cbid))
            assert_true(m.ms.tx[i].height == 1 && m.ms.tx[i].index == 0);
    }
    tc_block_release(&b);
    tc_tx_release(&pay);
    mc_release(&m);
}

/* Building runs the same end of block as applying: the state a proposer
 * builds in is the state the block leaves when applied (the coinbase in the
 * tx index included, which building once left out). */
static void test_build_leaves_the_applied_state(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 2);
    tc_tx pay;
    tc_outpoint in = testchain_user_outpoint(&m.c, 0);
    testchain_transfer(&m.c, &in, TESTCHAIN_USER_FUNDS, &m.c.user[0], &m.c.user_addr[1], 100 * TC_COIN, &pay);
    for (int h = 0; h < 4; h++) {
        tc_block b;
        memstate built;
        mc_build(&m, h == 1 ? &pay : NULL, h == 1, &b, &built);
        tc_errmsg e;
        if (mc_apply(&m, &b, 0x7, &e)) /* validator 3 misses: jailed on the way */
            fail_msg("apply: %s", e.msg);
        assert_true(memstate_equal(&built, &m.ms));
        memstate_release(&built);
        tc_block_release(&b);
    }
    tc_mn mn = get_mn(&m, &m.c.g.mn[3].collateral);
    assert_true(mn.jailed);
    tc_tx_release(&pay);
    mc_release(&m);
}

static void test_reward_set(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 5);
    tc_valset three, vs;
    tc_valset_init(&three);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(tc_valset_add(&three, &m.c.val[i].pk, 1, &m.c.user_addr[0]), 0);
    assert_int_equal(m.ms.st.put_valset(&m.ms, 3, &three), 0);
    assert_int_equal(tc_block_reward_set(&m.ms.st, 1, &vs), 0); /* height 1: the set of height 1 */
    assert_int_equal(vs.n, 4);
    tc_valset_release(&vs);
    assert_int_equal(tc_block_reward_set(&m.ms.st, 3, &vs), 0); /* the signers of block 2: set of 2 */
    assert_int_equal(vs.n, 4);
    tc_valset_release(&vs);
    assert_int_equal(tc_block_reward_set(&m.ms.st, 4, &vs), 0); /* of block 3: set of 3 */
    assert_int_equal(vs.n, 3);
    tc_valset_release(&vs);
    tc_valset_release(&three);
    mc_release(&m);
}

/* ---- masternode transitions -------------------------------------------------------------- */

static void reg_tx(memchain *m, const tc_outpoint *col, const tc_keypair *op, tc_tx *tx)
{
    tc_tx_init(tx);
    tx->kind = TC_TX_MN_REGISTER;
    tx->u.reg.tier = TC_TIER_BRONZE;
    tx->u.reg.collateral = *col;
    tx->u.reg.owner = m->c.user[1].pk;
    tx->u.reg.operator_key = op->pk;
    tx->u.reg.reward = m->c.user_addr[1];
    strcpy(tx->u.reg.netaddr, "127.0.0.1:24250");
}

/* The end of a block at height h with an empty coinbase-like output. */
static void finish(memchain *m, uint64_t h, const tc_cert *last_commit)
{
    tc_tx cb;
    tc_hash id;
    tc_tx_init(&cb);
    cb.kind = TC_TX_COINBASE;
    cb.u.coinbase_height = h;
    tc_tx_alloc(&cb, 0, 1);
    cb.out[0].value = TC_BLOCK_REWARD;
    cb.out[0].addr = m->c.user_addr[0];
    tc_tx_txid(&cb, &id);
    assert_int_equal(tc_block_finish(&m->ms.st, &m->c.g.cp, h, &cb, &id, last_commit), 0);
    tc_tx_release(&cb);
}

/* A registration at h votes from h + activation_delay (a delay of 0 counts
 * as 1), and the set of that height is recorded then, not before. */
static void test_mn_register_and_activation_delay(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 3, 1000);
    tc_keypair op, op0;
    testchain_key(&op, 'P', 1);
    testchain_key(&op0, 'P', 2);
    tc_outpoint col = testchain_user_outpoint(&m.c, 1), col0 = testchain_user_outpoint(&m.c, 2);
    tc_tx reg, reg0;
    reg_tx(&m, &col, &op, &reg);
    reg_tx(&m, &col0, &op0, &reg0);
    assert_int_equal(tc_mn_apply_register(&m.ms.st, &m.c.g.cp, &reg, 5), 0);
    tc_mn mn = get_mn(&m, &col), by_op;
    assert_int_equal(mn.registered_height, 5);
    assert_int_equal(mn.active_height, 8);
    assert_int_equal(mn.tier, TC_TIER_BRONZE);
    assert_false(mn.jailed);
    assert_int_equal(m.ms.st.view.get_mn_by_operator(&m.ms, &op.pk, &by_op), 0);
    assert_memory_equal(&by_op.collateral, &col, sizeof col);
    assert_false(votes_at(&m, &op.pk, 7));
    assert_true(votes_at(&m, &op.pk, 8));
    /* the end of blocks 5 and 6 derive unchanged sets; block 7's the set of 8 */
    size_t n_vs = m.ms.n_vs;
    finish(&m, 5, &(tc_cert){0});
    finish(&m, 6, &(tc_cert){0});
    assert_int_equal(m.ms.n_vs, n_vs);
    finish(&m, 7, &(tc_cert){0});
    assert_int_equal(m.ms.n_vs, n_vs + 1);
    assert_int_equal(m.ms.vs[n_vs].height, 8);
    assert_int_equal(m.ms.vs[n_vs].vs.n, 5);
    /* activation delay 0 counts as 1 */
    tc_consensus_params cp = m.c.g.cp;
    cp.activation_delay = 0;
    assert_int_equal(tc_mn_apply_register(&m.ms.st, &cp, &reg0, 9), 0);
    assert_int_equal(get_mn(&m, &col0).active_height, 10);
    tc_tx_release(&reg);
    tc_tx_release(&reg0);
    mc_release(&m);
}

static void test_mn_update(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 1000);
    tc_mn before = get_mn(&m, &m.c.g.mn[1].collateral);
    tc_tx up;
    tc_tx_init(&up);
    up.kind = TC_TX_MN_UPDATE;
    up.u.update.collateral = before.collateral;
    up.u.update.owner = m.c.owner[1].pk;
    up.u.update.reward = m.c.user_addr[3];
    strcpy(up.u.update.netaddr, "10.0.0.1:24200");
    assert_int_equal(tc_mn_apply_update(&m.ms.st, &up), 0);
    tc_mn after = get_mn(&m, &before.collateral);
    assert_memory_equal(&after.reward, &m.c.user_addr[3], sizeof after.reward);
    assert_string_equal(after.netaddr, "10.0.0.1:24200");
    assert_memory_equal(after.operator_key.b, before.operator_key.b, 32);
    assert_int_equal(after.tier, before.tier);
    assert_int_equal(after.active_height, before.active_height);
    tc_valset vs;
    derive(&m, 1, &vs);
    long i = tc_valset_find(&vs, &after.operator_key);
    assert_true(i >= 0);
    assert_memory_equal(&vs.v[i].reward, &m.c.user_addr[3], sizeof vs.v[i].reward);
    tc_valset_release(&vs);
    /* an unknown masternode cannot be updated */
    up.u.update.collateral = testchain_user_outpoint(&m.c, 0);
    assert_int_equal(tc_mn_apply_update(&m.ms.st, &up), TC_ENOTFOUND);
    tc_tx_release(&up);
    mc_release(&m);
}

/* tc_tx_check_inputs of tx at height over m's state: its error code. */
static int check_at(memchain *m, const tc_tx *tx, uint64_t height, tc_errmsg *e)
{
    tc_hash id;
    uint64_t fee;
    tc_tx_txid(tx, &id);
    return tc_tx_check_inputs(tx, &id, &m->ms.st.view, height, &fee, e);
}

/* A transfer of masternode i's collateral (its whole value, less a fee) by
 * its owner. */
static void spend_collateral(memchain *m, size_t i, tc_tx *out)
{
    tc_utxo u;
    assert_int_equal(m->ms.st.view.get_utxo(&m->ms, &m->c.g.mn[i].collateral, &u), 0);
    testchain_transfer(&m->c, &m->c.g.mn[i].collateral, u.value, &m->c.owner[i], &m->c.user_addr[0],
                       u.value - 10 * TC_COIN, out);
}

/* A masternode transaction of `kind` whose fee comes from user 0's genesis
 * output (the payload is the caller's). */
static void mn_tx(memchain *m, uint8_t kind, tc_tx *out)
{
    tc_outpoint in = testchain_user_outpoint(&m->c, 0);
    testchain_transfer(&m->c, &in, TESTCHAIN_USER_FUNDS, &m->c.user[0], &m->c.user_addr[0],
                       TESTCHAIN_USER_FUNDS - TC_COIN, out);
    out->kind = kind;
}

/* A registered masternode's collateral cannot be spent; deregistration takes
 * it out of the validator set at once and unlocks the collateral after
 * unbonding_blocks; spending it then removes the record. */
static void test_mn_deregister_and_unbonding(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 1000);
    tc_errmsg e = {""};
    uint32_t unbond = m.c.g.cp.unbonding_blocks;
    assert_true(unbond >= 2);
    tc_tx spend;
    spend_collateral(&m, 1, &spend);
    /* bonded: refused, and the message says what to do */
    assert_int_equal(check_at(&m, &spend, 3, &e), TC_ETX_LOCKED);
    assert_non_null(strstr(e.msg, "deregister it first"));
    tc_outpoint col = m.c.g.mn[1].collateral;
    assert_int_equal(tc_mn_apply_deregister(&m.ms.st, &m.c.g.cp, &col, 3), 0);
    tc_mn mn = get_mn(&m, &col);
    assert_int_equal(mn.unbond_height, 3 + unbond);
    assert_false(votes_at(&m, &m.c.val[1].pk, 4)); /* out of the set from the next block */
    assert_true(votes_at(&m, &m.c.val[0].pk, 4));
    /* a second deregistration, an update or an unjail of it is refused */
    tc_tx dereg;
    mn_tx(&m, TC_TX_MN_DEREGISTER, &dereg);
    dereg.u.dereg.collateral = col;
    dereg.u.dereg.owner = m.c.owner[1].pk;
    assert_int_equal(check_at(&m, &dereg, 4, &e), TC_EMN_UNKNOWN);
    assert_non_null(strstr(e.msg, "already deregistered"));
    /* unbonding: still refused until unbond_height, then valid */
    assert_int_equal(check_at(&m, &spend, 3 + unbond - 1, &e), TC_ETX_LOCKED);
    assert_non_null(strstr(e.msg, "unbonding until height"));
    assert_int_equal(check_at(&m, &spend, 3 + unbond, &e), 0);
    tc_hash id;
    tc_tx_txid(&spend, &id);
    assert_int_equal(tc_tx_apply(&m.ms.st, &m.c.g.cp, 3 + unbond, &spend, &id, 1), 0);
    assert_int_equal(m.ms.st.view.get_mn(&m.ms, &col, &mn), TC_ENOTFOUND);
    assert_int_equal(m.ms.st.view.get_mn_by_operator(&m.ms, &m.c.val[1].pk, &mn), TC_ENOTFOUND);
    assert_int_equal(m.ms.n_mn, 3);
    assert_int_equal(tc_mn_apply_deregister(&m.ms.st, &m.c.g.cp, &col, 9), TC_ENOTFOUND);
    tc_tx_release(&spend);
    tc_tx_release(&dereg);
    mc_release(&m);
}

static tc_cert commit_without(memchain *m, size_t absent)
{
    tc_cert c;
    tc_cert_init(&c);
    c.sigs = calloc(m->c.n_val, sizeof *c.sigs);
    for (size_t i = 0; i < m->c.n_val; i++)
        if (i != absent)
            c.sigs[c.n++].key = m->c.val[i].pk;
    return c;
}

/* Absent from jail_after_missed certificates in a row: jailed, out of the
 * set; signing once resets the count; unjail clears both. */
static void test_mn_jail_by_missed_liveness_and_unjail(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 3);
    tc_cert without3 = commit_without(&m, 3), all = commit_without(&m, 99);
    tc_outpoint col = m.c.g.mn[3].collateral;
    assert_int_equal(tc_mn_apply_liveness(&m.ms.st, &m.c.g.cp, 1, &without3), 0); /* height 1: no certificate yet */
    assert_int_equal(get_mn(&m, &col).missed, 0);
    assert_int_equal(tc_mn_apply_liveness(&m.ms.st, &m.c.g.cp, 2, &without3), 0);
    assert_int_equal(tc_mn_apply_liveness(&m.ms.st, &m.c.g.cp, 3, &without3), 0);
    assert_int_equal(get_mn(&m, &col).missed, 2);
    assert_int_equal(tc_mn_apply_liveness(&m.ms.st, &m.c.g.cp, 4, &all), 0); /* signed: back to zero */
    assert_int_equal(get_mn(&m, &col).missed, 0);
    for (uint64_t h = 5; h < 7; h++)
        assert_int_equal(tc_mn_apply_liveness(&m.ms.st, &m.c.g.cp, h, &without3), 0);
    assert_false(get_mn(&m, &col).jailed);
    assert_int_equal(tc_mn_apply_liveness(&m.ms.st, &m.c.g.cp, 7, &without3), 0);
    tc_mn mn = get_mn(&m, &col);
    assert_true(mn.jailed);
    assert_int_equal(mn.missed, 3);
    assert_false(votes_at(&m, &m.c.val[3].pk, 8));
    assert_int_equal(get_mn(&m, &m.c.g.mn[0].collateral).missed, 0);
    /* unjail */
    tc_tx un;
    tc_tx_init(&un);
    un.kind = TC_TX_MN_UNJAIL;
    un.u.unjail.collateral = col;
    un.u.unjail.owner = m.c.val[3].pk;
    assert_int_equal(tc_mn_apply_unjail(&m.ms.st, &un), 0);
    mn = get_mn(&m, &col);
    assert_false(mn.jailed);
    assert_int_equal(mn.missed, 0);
    assert_true(votes_at(&m, &m.c.val[3].pk, 8));
    tc_tx_release(&un);
    tc_cert_release(&without3);
    tc_cert_release(&all);
    mc_release(&m);
}

static void evidence_tx(memchain *m, size_t v, tc_tx *ev)
{
    tc_tx_init(ev);
    ev->kind = TC_TX_EVIDENCE;
    tc_vote *a = &ev->u.evidence.a, *b = &ev->u.evidence.b;
    a->type = b->type = TC_VOTE_PREVOTE;
    a->height = b->height = 1;
    a->block.b[0] = 1;
    b->block.b[0] = 2;
    tc_vote_sign(a, m->c.g.chain_id, &m->c.val[v]);
    tc_vote_sign(b, m->c.g.chain_id, &m->c.val[v]);
}

static uint64_t utxo_value(memchain *m, const tc_outpoint *o)
{
    tc_utxo u;
    assert_int_equal(m->ms.st.view.get_utxo(&m->ms, o, &u), 0);
    return u.value;
}

/* Evidence jails and slashes: slash_percent of the collateral moves to an
 * output nobody can spend, the masternode can never be unjailed, and more
 * evidence against it is refused (it could only fill blocks for free). */
static void test_mn_slash_by_evidence(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 1000);
    tc_errmsg e = {""};
    tc_outpoint col = m.c.g.mn[2].collateral;
    uint64_t before = utxo_value(&m, &col);
    tc_tx ev;
    tc_hash id;
    evidence_tx(&m, 2, &ev);
    tc_tx_txid(&ev, &id);
    assert_int_equal(check_at(&m, &ev, 3, &e), 0);
    assert_int_equal(tc_mn_apply_evidence(&m.ms.st, &m.c.g.cp, &ev, &id, 3), 0);
    tc_mn mn = get_mn(&m, &col);
    assert_true(mn.jailed);
    assert_true(mn.slashed);
    assert_false(votes_at(&m, &m.c.val[2].pk, 4));
    uint64_t burn = tc_mn_slash_amount(before, m.c.g.cp.slash_percent);
    assert_true(burn > 0);
    assert_int_equal(burn, before / 100 * m.c.g.cp.slash_percent);
    assert_int_equal(utxo_value(&m, &col), before - burn);
    tc_outpoint burned = {.txid = id, .vout = 0};
    tc_utxo bu;
    tc_address none;
    tc_mn_burn_address(&none);
    assert_int_equal(m.ms.st.view.get_utxo(&m.ms, &burned, &bu), 0);
    assert_int_equal(bu.value, burn);
    assert_true(tc_address_eq(&bu.addr, &none));
    /* once is all: more evidence is refused and would change nothing */
    assert_int_equal(check_at(&m, &ev, 4, &e), TC_EEVIDENCE);
    size_t writes = m.ms.writes;
    assert_int_equal(tc_mn_apply_evidence(&m.ms.st, &m.c.g.cp, &ev, &id, 4), 0);
    assert_int_equal(m.ms.writes, writes);
    /* never unjailed */
    tc_tx un;
    mn_tx(&m, TC_TX_MN_UNJAIL, &un);
    un.u.unjail.collateral = col;
    un.u.unjail.owner = m.c.val[2].pk;
    assert_int_equal(check_at(&m, &un, 4, &e), TC_EMN_COLLATERAL);
    assert_non_null(strstr(e.msg, "slashed"));
    tc_tx_release(&un);
    tc_tx_release(&ev);
    mc_release(&m);
}

/* The escape this closes: a double signer that deregisters before its
 * evidence lands is still slashed while unbonding, and its collateral stays
 * locked all that time. Slashing never overflows. */
static void test_mn_slash_while_unbonding(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 4, 2, 1000);
    tc_errmsg e = {""};
    tc_outpoint col = m.c.g.mn[3].collateral;
    uint64_t before = utxo_value(&m, &col);
    tc_tx spend, ev;
    spend_collateral(&m, 3, &spend);
    assert_int_equal(check_at(&m, &spend, 3, &e), TC_ETX_LOCKED); /* cannot run with it */
    assert_int_equal(tc_mn_apply_deregister(&m.ms.st, &m.c.g.cp, &col, 3), 0);
    evidence_tx(&m, 3, &ev);
    tc_hash id;
    tc_tx_txid(&ev, &id);
    assert_int_equal(check_at(&m, &ev, 5, &e), 0);
    assert_int_equal(tc_mn_apply_evidence(&m.ms.st, &m.c.g.cp, &ev, &id, 5), 0);
    tc_mn mn = get_mn(&m, &col);
    assert_true(mn.slashed && mn.jailed);
    assert_int_equal(mn.unbond_height, 3 + m.c.g.cp.unbonding_blocks);
    assert_int_equal(utxo_value(&m, &col), before - tc_mn_slash_amount(before, m.c.g.cp.slash_percent));
    /* the spend of the full collateral now overspends; the rest unlocks on time */
    assert_int_equal(check_at(&m, &spend, mn.unbond_height, &e), TC_ETX_INSUFFICIENT);
    assert_int_equal(tc_mn_slash_amount(UINT64_MAX, 100), UINT64_MAX / 100 * 100 + UINT64_MAX % 100);
    assert_int_equal(tc_mn_slash_amount(UINT64_MAX, 5), UINT64_MAX / 100 * 5 + UINT64_MAX % 100 * 5 / 100);
    assert_int_equal(tc_mn_slash_amount(99, 5), 4);
    tc_tx_release(&spend);
    tc_tx_release(&ev);
    mc_release(&m);
}

/* The last validator is never jailed, by evidence or by absence: the chain
 * could then never make the block that unjails anyone. */
static void test_last_validator_never_jailed(void **state)
{
    (void)state;
    memchain m;
    mc_init(&m, 1, 2, 2);
    tc_tx ev;
    evidence_tx(&m, 0, &ev);
    tc_cert none;
    tc_cert_init(&none);
    tc_hash id;
    tc_tx_txid(&ev, &id);
    assert_int_equal(tc_mn_apply_evidence(&m.ms.st, &m.c.g.cp, &ev, &id, 3), 0);
    for (uint64_t h = 2; h < 6; h++)
        assert_int_equal(tc_mn_apply_liveness(&m.ms.st, &m.c.g.cp, h, &none), 0);
    tc_mn mn = get_mn(&m, &m.c.g.mn[0].collateral);
    assert_false(mn.jailed);
    /* the refused jailing writes nothing, the miss that would jail included */
    assert_int_equal(mn.missed, m.c.g.cp.jail_after_missed - 1);
    assert_true(votes_at(&m, &m.c.val[0].pk, 6));
    tc_tx_release(&ev);
    mc_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genesis_state),
        cmocka_unit_test(test_header_frame),
        cmocka_unit_test(test_header_block_time),
        cmocka_unit_test(test_header_coinbase_and_size),
        cmocka_unit_test(test_header_proposer_valset_last_commit),
        cmocka_unit_test(test_body_rules),
        cmocka_unit_test(test_tx_and_coinbase_effects),
        cmocka_unit_test(test_build_leaves_the_applied_state),
        cmocka_unit_test(test_reward_set),
        cmocka_unit_test(test_mn_register_and_activation_delay),
        cmocka_unit_test(test_mn_update),
        cmocka_unit_test(test_mn_deregister_and_unbonding),
        cmocka_unit_test(test_mn_jail_by_missed_liveness_and_unjail),
        cmocka_unit_test(test_mn_slash_by_evidence),
        cmocka_unit_test(test_mn_slash_while_unbonding),
        cmocka_unit_test(test_last_validator_never_jailed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
