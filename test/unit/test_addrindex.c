/* The ledger's address index and UTXO totals (src/store/addrindex.c, kept by
 * src/store/ledger.c): after every apply, batched apply and rollback they
 * equal what a full scan of the UTXO set says; a store without the index (or
 * with a stale one) has it built at open; and the RPC methods that read them
 * (getbalance, listunspent pages, gettxoutsetinfo) answer from them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/amount.h"
#include "util/hex.h"
#include "node/noderpc.h"
#include "store/addrindex.h"
#include "testchain.h"

/* ---- the index against a full scan ---------------------------------------------- */

typedef struct {
    uint8_t key[TC_ADDRINDEX_KEY_SIZE]; /* address | UTXO key: the index's order */
    tc_outpoint op;
    tc_utxo u;
} scanned;

typedef struct {
    scanned *v;
    size_t n, cap;
    uint64_t sat;
} scan_list;

static int collect(void *ctx, const tc_outpoint *o, const tc_utxo *u)
{
    scan_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    scanned *s = &l->v[l->n++];
    s->key[0] = u->addr.version;
    memcpy(s->key + 1, u->addr.hash.b, 32);
    tc_utxo_key(o, s->key + TC_ADDRINDEX_ADDR_SIZE);
    s->op = *o;
    s->u = *u;
    l->sat += u->value;
    return 0;
}

static int by_key(const void *a, const void *b)
{
    return memcmp(((const scanned *)a)->key, ((const scanned *)b)->key, TC_ADDRINDEX_KEY_SIZE);
}

typedef struct {
    const scanned *want;
    size_t n, got;
} list_check;

static int check_one(void *ctx, const tc_outpoint *o, const tc_utxo *u, int locked)
{
    list_check *c = ctx;
    assert_true(c->got < c->n);
    const scanned *w = &c->want[c->got++];
    assert_memory_equal(o, &w->op, sizeof *o);
    assert_int_equal(u->value, w->u.value);
    assert_int_equal(u->height, w->u.height);
    assert_int_equal(u->flags, w->u.flags);
    assert_true(tc_address_eq(&u->addr, &w->u.addr));
    return 0;
}

static uint64_t table_count(testchain *c, enum tc_table tb)
{
    tc_txn *t;
    assert_int_equal(tc_store_begin(tc_ledger_store(c->L), 0, &t), 0);
    uint64_t n = tc_store_count(t, tb);
    tc_store_abort(t);
    return n;
}

/* Every address's totals and outputs, and the set's totals, as the index
 * gives them, against a scan of the UTXO table; and nothing else indexed. */
static void assert_index_matches_scan(testchain *c)
{
    scan_list l = {0};
    assert_int_equal(tc_ledger_each_utxo(c->L, collect, &l), 0);
    qsort(l.v, l.n, sizeof *l.v, by_key);
    uint64_t count, sat;
    tc_ledger_utxo_totals(c->L, &count, &sat);
    assert_int_equal(count, l.n);
    assert_int_equal(sat, l.sat);
    size_t addresses = 0;
    for (size_t i = 0; i < l.n;) {
        size_t j = i;
        uint64_t want_sat = 0;
        while (j < l.n && memcmp(l.v[j].key, l.v[i].key, TC_ADDRINDEX_ADDR_SIZE) == 0)
            want_sat += l.v[j++].u.value;
        assert_int_equal(tc_ledger_address_totals(c->L, &l.v[i].u.addr, &count, &sat), 0);
        assert_int_equal(count, j - i);
        assert_int_equal(sat, want_sat);
        list_check lc = {&l.v[i], j - i, 0};
        assert_int_equal(tc_ledger_each_address_utxo(c->L, &l.v[i].u.addr, NULL, check_one, &lc), 0);
        assert_int_equal(lc.got, j - i);
        addresses++;
        i = j;
    }
    assert_int_equal(table_count(c, TC_TB_ADDR_UTXO), l.n);
    assert_int_equal(table_count(c, TC_TB_ADDR_SUM), addresses);
    free(l.v);
}

/* ---- chains to check ---------------------------------------------------------------- */

typedef struct {
    tc_outpoint op;
    uint64_t value;
} coin;

/* One transaction spending *k (user u's) into n outputs of `each` to user u's
 * own address plus the change, which *k becomes. */
