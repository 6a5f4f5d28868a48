/* RPC stall benchmark (issue 11: slow RPC work must not stall consensus).
 *
 * RPC handlers run on the node's event-loop thread, so the time one call
 * takes is the time consensus, P2P and every other client wait. This builds
 * a ledger of 1,000,000 unspent outputs through real certified blocks
 * (900,000 over 100,000 addresses, 100,000 at one address), then times
 * getbalance, listunspent and gettxoutsetinfo through the real handler path
 * (tc_rpc_handle with the node's methods from src/node/noderpc.c), beside the
 * full scan of the UTXO set each of them did before the address index,
 * measured in the same run (tc_ledger_each_utxo with the old handlers' work).
 * Every figure is the worst single call of a run, median of 3 runs. Then the
 * memory issue 17 bounds: this process's anonymous RSS (what is not LMDB's
 * mapped file) with the 1 M outputs, and again with 10,000 pending
 * transactions in a mempool over that ledger. Last, the one-off cost of
 * building the index at open for a store from before it. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/amount.h"
#include "mempool/mempool.h"
#include "node/noderpc.h"
#include "store/chainstore.h"
#include "store/addrindex.h"
#include "testchain.h"
#include "util/clock.h"

#define OUTS_PER_TX 20000
#define TXS_PER_BLOCK 2
#define N_SPREAD 900000
#define N_ADDRS 100000
#define N_WHALE 100000
#define N_OUTS (N_SPREAD + N_WHALE)
#define OUT_VALUE 10000 /* sat, above the dust limit */
#define RUNS 3
#define CALLS 20 /* per run and method: the worst of them is the run's figure */

_Static_assert(N_OUTS % (OUTS_PER_TX * TXS_PER_BLOCK) == 0, "whole blocks");

static void check(int err, const char *what, const tc_errmsg *e)
{
    if (err) {
        fprintf(stderr, "bench: %s: %s (%s)\n", what, tc_strerror(err), e ? e->msg : "");
        exit(2);
    }
}

static double ms_since(uint64_t t0)
{
    return (double)(tc_clock_mono_ns() - t0) / 1e6;
}

static double median3(const double v[RUNS])
{
    double lo = v[0] < v[1] ? v[0] : v[1], hi = v[0] < v[1] ? v[1] : v[0];
    return v[2] < lo ? lo : v[2] > hi ? hi : v[2];
}

/* Spread address k (of N_ADDRS) and the one large holder. */
static tc_address spread_addr(uint32_t k)
{
    tc_address a = {TC_ADDR_VERSION, {{0}}};
    memcpy(a.hash.b, "spread", 6);
    memcpy(a.hash.b + 8, &k, sizeof k);
    return a;
}

static tc_address whale_addr(void)
{
    tc_address a = {TC_ADDR_VERSION, {{0}}};
    memset(a.hash.b, 0xAA, 32);
    return a;
}

/* ---- set-up: the outputs, through certified blocks --------------------------------- */

/* Output i of the whole set-up: the first N_WHALE go to the large holder,
 * the rest round-robin over the spread addresses. */
static tc_address owner_of(size_t i)
{
    return i < N_WHALE ? whale_addr() : spread_addr((uint32_t)((i - N_WHALE) % N_ADDRS));
}

static void make_outputs(testchain *c)
{
    tc_outpoint in = testchain_user_outpoint(c, 0);
    uint64_t in_value = TESTCHAIN_USER_FUNDS;
    size_t made = 0;
    while (made < N_OUTS) {
        tc_tx txs[TXS_PER_BLOCK];
        for (size_t k = 0; k < TXS_PER_BLOCK; k++, made += OUTS_PER_TX) {
            tc_tx *tx = &txs[k];
            tc_tx_init(tx);
            tc_tx_alloc(tx, 1, OUTS_PER_TX + 1);
            tx->in[0].prev = in;
            tx->in[0].pubkey = c->user[0].pk;
            for (size_t i = 0; i < OUTS_PER_TX; i++)
                tx->out[i] = (tc_txout){OUT_VALUE, owner_of(made + i)};
            uint64_t fee = tc_required_fee((uint64_t)OUTS_PER_TX * OUT_VALUE);
            tx->out[OUTS_PER_TX] = (tc_txout){in_value - (uint64_t)OUTS_PER_TX * OUT_VALUE - fee, c->user_addr[0]};
            tc_tx_sign_input(tx, 0, c->g.chain_id, &c->user[0]);
            tc_tx_txid(tx, &in.txid);
            in.vout = OUTS_PER_TX;
            in_value = tx->out[OUTS_PER_TX].value;
        }
        tc_errmsg e;
        tc_block blk;
        check(testchain_next(c, txs, TXS_PER_BLOCK, &blk, &e), "set-up block", &e);
        if (blk.n_tx != TXS_PER_BLOCK + 1) {
            fprintf(stderr, "bench: a set-up block kept %zu of %d txs\n", blk.n_tx - 1, TXS_PER_BLOCK);
            exit(2);
        }
        tc_block_release(&blk);
        for (size_t k = 0; k < TXS_PER_BLOCK; k++)
            tc_tx_release(&txs[k]);
    }
}

