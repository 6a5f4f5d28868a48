/* wallet/coins: a wallet's coins fetched page by page from the node's real
 * listunspent (noderpc over a ledger, served on 127.0.0.1 with an ephemeral
 * port and the cookie), with more coins at an address than fit a page: every
 * coin arrives once, and a transfer needing coins from many pages is built
 * and passes the ledger's full check. The loop runs in a background thread;
 * every wait is a bounded socket call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/noderpc.h"
#include "testchain.h"
#include "wallet/coins.h"

/* One transaction from user 0 paying n outputs of `each` to `to`, change
 * back; *in (user 0's coin, of *in_value) becomes the change. */
static void pay_many(const testchain *c, tc_outpoint *in, uint64_t *in_value, const tc_address *to, size_t n,
                     uint64_t each, tc_tx *tx)
{
    uint64_t fee = tc_required_fee(n * each);
    tc_tx_init(tx);
    tc_tx_alloc(tx, 1, n + 1);
    tx->in[0].prev = *in;
    tx->in[0].pubkey = c->user[0].pk;
    for (size_t i = 0; i < n; i++)
        tx->out[i] = (tc_txout){each, *to};
    tx->out[n] = (tc_txout){*in_value - n * each - fee, c->user_addr[0]};
    tc_tx_sign_input(tx, 0, c->g.chain_id, &c->user[0]);
    tc_tx_txid(tx, &in->txid);
    in->vout = (uint32_t)n;
    *in_value = tx->out[n].value;
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

static void *loop_main(void *arg)
{
    event_base_loop(arg, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int by_outpoint(const void *a, const void *b)
{
    const tc_wallet_coin *x = a, *y = b;
    int c = memcmp(x->outpoint.txid.b, y->outpoint.txid.b, 32);
    return c ? c : (x->outpoint.vout > y->outpoint.vout) - (x->outpoint.vout < y->outpoint.vout);
}

static void test_fetch_pages_and_send(void **state)
{
    (void)state;
    testchain c;
    testchain_init(&c, 4, 2, 1000, 0);
    char path[300];
    snprintf(path, sizeof path, "%s/w.wallet", c.dir);
    tc_wallet *w;
    tc_errmsg e;
    assert_int_equal(tc_wallet_create(&w, path, c.g.net, NULL, NULL, &e), 0);
    tc_address a[2];
    for (size_t i = tc_wallet_count(w); i < 2; i++)
        assert_int_equal(tc_wallet_new_address(w, &a[i], &e), 0);
    a[0] = *tc_wallet_address(w, 0);
    a[1] = *tc_wallet_address(w, 1);

    /* 1,000 coins of 1 TIME and 300 of 2 TIME at one address, 3 at another */
    tc_outpoint in = testchain_user_outpoint(&c, 0);
    uint64_t in_value = TESTCHAIN_USER_FUNDS;
    tc_tx txs[3];
    pay_many(&c, &in, &in_value, &a[0], 1000, TC_COIN, &txs[0]);
    pay_many(&c, &in, &in_value, &a[0], 300, 2 * TC_COIN, &txs[1]);
    pay_many(&c, &in, &in_value, &a[1], 3, 5 * TC_COIN, &txs[2]);
    if (testchain_next(&c, txs, 3, NULL, &e))
        fail_msg("block: %s", e.msg);
    for (int i = 0; i < 3; i++)
        tc_tx_release(&txs[i]);

    /* the node's RPC, on loopback */
    struct event_base *base = event_base_new();
    assert_non_null(base);
    struct event *stop = event_new(base, -1, 0, stop_cb, base);
    int err;
    tc_rpc_opts opts = {.cookie_dir = c.dir};
    tc_rpc *rpc = tc_rpc_new(base, "127.0.0.1:0", &opts, &err);
    assert_non_null(rpc);
    tc_noderpc ctx = {.L = c.L, .g = &c.g};
    assert_int_equal(tc_noderpc_register(rpc, &ctx), 0);
    char hostport[32];
    snprintf(hostport, sizeof hostport, "127.0.0.1:%u", tc_rpc_port(rpc));
    tc_rpc_target t;
    assert_int_equal(tc_rpcclient_from_cookie(&t, hostport, tc_rpc_cookie_path(rpc), &e), 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, loop_main, base), 0);

    uint64_t c0, s0, c1, s1;
    assert_int_equal(tc_ledger_address_totals(c.L, &a[0], &c0, &s0), 0);
    assert_int_equal(tc_ledger_address_totals(c.L, &a[1], &c1, &s1), 0);
    assert_int_equal(c0, 1300);
    static const size_t pages[] = {64, 7, 0};
    for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
        tc_wallet_coin *coins;
        size_t n;
        if (tc_coins_fetch(&t, w, pages[p], &coins, &n, &e))
            fail_msg("fetch, page %zu: %s", pages[p], e.msg);
        assert_int_equal(n, c0 + c1);
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += coins[i].value;
        assert_int_equal(sum, s0 + s1);
        qsort(coins, n, sizeof *coins, by_outpoint);
        for (size_t i = 1; i < n; i++)
            assert_true(by_outpoint(&coins[i - 1], &coins[i]) < 0); /* each once */
        if (pages[p] == 64) {
            /* 1,500 TIME takes every 2 TIME coin and ~900 of the others:
             * coins from nearly every page */
            tc_tx tx;
            uint64_t fee, fee2;
            if (tc_wallet_build_transfer(w, coins, n, &c.user_addr[1], 1500 * TC_COIN, 0, &tx, &fee, &e))
                fail_msg("transfer: %s", e.msg);
            assert_true(tx.n_in > 64 * 10);
            if (tc_ledger_check_tx(c.L, &tx, &fee2, &e))
                fail_msg("the transfer does not check: %s", e.msg);
            assert_int_equal(fee, fee2);
            tc_tx_release(&tx);
        }
        free(coins);
    }

    event_active(stop, EV_READ, 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    tc_rpcclient_wipe(&t);
    tc_rpc_free(rpc);
    event_free(stop);
    event_base_free(base);
    tc_wallet_free(w);
    testchain_release(&c);
}

int main(void)
{
    if (evthread_use_pthreads() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_pages_and_send),
    };
    return cmocka_run_group_tests_name("coins", tests, NULL, NULL);
}
