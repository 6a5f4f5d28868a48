/* Mempool: admission with reasons, first-seen conflicts, pending chains,
 * fee-rate eviction when full, expiry, block commit (mined, conflicts,
 * re-validation), re-validation after a rollback and block-building order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mempool/mempool.h"
#include "store/chainstore.h"
#include "testchain.h"

#define T0 1763800000000ull

typedef struct {
    tc_outpoint op;
    uint64_t value;
} coin;

/* Pays amount from *k (user u's) to `to` with the required fee plus extra;
 * *k becomes the change output. */
static void pay(const testchain *c, coin *k, size_t u, const tc_address *to, uint64_t amount, uint64_t extra,
                tc_tx *tx)
{
    testchain_transfer(c, &k->op, k->value, &c->user[u], to, amount, tx);
    tx->out[1].value -= extra;
    tc_tx_sign_input(tx, 0, c->g.chain_id, &c->user[u]);
    tc_tx_txid(tx, &k->op.txid);
    k->op.vout = 1;
    k->value = tx->out[1].value;
}

static coin user_coin(const testchain *c, size_t u)
{
    coin k = {testchain_user_outpoint(c, u), TESTCHAIN_USER_FUNDS};
    return k;
}

static void expect_reject(tc_mempool *mp, const tc_tx *tx, uint64_t now, int code, const char *needle)
{
    tc_errmsg e = {""};
    int err = tc_mempool_add(mp, tx, now, NULL, &e);
    if (err != code)
        fail_msg("expected %s, got %s: %s", tc_errname(code), tc_errname(err), e.msg);
    if (needle && strstr(e.msg, needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, needle);
}

static void test_admit_duplicate_conflict_invalid(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    tc_mempool *mp = tc_mempool_new(tc_chainstore_view(c.L), NULL);
    coin k = user_coin(&c, 0), k2 = k;
    tc_tx a, b, bad;
    pay(&c, &k, 0, &c.user_addr[1], 10 * TC_COIN, 0, &a);
    tc_hash id;
    assert_int_equal(tc_mempool_add(mp, &a, T0, &id, NULL), 0);
    assert_true(tc_mempool_has(mp, &id));
    assert_non_null(tc_mempool_get(mp, &id));
    tc_mempool_stats st;
    tc_mempool_get_stats(mp, &st);
    assert_int_equal(st.txs, 1);
    assert_int_equal(st.bytes, tc_tx_size(&a));
    assert_int_equal(st.fees, tc_required_fee(10 * TC_COIN));
    expect_reject(mp, &a, T0, TC_EEXIST, "already in the mempool");
    /* the same coin spent differently: first seen wins */
    pay(&c, &k2, 0, &c.user_addr[2], 20 * TC_COIN, 0, &b);
    expect_reject(mp, &b, T0, TC_ETX_DOUBLE_SPEND, "already spent by pending transaction");
    /* invalid: a bad signature and a low fee, each with its reason */
    tc_tx_copy(&bad, &b);
    bad.in[0].prev = testchain_user_outpoint(&c, 1);
    bad.in[0].pubkey = c.user[1].pk;
    bad.in[0].sig.b[0] ^= 1;
    expect_reject(mp, &bad, T0, TC_ESIG, "input 0: bad signature");
    bad.out[1].value = TESTCHAIN_USER_FUNDS - 20 * TC_COIN - 1;
    tc_tx_sign_input(&bad, 0, 3, &c.user[1]);
    expect_reject(mp, &bad, T0, TC_ETX_FEE, "fee 1 sat is below the required");
    tc_mempool_get_stats(mp, &st);
    assert_int_equal(st.txs, 1);
    assert_int_equal(st.rejected, 4);
    tc_tx_release(&a);
    tc_tx_release(&b);
    tc_tx_release(&bad);
    tc_mempool_free(mp);
    testchain_release(&c);
}

static void test_chain_of_pending_and_select_order(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    tc_mempool *mp = tc_mempool_new(tc_chainstore_view(c.L), NULL);
    coin k = user_coin(&c, 0);
    tc_tx parent, child, other;
    pay(&c, &k, 0, &c.user_addr[1], 10 * TC_COIN, 0, &parent);           /* minimum rate */
    pay(&c, &k, 0, &c.user_addr[2], 10 * TC_COIN, 5 * TC_COIN, &child);   /* spends parent's change */
    coin k1 = user_coin(&c, 1);
    pay(&c, &k1, 1, &c.user_addr[3], 10 * TC_COIN, TC_COIN, &other);      /* in between */
    assert_int_equal(tc_mempool_add(mp, &parent, T0, NULL, NULL), 0);
    tc_errmsg e;
    if (tc_mempool_add(mp, &child, T0, NULL, &e))
        fail_msg("child: %s", e.msg);
    assert_int_equal(tc_mempool_add(mp, &other, T0, NULL, NULL), 0);
    const tc_tx *sel[8];
    assert_int_equal(tc_mempool_select(mp, sel, 8), 3);
    /* highest rate is the child, but its parent must come first */
    tc_hash ids[3], p, ch, o;
    for (int i = 0; i < 3; i++)
        tc_tx_txid(sel[i], &ids[i]);
    tc_tx_txid(&parent, &p);
    tc_tx_txid(&child, &ch);
    tc_tx_txid(&other, &o);
    assert_memory_equal(ids[0].b, p.b, 32);
    assert_memory_equal(ids[1].b, ch.b, 32);
    assert_memory_equal(ids[2].b, o.b, 32);
    /* the selection builds a valid block: parent and child in one block */
    tc_block blk;
    tc_valset vs;
    tc_cert last;
    tc_header tip;
    assert_int_equal(tc_ledger_valset(c.L, 1, &vs), 0);
    testchain_tip_cert(&c, &last);
    tc_ledger_tip(c.L, &tip, NULL);
    size_t skipped = 9;
    assert_int_equal(tc_ledger_build_block(c.L, sel, 3, tip.time_ms + 1, &vs.v[0].key, &last, &blk, &skipped, NULL), 0);
    assert_int_equal(skipped, 0);
    assert_int_equal(blk.n_tx, 4);
    tc_cert cert;
    testchain_certify(&c, &blk, ~0ull, &cert);
    assert_int_equal(tc_ledger_apply_block(c.L, &blk, &cert, NULL), 0);
    tc_mempool_block_committed(mp, &blk, T0 + 1000);
    tc_mempool_stats st;
    tc_mempool_get_stats(mp, &st);
    assert_int_equal(st.txs, 0);
    assert_int_equal(st.mined, 3);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.fees, 0);
    tc_cert_release(&cert);
    tc_cert_release(&last);
    tc_valset_release(&vs);
    tc_block_release(&blk);
    tc_tx_release(&parent);
    tc_tx_release(&child);
    tc_tx_release(&other);
    tc_mempool_free(mp);
    testchain_release(&c);
}