static void fan_out(const testchain *c, coin *k, size_t u, size_t n, uint64_t each, tc_tx *tx)
{
    tc_tx_init(tx);
    tc_tx_alloc(tx, 1, n + 1);
    tx->in[0].prev = k->op;
    tx->in[0].pubkey = c->user[u].pk;
    for (size_t i = 0; i < n; i++)
        tx->out[i] = (tc_txout){each, c->user_addr[u]};
    tx->out[n] = (tc_txout){k->value - n * each - TC_MIN_FEE, c->user_addr[u]};
    tc_tx_sign_input(tx, 0, c->g.chain_id, &c->user[u]);
    tc_tx_txid(tx, &k->op.txid);
    k->op.vout = (uint32_t)n;
    k->value = tx->out[n].value;
}

/* Block h of a run: users pay each other (outputs move between addresses,
 * addresses empty and fill) and user 0 fans out (one address, many outputs). */
static void make_block_txs(const testchain *c, coin *k, int h, tc_tx *txs, size_t *n)
{
    *n = 0;
    for (size_t u = 1; u < TESTCHAIN_USERS; u++) {
        testchain_transfer(c, &k[u].op, k[u].value, &c->user[u], &c->user_addr[(u + h) % TESTCHAIN_USERS],
                           (uint64_t)(h + 1) * TC_COIN, &txs[*n]);
        tc_tx_txid(&txs[*n], &k[u].op.txid);
        k[u].op.vout = 1;
        k[u].value = txs[*n].out[1].value;
        (*n)++;
    }
    fan_out(c, &k[0], 0, 50, TC_COIN, &txs[(*n)++]);
}

static void start_coins(const testchain *c, coin *k)
{
    for (size_t u = 0; u < TESTCHAIN_USERS; u++)
        k[u] = (coin){testchain_user_outpoint(c, u), TESTCHAIN_USER_FUNDS};
}

#define BLOCKS 12

/* ---- tests ------------------------------------------------------------------------ */

/* Apply one by one, then roll back one by one: the index and the totals equal
 * the scan at every height, and survive a reopen. */
static void test_index_follows_apply_and_rollback(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    assert_index_matches_scan(&c);
    coin k[TESTCHAIN_USERS];
    start_coins(&c, k);
    for (int h = 1; h <= BLOCKS; h++) {
        tc_tx txs[TESTCHAIN_USERS];
        size_t n;
        make_block_txs(&c, k, h, txs, &n);
        tc_errmsg e;
        if (testchain_next(&c, txs, n, NULL, &e))
            fail_msg("block %d: %s", h, e.msg);
        for (size_t i = 0; i < n; i++)
            tc_tx_release(&txs[i]);
        assert_index_matches_scan(&c);
    }
    uint64_t count, sat;
    assert_int_equal(tc_ledger_address_totals(c.L, &c.user_addr[0], &count, &sat), 0);
    assert_true(count >= 50 * BLOCKS);
    testchain_close(&c);
    testchain_reopen(&c);
    assert_index_matches_scan(&c);
    for (int h = BLOCKS; h >= 1; h--) {
        tc_errmsg e;
        if (tc_ledger_rollback_tip(c.L, &e))
            fail_msg("rollback %d: %s", h, e.msg);
        assert_index_matches_scan(&c);
    }
    assert_int_equal(tc_ledger_address_totals(c.L, &c.user_addr[0], &count, &sat), 0);
    assert_int_equal(count, 1);
    assert_int_equal(sat, TESTCHAIN_USER_FUNDS);
    testchain_release(&c);
}