/* ---- memory: 10,000 pending transactions ------------------------------------------------- */

#define N_PENDING 10000

/* Anonymous resident memory of this process in KiB (smaps_rollup), or -1,
 * after handing free heap pages back (malloc_trim): what is live, not what
 * the set-up's blocks left in malloc's free lists. */
static long anon_kib(void)
{
    malloc_trim(0);
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Anonymous: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* User 1 fans its genesis allocation out to N_PENDING outputs of its own
 * (one certified block), then N_PENDING payments, one per output, go into
 * mp: a full pool of ordinary 1-in, 2-out transfers. */
static void fill_mempool(testchain *c, tc_mempool *mp)
{
    tc_tx fan;
    tc_tx_init(&fan);
    tc_tx_alloc(&fan, 1, N_PENDING + 1);
    fan.in[0].prev = testchain_user_outpoint(c, 1);
    fan.in[0].pubkey = c->user[1].pk;
    uint64_t each = 10 * TC_COIN, fee = tc_required_fee((uint64_t)N_PENDING * each);
    for (size_t i = 0; i < N_PENDING; i++)
        fan.out[i] = (tc_txout){each, c->user_addr[1]};
    fan.out[N_PENDING] = (tc_txout){TESTCHAIN_USER_FUNDS - (uint64_t)N_PENDING * each - fee, c->user_addr[1]};
    tc_tx_sign_input(&fan, 0, c->g.chain_id, &c->user[1]);
    tc_outpoint in;
    tc_tx_txid(&fan, &in.txid);
    tc_errmsg e;
    tc_block blk;
    check(testchain_next(c, &fan, 1, &blk, &e), "fan-out block", &e);
    tc_block_release(&blk);
    tc_tx_release(&fan);
    for (uint32_t i = 0; i < N_PENDING; i++) {
        in.vout = i;
        tc_tx tx;
        testchain_transfer(c, &in, each, &c->user[1], &c->user_addr[2], each / 2, &tx);
        check(tc_mempool_add(mp, &tx, tc_clock_mono_ms(), NULL, &e), "mempool add", &e);
        tc_tx_release(&tx);
    }
}

/* ---- the calls through the handler path ------------------------------------------------ */

static tc_rpc *g_rpc;

/* One call as the loop would run it: envelope, handler, answer text. Returns
 * its time in ms; the result (if wanted) in *result. */
static double timed_call(const char *method, json_t *params, json_t **result)
{
    json_t *req = json_pack("{s:s, s:s, s:o, s:i}", "jsonrpc", "2.0", "method", method, "params", params, "id", 1);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    uint64_t t0 = tc_clock_mono_ns();
    size_t len;
    char *out = tc_rpc_handle(g_rpc, body, strlen(body), &len);
    double ms = ms_since(t0);
    free(body);
    json_t *resp = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    json_t *r = resp ? json_object_get(resp, "result") : NULL;
    if (r == NULL || json_is_null(r)) {
        fprintf(stderr, "bench: %s failed\n", method);
        exit(2);
    }
    if (result)
        *result = json_incref(r);
    json_decref(resp);
    return ms;
}

static void addr_str(char out[TC_ADDR_STRLEN], const tc_address *a, const testchain *c)
{
    if (tc_address_encode(out, a, c->g.net->hrp)) {
        fprintf(stderr, "bench: address encode\n");
        exit(2);
    }
}

/* The worst of CALLS getbalance calls: the large holder, then spread
 * addresses and ones with nothing. */
static double run_getbalance(const testchain *c, int run)
{
    double worst = 0;
    for (int i = 0; i < CALLS; i++) {
        char a[TC_ADDR_STRLEN];
        tc_address addr = i == 0 ? whale_addr() : spread_addr((uint32_t)(run * 7919 + i * 104729) % (N_ADDRS + 50));
        addr_str(a, &addr, c);
        double ms = timed_call("getbalance", json_pack("[s]", a), NULL);
        worst = ms > worst ? ms : worst;
    }
    return worst;
}

/* The worst of `calls` pages of the large holder's outputs (limit outputs
 * each), paging on from where the last one ended. */
static double run_listunspent(const testchain *c, int limit, int calls, size_t *listed)
{
    char a[TC_ADDR_STRLEN], after[80] = "";
    tc_address w = whale_addr();
    addr_str(a, &w, c);
    double worst = 0;
    *listed = 0;
    for (int i = 0; i < calls; i++) {
        json_t *r;
        json_t *params = after[0] ? json_pack("[s, i, s]", a, limit, after) : json_pack("[s, i]", a, limit);
        double ms = timed_call("listunspent", params, &r);
        worst = ms > worst ? ms : worst;
        *listed += json_array_size(json_object_get(r, "utxos"));
        const char *next = json_string_value(json_object_get(r, "next"));
        snprintf(after, sizeof after, "%s", next ? next : "");
        json_decref(r);
    }
    return worst;
}

static double run_gettxoutsetinfo(uint64_t *txouts)
{
    double worst = 0;
    for (int i = 0; i < CALLS; i++) {
        json_t *r;
        double ms = timed_call("gettxoutsetinfo", json_array(), &r);
        *txouts = (uint64_t)json_integer_value(json_object_get(r, "txouts"));
        json_decref(r);
        worst = ms > worst ? ms : worst;
    }
    return worst;
}

/* The index read alone for a page of 5,000 (no JSON): what listunspent's
 * time is made of. */
static int count_coin(void *ctx, const tc_outpoint *o, const tc_utxo *u, int locked)
{
    size_t *n = ctx;
    return ++*n == 5000;
}

static double index_read_page(tc_ledger *L)
{
    tc_address w = whale_addr();
    size_t n = 0;
    uint64_t t0 = tc_clock_mono_ns();
    if (tc_ledger_each_address_utxo(L, &w, NULL, count_coin, &n) < 0 || n != 5000) {
        fprintf(stderr, "bench: index read\n");
        exit(2);
    }
    return ms_since(t0);
}

/* ---- what the handlers did before the index: a scan per call ------------------------------ */

typedef struct {
    tc_ledger *L;
    tc_address addr;
    json_t *list; /* NULL: only sum */
    uint64_t count, total;
} old_walk;

static int old_sum(void *ctx, const tc_outpoint *o, const tc_utxo *u)
{
    old_walk *w = ctx;
    w->count++;
    w->total += u->value;
    return 0;
}

/* The removed handlers' callback: address compare, and for listunspent a
 * JSON entry and a masternode lookup (its own read transaction) per match. */
static int old_coin(void *ctx, const tc_outpoint *o, const tc_utxo *u)
{
    old_walk *w = ctx;
    if (!tc_address_eq(&u->addr, &w->addr))
        return 0;
    w->total += u->value;
    if (w->list) {
        char s[TC_AMOUNT_STRLEN];
        tc_mn m;
        int locked = tc_ledger_get_mn(w->L, o, &m) == 0;
        json_array_append_new(w->list, json_pack("{s:I, s:s, s:I, s:b}", "vout", (json_int_t)o->vout, "amount",
                                                 tc_amount_format(s, u->value), "height", (json_int_t)u->height,
                                                 "locked", locked));
    }
    return 0;
}

static double old_scan(tc_ledger *L, int list, int sum_all)
{
    old_walk w = {L, whale_addr(), list ? json_array() : NULL, 0, 0};
    uint64_t t0 = tc_clock_mono_ns();
    check(tc_ledger_each_utxo(L, sum_all ? old_sum : old_coin, &w), "scan", NULL);
    json_decref(w.list);
    return ms_since(t0);
}

/* ---- the index built at open for a store from before it ---------------------------------- */

static double rebuild_at_open(testchain *c)
{
    tc_txn *t;
    check(tc_store_begin(tc_ledger_store(c->L), 1, &t), "begin", NULL);
    check(tc_store_clear(t, TC_TB_ADDR_UTXO), "clear addr_utxo", NULL);
    check(tc_store_clear(t, TC_TB_ADDR_SUM), "clear addr_sum", NULL);
    check(tc_store_del(t, TC_TB_META, "utxo_totals", 11), "delete the totals", NULL);
    check(tc_store_commit(t), "commit", NULL);
    testchain_close(c);
    uint64_t t0 = tc_clock_mono_ns();
    testchain_reopen(c);
    return ms_since(t0);
}

static void print_row(const char *what, const double v[RUNS], const double old[RUNS])
{
    printf("  %-32s: worst call %8.3f ms (median of %d runs: %.3f %.3f %.3f)", what, median3(v), RUNS, v[0], v[1],
           v[2]);
    if (old)
        printf("; full scan before: %7.1f ms = %6.0fx", median3(old), median3(old) / median3(v));
    printf("\n");
}

int main(void)
{
    testchain c;
    testchain_init(&c, 4, 2, 1000, 1);
    printf("rpcstall bench: %d unspent outputs (%d over %d addresses, %d at one); each figure the worst single call "
           "of a run through tc_rpc_handle (the loop's stall), median of %d runs\n",
           N_OUTS, N_SPREAD, N_ADDRS, N_WHALE, RUNS);
    uint64_t t0 = tc_clock_mono_ns();
    make_outputs(&c);
    uint64_t count, sat;
    tc_ledger_utxo_totals(c.L, &count, &sat);
    printf("  set-up                          : %llu outputs in %llu blocks, %.1f s\n", (unsigned long long)count,
           (unsigned long long)tc_ledger_height(c.L), ms_since(t0) / 1e3);
    if (count < N_OUTS) {
        fprintf(stderr, "bench: only %llu outputs\n", (unsigned long long)count);
        return 2;
    }

    int err;
    g_rpc = tc_rpc_new(NULL, NULL, NULL, &err);
    tc_noderpc ctx = {.L = c.L, .g = &c.g};
    if (g_rpc == NULL || tc_noderpc_register(g_rpc, &ctx)) {
        fprintf(stderr, "bench: rpc set-up\n");
        return 2;
    }
    double bal[RUNS], page[RUNS], big[RUNS], read[RUNS], info[RUNS], old_bal[RUNS], old_list[RUNS], old_info[RUNS];
    size_t listed = 0, listed_big = 0;
    uint64_t txouts = 0;
    for (int r = 0; r < RUNS; r++) {
        bal[r] = run_getbalance(&c, r);
        page[r] = run_listunspent(&c, 1000, CALLS, &listed);
        big[r] = run_listunspent(&c, 5000, N_WHALE / 5000, &listed_big);
        read[r] = index_read_page(c.L);
        info[r] = run_gettxoutsetinfo(&txouts);
        old_bal[r] = old_scan(c.L, 0, 0);
        old_list[r] = old_scan(c.L, 1, 0);
        old_info[r] = old_scan(c.L, 0, 1);
    }
    if (listed != CALLS * 1000 || listed_big != N_WHALE || txouts != count) {
        fprintf(stderr, "bench: pages listed %zu and %zu outputs, gettxoutsetinfo said %llu\n", listed, listed_big,
                (unsigned long long)txouts);
        return 2;
    }
    print_row("getbalance", bal, old_bal);
    print_row("listunspent, page of 1,000", page, old_list);
    print_row("listunspent, page of 5,000 (max)", big, old_list);
    print_row("  of which the index read", read, NULL);
    printf("  (pages: %d of 1,000 and all %d of 5,000 per run, each after the previous one's next)\n", CALLS,
           N_WHALE / 5000);
    print_row("gettxoutsetinfo", info, old_info);
    printf("  (the scan before: listunspent listed all %d outputs of the address in one answer)\n", N_WHALE);
    printf("  getbalance target <= 1 ms (issue 17): %s\n", median3(bal) <= 1.0 ? "met" : "NOT met");
    /* The set-up's write transactions (40,000 outputs each) leave their
     * dirty pages with the open environment (LMDB keeps freed pages for
     * reuse until it closes); a node that restarted holds only what it uses. */
    long anon_bulk = anon_kib();
    testchain_close(&c);
    testchain_reopen(&c);
    long anon_set = anon_kib();
    tc_mempool *mp = tc_mempool_new(tc_chainstore_view(c.L), NULL);
    fill_mempool(&c, mp);
    tc_mempool_stats ms;
    tc_mempool_get_stats(mp, &ms);
    long anon_full = anon_kib();
    printf("  anonymous RSS (this process: ledger, caches, RPC; LMDB's mapped file not counted; live heap):\n"
           "    right after the set-up's 25 bulk write transactions: %.1f MiB (freed by closing the ledger)\n"
           "    ledger reopened, %llu outputs: %.1f MiB; plus %zu pending txs (%.1f MiB encoded): %.1f MiB;"
           " target <= 64 MB: %s\n",
           anon_bulk / 1024.0, (unsigned long long)count, anon_set / 1024.0, ms.txs, ms.bytes / 1048576.0,
           anon_full / 1024.0, anon_full >= 0 && anon_full * 1024.0 <= 64e6 ? "met" : "NOT met");
    if (ms.txs != N_PENDING) {
        fprintf(stderr, "bench: the mempool holds %zu of %d\n", ms.txs, N_PENDING);
        return 2;
    }
    tc_mempool_free(mp);
    double build = rebuild_at_open(&c);
    tc_ledger_utxo_totals(c.L, &count, &sat);
    printf("  index built at open (old store)  : %.1f s for %llu outputs, once\n", build / 1e3, (unsigned long long)count);
    tc_rpc_free(g_rpc);
    testchain_release(&c);
    return 0;
}