static void test_full_evicts_lower_rate_or_rejects(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    tc_mempool_opts o = {.max_txs = 3};
    tc_mempool *mp = tc_mempool_new(tc_chainstore_view(c.L), &o);
    coin k0 = user_coin(&c, 0), k1 = user_coin(&c, 1), k2 = user_coin(&c, 2), k3 = user_coin(&c, 3);
    tc_tx low, low_child, mid, high, lower;
    pay(&c, &k0, 0, &c.user_addr[1], 10 * TC_COIN, 0, &low);
    pay(&c, &k0, 0, &c.user_addr[1], 10 * TC_COIN, 3 * TC_COIN, &low_child); /* child of low */
    pay(&c, &k1, 1, &c.user_addr[2], 10 * TC_COIN, TC_COIN, &mid);
    assert_int_equal(tc_mempool_add(mp, &low, T0, NULL, NULL), 0);
    assert_int_equal(tc_mempool_add(mp, &low_child, T0, NULL, NULL), 0);
    assert_int_equal(tc_mempool_add(mp, &mid, T0, NULL, NULL), 0);
    /* a newcomer paying less than the lowest is refused and nothing moves */
    coin k3b = k3;
    pay(&c, &k3b, 3, &c.user_addr[0], 10 * TC_COIN, 0, &lower);
    expect_reject(mp, &lower, T0, TC_ELIMIT, "mempool full (3 transactions");
    tc_mempool_stats st;
    tc_mempool_get_stats(mp, &st);
    assert_int_equal(st.txs, 3);
    assert_int_equal(st.evicted, 0);
    /* a better one evicts the lowest rate and its child */
    pay(&c, &k2, 2, &c.user_addr[3], 10 * TC_COIN, 2 * TC_COIN, &high);
    tc_errmsg e;
    if (tc_mempool_add(mp, &high, T0, NULL, &e))
        fail_msg("high: %s", e.msg);
    tc_mempool_get_stats(mp, &st);
    assert_int_equal(st.txs, 2);
    assert_int_equal(st.evicted, 2);
    tc_hash id;
    tc_tx_txid(&low, &id);
    assert_false(tc_mempool_has(mp, &id));
    tc_tx_txid(&low_child, &id);
    assert_false(tc_mempool_has(mp, &id));
    tc_tx_release(&low);
    tc_tx_release(&low_child);
    tc_tx_release(&mid);
    tc_tx_release(&high);
    tc_tx_release(&lower);
    tc_mempool_free(mp);
    testchain_release(&c);
}