/* The same blocks as one batch (one write transaction) leave the same index. */
static void test_index_after_batched_apply(void **state)
{
    (void)state;
    testchain a, b;
    testchain_init(&a, 4, 2, 1000, 0);
    testchain_init(&b, 4, 2, 1000, 1);
    coin k[TESTCHAIN_USERS];
    start_coins(&a, k);
    tc_block blks[BLOCKS];
    tc_cert certs[BLOCKS];
    const tc_block *bp[BLOCKS];
    const tc_cert *cp[BLOCKS];
    for (int h = 1; h <= BLOCKS; h++) {
        tc_tx txs[TESTCHAIN_USERS];
        size_t n;
        make_block_txs(&a, k, h, txs, &n);
        testchain_build(&a, txs, n, &blks[h - 1]);
        assert_int_equal(blks[h - 1].n_tx, n + 1);
        testchain_certify(&a, &blks[h - 1], ~0ull, &certs[h - 1]);
        assert_int_equal(tc_ledger_apply_block(a.L, &blks[h - 1], &certs[h - 1], NULL), 0);
        bp[h - 1] = &blks[h - 1];
        cp[h - 1] = &certs[h - 1];
        for (size_t i = 0; i < n; i++)
            tc_tx_release(&txs[i]);
    }
    size_t bad;
    tc_errmsg e;
    if (tc_ledger_apply_blocks(b.L, bp, cp, NULL, BLOCKS, &bad, &e))
        fail_msg("batch: %s", e.msg);
    assert_int_equal(tc_ledger_height(b.L), BLOCKS);
    assert_index_matches_scan(&b);
    uint64_t ca, sa, cb, sb;
    tc_ledger_utxo_totals(a.L, &ca, &sa);
    tc_ledger_utxo_totals(b.L, &cb, &sb);
    assert_int_equal(ca, cb);
    assert_int_equal(sa, sb);
    /* a batch rolled back block by block */
    for (int h = BLOCKS; h > BLOCKS / 2; h--)
        assert_int_equal(tc_ledger_rollback_tip(b.L, NULL), 0);
    assert_index_matches_scan(&b);
    for (int i = 0; i < BLOCKS; i++) {
        tc_block_release(&blks[i]);
        tc_cert_release(&certs[i]);
    }
    testchain_release(&a);
    testchain_release(&b);
}

/* Makes c's store look like one written before the index (tables empty, no
 * totals), or like one a binary without the index has moved since (totals of
 * another tip), or one whose index lost an entry. */
enum damage { NO_INDEX, OTHER_TIP, LOST_ENTRY };

static int first_key(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    memcpy(ctx, k, kl);
    return 1;
}

static void damage_store(testchain *c, enum damage d)
{
    tc_txn *t;
    assert_int_equal(tc_store_begin(tc_ledger_store(c->L), 1, &t), 0);
    if (d == NO_INDEX) {
        assert_int_equal(tc_store_clear(t, TC_TB_ADDR_UTXO), 0);
        assert_int_equal(tc_store_clear(t, TC_TB_ADDR_SUM), 0);
        assert_int_equal(tc_store_del(t, TC_TB_META, "utxo_totals", 11), 0);
    } else if (d == OTHER_TIP) {
        const uint8_t *v;
        size_t vl;
        uint8_t copy[64];
        assert_int_equal(tc_store_get(t, TC_TB_META, "utxo_totals", 11, &v, &vl), 0);
        assert_true(vl <= sizeof copy);
        memcpy(copy, v, vl);
        copy[1] ^= 1; /* the tip hash it was written with */
        copy[33]++;   /* and a count that would be wrong */
        assert_int_equal(tc_store_put(t, TC_TB_META, "utxo_totals", 11, copy, vl), 0);
    } else {
        uint8_t k[TC_ADDRINDEX_KEY_SIZE];
        assert_int_equal(tc_store_each(t, TC_TB_ADDR_UTXO, NULL, 0, first_key, k), 1);
        assert_int_equal(tc_store_del(t, TC_TB_ADDR_UTXO, k, sizeof k), 0);
    }
    assert_int_equal(tc_store_commit(t), 0);
}

/* A store without the index, or with one that cannot be trusted, gets it
 * built at open; rollback then works with undo data from before. */
static void test_open_builds_missing_or_stale_index(void **state)
{
    (void)state;
    for (int d = NO_INDEX; d <= LOST_ENTRY; d++) {
        testchain c;
        testchain_init(&c, 4, 2, 1000, 0);
        coin k[TESTCHAIN_USERS];
        start_coins(&c, k);
        for (int h = 1; h <= 4; h++) {
            tc_tx txs[TESTCHAIN_USERS];
            size_t n;
            make_block_txs(&c, k, h, txs, &n);
            assert_int_equal(testchain_next(&c, txs, n, NULL, NULL), 0);
            for (size_t i = 0; i < n; i++)
                tc_tx_release(&txs[i]);
        }
        damage_store(&c, (enum damage)d);
        testchain_close(&c);
        testchain_reopen(&c);
        assert_index_matches_scan(&c);
        assert_int_equal(tc_ledger_rollback_tip(c.L, NULL), 0);
        assert_index_matches_scan(&c);
        testchain_release(&c);
    }
}