static void test_expiry(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    tc_mempool_opts o = {.expiry_ms = 60000};
    tc_mempool *mp = tc_mempool_new(tc_chainstore_view(c.L), &o);
    coin k0 = user_coin(&c, 0), k1 = user_coin(&c, 1);
    tc_tx a, b;
    pay(&c, &k0, 0, &c.user_addr[1], 10 * TC_COIN, 0, &a);
    pay(&c, &k1, 1, &c.user_addr[2], 10 * TC_COIN, 0, &b);
    assert_int_equal(tc_mempool_add(mp, &a, T0, NULL, NULL), 0);
    assert_int_equal(tc_mempool_add(mp, &b, T0 + 30000, NULL, NULL), 0);
    tc_block empty;
    tc_block_init(&empty);
    tc_mempool_block_committed(mp, &empty, T0 + 60000);
    tc_mempool_stats st;
    tc_mempool_get_stats(mp, &st);
    assert_int_equal(st.txs, 1);
    assert_int_equal(st.expired, 1);
    tc_mempool_free(mp);
    tc_tx_release(&a);
    tc_tx_release(&b);
    testchain_release(&c);
}

static void test_block_conflict_drops_pending_tree(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    tc_mempool *mp = tc_mempool_new(tc_chainstore_view(c.L), NULL);
    coin k = user_coin(&c, 0), other = k;
    tc_tx a, a_child, rival;
    pay(&c, &k, 0, &c.user_addr[1], 10 * TC_COIN, 0, &a);
    pay(&c, &k, 0, &c.user_addr[1], 10 * TC_COIN, 0, &a_child);
    assert_int_equal(tc_mempool_add(mp, &a, T0, NULL, NULL), 0);
    assert_int_equal(tc_mempool_add(mp, &a_child, T0, NULL, NULL), 0);
    /* another node's block spends the same coin differently */
    pay(&c, &other, 0, &c.user_addr[2], 7 * TC_COIN, 0, &rival);
    tc_block blk;
    assert_int_equal(testchain_next(&c, &rival, 1, &blk, NULL), 0);
    tc_mempool_block_committed(mp, &blk, T0 + 1000);
    tc_mempool_stats st;
    tc_mempool_get_stats(mp, &st);
    assert_int_equal(st.txs, 0);
    assert_int_equal(st.dropped, 2);
    tc_block_release(&blk);
    tc_tx_release(&a);
    tc_tx_release(&a_child);
    tc_tx_release(&rival);
    tc_mempool_free(mp);
    testchain_release(&c);
}

/* Sync applies a batch of blocks, then reports them one by one: when the
 * first is reported, a pending parent mined in a later one is already on
 * chain. It leaves as mined and its pending child stays (it spends a
 * confirmed output now). It was dropped "already on chain" with its child,
 * silently: an acknowledged payment lost (whole-node simulator, seed
 * 4000003, partition profile). */
static void test_batch_reported_late_keeps_children(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    tc_mempool *mp = tc_mempool_new(tc_chainstore_view(c.L), NULL);
    coin k = user_coin(&c, 0), k1 = user_coin(&c, 1);
    tc_tx parent, child, unrelated;
    pay(&c, &k, 0, &c.user_addr[1], 10 * TC_COIN, 0, &parent);
    pay(&c, &k, 0, &c.user_addr[2], 10 * TC_COIN, 0, &child); /* spends parent's change */
    pay(&c, &k1, 1, &c.user_addr[3], 10 * TC_COIN, 0, &unrelated);
    assert_int_equal(tc_mempool_add(mp, &parent, T0, NULL, NULL), 0);
    assert_int_equal(tc_mempool_add(mp, &child, T0, NULL, NULL), 0);
    tc_block b1, b2;
    assert_int_equal(testchain_next(&c, &unrelated, 1, &b1, NULL), 0); /* the batch: b1, then b2 with parent */
    assert_int_equal(testchain_next(&c, &parent, 1, &b2, NULL), 0);
    tc_mempool_block_committed(mp, &b1, T0 + 1000); /* the ledger is at b2 already */
    tc_hash ch;
    tc_tx_txid(&child, &ch);
    assert_true(tc_mempool_has(mp, &ch));
    tc_mempool_stats st;
    tc_mempool_get_stats(mp, &st);
    assert_int_equal(st.txs, 1);
    assert_int_equal(st.mined, 1);
    assert_int_equal(st.dropped, 0);
    tc_mempool_block_committed(mp, &b2, T0 + 1000);
    tc_mempool_get_stats(mp, &st);
    assert_int_equal(st.txs, 1); /* the child is still pending, and valid */
    const tc_tx *sel[2];
    assert_int_equal(tc_mempool_select(mp, sel, 2), 1);
    tc_block b3;
    assert_int_equal(testchain_next(&c, sel[0], 1, &b3, NULL), 0);
    assert_int_equal(b3.n_tx, 2);
    tc_block_release(&b1);
    tc_block_release(&b2);
    tc_block_release(&b3);
    tc_tx_release(&parent);
    tc_tx_release(&child);
    tc_tx_release(&unrelated);
    tc_mempool_free(mp);
    testchain_release(&c);
}