/* ---- the RPC methods through the real handler path --------------------------------- */

static json_t *call(tc_rpc *rpc, const char *method, json_t *params, int *code)
{
    json_t *req = json_pack("{s:s, s:s, s:o, s:i}", "jsonrpc", "2.0", "method", method, "params", params, "id", 1);
    char *body = json_dumps(req, 0);
    json_decref(req);
    char *out = tc_rpc_handle(rpc, body, strlen(body), NULL);
    free(body);
    assert_non_null(out);
    json_t *resp = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(resp);
    json_t *err = json_object_get(resp, "error");
    *code = err ? (int)json_integer_value(json_object_get(err, "code")) : 0;
    json_t *r = json_incref(json_object_get(resp, "result"));
    json_decref(resp);
    return r;
}

/* listunspent pages through an address with more outputs than a page, in
 * order, each page bounded, the last one not truncated; getbalance and
 * gettxoutsetinfo give the totals; bad parameters are refused. */
static void test_rpc_pages_and_totals(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    coin k[TESTCHAIN_USERS];
    start_coins(&c, k);
    tc_tx txs[2];
    fan_out(&c, &k[0], 0, 1500, TC_COIN, &txs[0]);
    fan_out(&c, &k[0], 0, 1000, TC_COIN, &txs[1]);
    assert_int_equal(testchain_next(&c, txs, 2, NULL, NULL), 0);
    tc_tx_release(&txs[0]);
    tc_tx_release(&txs[1]);

    int err;
    tc_rpc *rpc = tc_rpc_new(NULL, NULL, NULL, &err);
    assert_non_null(rpc);
    tc_noderpc ctx = {.L = c.L, .g = &c.g};
    assert_int_equal(tc_noderpc_register(rpc, &ctx), 0);
    char addr[TC_ADDR_STRLEN];
    assert_int_equal(tc_address_encode(addr, &c.user_addr[0], c.g.net->hrp), 0);

    uint64_t count, sat;
    char want[TC_AMOUNT_STRLEN];
    assert_int_equal(tc_ledger_address_totals(c.L, &c.user_addr[0], &count, &sat), 0);
    assert_int_equal(count, 1500 + 1000 + 1);
    assert_int_equal(sat, TESTCHAIN_USER_FUNDS - 2 * TC_MIN_FEE);
    int code;
    json_t *r = call(rpc, "getbalance", json_pack("[s]", addr), &code);
    assert_int_equal(code, 0);
    assert_string_equal(json_string_value(r), tc_amount_format(want, sat));
    json_decref(r);

    /* default page: 1,000 outputs and where to go on */
    r = call(rpc, "listunspent", json_pack("[s]", addr), &code);
    assert_int_equal(code, 0);
    assert_int_equal(json_array_size(json_object_get(r, "utxos")), 1000);
    assert_true(json_is_true(json_object_get(r, "truncated")));
    assert_non_null(json_string_value(json_object_get(r, "next")));
    json_decref(r);

    /* pages of 700: every output once, in outpoint order, the total right */
    json_t *page = NULL;
    char after[80] = "";
    size_t got = 0, pages = 0;
    uint64_t total = 0;
    tc_outpoint prev = {{{0}}, 0};
    for (;;) {
        page = call(rpc, "listunspent", after[0] ? json_pack("[s, i, s]", addr, 700, after) : json_pack("[s, i]", addr, 700),
                    &code);
        assert_int_equal(code, 0);
        json_t *list = json_object_get(page, "utxos"), *u;
        size_t i;
        assert_true(json_array_size(list) <= 700);
        pages++;
        json_array_foreach(list, i, u)
        {
            tc_outpoint o;
            assert_int_equal(tc_hex_decode(o.txid.b, 32, json_string_value(json_object_get(u, "txid"))), 0);
            o.vout = (uint32_t)json_integer_value(json_object_get(u, "vout"));
            int cmp = memcmp(o.txid.b, prev.txid.b, 32);
            assert_true(got == 0 || cmp > 0 || (cmp == 0 && o.vout > prev.vout));
            prev = o;
            total += (uint64_t)json_integer_value(json_object_get(u, "value_sat"));
            assert_false(json_is_true(json_object_get(u, "locked")));
            got++;
        }
        if (!json_is_true(json_object_get(page, "truncated"))) {
            assert_null(json_object_get(page, "next"));
            break;
        }
        char last[80];
        assert_string_equal(json_string_value(json_object_get(page, "next")), tc_outpoint_str(last, &prev));
        snprintf(after, sizeof after, "%s", last);
        json_decref(page);
    }
    json_decref(page);
    assert_int_equal(got, count);
    assert_int_equal(total, sat);
    assert_int_equal(pages, (count + 699) / 700);

    /* a masternode's collateral is listed locked */
    tc_address owner;
    tc_address_from_pubkey(&owner, &c.owner[0].pk);
    assert_int_equal(tc_address_encode(addr, &owner, c.g.net->hrp), 0);
    r = call(rpc, "listunspent", json_pack("[s]", addr), &code);
    json_t *first = json_array_get(json_object_get(r, "utxos"), 0);
    assert_non_null(first);
    assert_true(json_is_true(json_object_get(first, "locked")));
    json_decref(r);

    /* an address with nothing; the set's totals */
    assert_int_equal(tc_address_encode(addr, &(tc_address){0, {{7}}}, c.g.net->hrp), 0);
    r = call(rpc, "getbalance", json_pack("[s]", addr), &code);
    assert_string_equal(json_string_value(r), "0.00000000");
    json_decref(r);
    r = call(rpc, "listunspent", json_pack("[s]", addr), &code);
    assert_int_equal(json_array_size(json_object_get(r, "utxos")), 0);
    assert_false(json_is_true(json_object_get(r, "truncated")));
    json_decref(r);
    tc_ledger_utxo_totals(c.L, &count, &sat);
    r = call(rpc, "gettxoutsetinfo", json_array(), &code);
    assert_int_equal(json_integer_value(json_object_get(r, "txouts")), count);
    assert_string_equal(json_string_value(json_object_get(r, "total_amount")), tc_amount_format(want, sat));
    json_decref(r);

    /* bad parameters */
    static const char *const bad[] = {"[\"%s\", 0]", "[\"%s\", 5001]", "[\"%s\", -1]", "[\"%s\", \"x\"]",
                                      "[\"%s\", 5, \"00:1\"]", "[\"%s\", 5, 7]", "[\"%s\", 5, null, 1]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, bad[i], addr);
        json_decref(call(rpc, "listunspent", json_loads(text, 0, NULL), &code));
        assert_int_equal(code, TC_RPC_INVALID_PARAMS);
    }
    json_decref(call(rpc, "listunspent", json_pack("[s]", "time1nope"), &code));
    assert_int_equal(code, -5);
    json_decref(call(rpc, "getbalance", json_pack("[s]", "time1nope"), &code));
    assert_int_equal(code, -5);
    tc_rpc_free(rpc);
    testchain_release(&c);
}