/* A rollback undoes the block whose output a pending child spends (the
 * node puts the undone transactions back only where they still validate):
 * revalidating against the new tip drops the child and its descendants
 * at once instead of at expiry; an unrelated pending transaction stays. */
static void test_revalidate_after_rollback(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    tc_mempool *mp = tc_mempool_new(tc_chainstore_view(c.L), NULL);
    coin k = user_coin(&c, 0), k1 = user_coin(&c, 1);
    tc_tx parent, child, grandchild, unrelated;
    pay(&c, &k, 0, &c.user_addr[1], 10 * TC_COIN, 0, &parent);
    pay(&c, &k, 0, &c.user_addr[2], 10 * TC_COIN, 0, &child);      /* spends parent's change */
    pay(&c, &k, 0, &c.user_addr[3], 10 * TC_COIN, 0, &grandchild); /* spends child's */
    pay(&c, &k1, 1, &c.user_addr[3], 10 * TC_COIN, 0, &unrelated);
    tc_block b1;
    assert_int_equal(testchain_next(&c, &parent, 1, &b1, NULL), 0);
    tc_mempool_block_committed(mp, &b1, T0);
    assert_int_equal(tc_mempool_add(mp, &child, T0, NULL, NULL), 0);
    assert_int_equal(tc_mempool_add(mp, &grandchild, T0, NULL, NULL), 0);
    assert_int_equal(tc_mempool_add(mp, &unrelated, T0, NULL, NULL), 0);
    tc_errmsg e;
    assert_int_equal(tc_ledger_rollback_tip(c.L, &e), 0); /* parent's output is gone */
    assert_int_equal(tc_mempool_revalidate(mp, T0 + 1000), 2);
    tc_mempool_stats st;
    tc_mempool_get_stats(mp, &st);
    assert_int_equal(st.txs, 1);
    assert_int_equal(st.dropped, 2);
    tc_hash id;
    tc_tx_txid(&unrelated, &id);
    assert_true(tc_mempool_has(mp, &id));
    assert_int_equal(tc_mempool_revalidate(mp, T0 + 2000), 0); /* nothing more to drop */
    tc_block_release(&b1);
    tc_tx_release(&parent);
    tc_tx_release(&child);
    tc_tx_release(&grandchild);
    tc_tx_release(&unrelated);
    tc_mempool_free(mp);
    testchain_release(&c);
}

static void test_evidence_claim(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    tc_mempool *mp = tc_mempool_new(tc_chainstore_view(c.L), NULL);
    tc_tx ev[2];
    for (int i = 0; i < 2; i++) {
        tc_tx_init(&ev[i]);
        ev[i].kind = TC_TX_EVIDENCE;
        tc_vote *a = &ev[i].u.evidence.a, *b = &ev[i].u.evidence.b;
        a->type = b->type = TC_VOTE_PREVOTE;
        a->height = b->height = 1;
        a->round = b->round = (uint32_t)i;
        a->block.b[0] = 1;
        b->block.b[0] = 2;
        tc_vote_sign(a, 3, &c.val[1]);
        tc_vote_sign(b, 3, &c.val[1]);
    }
    tc_errmsg e;
    if (tc_mempool_add(mp, &ev[0], T0, NULL, &e))
        fail_msg("evidence: %s", e.msg);
    expect_reject(mp, &ev[1], T0, TC_ETX_DOUBLE_SPEND, "masternode already changed by pending transaction");
    tc_tx_release(&ev[0]);
    tc_tx_release(&ev[1]);
    tc_mempool_free(mp);
    testchain_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admit_duplicate_conflict_invalid),
        cmocka_unit_test(test_chain_of_pending_and_select_order),
        cmocka_unit_test(test_full_evicts_lower_rate_or_rejects),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_block_conflict_drops_pending_tree),
        cmocka_unit_test(test_batch_reported_late_keeps_children),
        cmocka_unit_test(test_evidence_claim),
        cmocka_unit_test(test_revalidate_after_rollback),
    };
    return cmocka_run_group_tests_name("mempool", tests, NULL, NULL);
}