/* tc_outpoint_parse reads exactly what tc_outpoint_str writes. */
static void test_outpoint_parse(void **state)
{
    (void)state;
    tc_outpoint o = {{{0}}, UINT32_MAX}, back;
    for (int i = 0; i < 32; i++)
        o.txid.b[i] = (uint8_t)(i * 7);
    char s[80];
    assert_int_equal(tc_outpoint_parse(&back, tc_outpoint_str(s, &o)), 0);
    assert_memory_equal(&o, &back, sizeof o);
    static const char *const bad[] = {"", ":1", "00:1", "4294967296", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tc_outpoint_parse(&back, bad[i]), TC_EINVAL);
    char t[90];
    snprintf(t, sizeof t, "%.64s:4294967296", s); /* vout over 32 bits */
    assert_int_equal(tc_outpoint_parse(&back, t), TC_EINVAL);
    snprintf(t, sizeof t, "%.64s:", s);
    assert_int_equal(tc_outpoint_parse(&back, t), TC_EINVAL);
    snprintf(t, sizeof t, "%.64s:1x", s);
    assert_int_equal(tc_outpoint_parse(&back, t), TC_EINVAL);
    snprintf(t, sizeof t, "%.63sg:1", s);
    assert_int_equal(tc_outpoint_parse(&back, t), TC_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_follows_apply_and_rollback),
        cmocka_unit_test(test_index_after_batched_apply),
        cmocka_unit_test(test_open_builds_missing_or_stale_index),
        cmocka_unit_test(test_rpc_pages_and_totals),
        cmocka_unit_test(test_outpoint_parse),
    };
    return cmocka_run_group_tests_name("addrindex", tests, NULL, NULL);
}
