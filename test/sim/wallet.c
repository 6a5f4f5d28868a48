/* The whole-node mode's wallet: the devnet faucet (genesis allocation) pays
 * itself random amounts through random nodes, as `time-cli wallet send`
 * would through sendrawtransaction. It spends only coins the chain has
 * committed and never the same coin twice, so every transaction a node
 * acknowledges must be committed exactly once. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "chain/params.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/mem.h"
#include "wallet/wallet.h"
#include "whole_impl.h"

typedef struct wwallet {
    tc_wallet *keys;
    tc_address addr;
    tc_wallet_coin *coins; /* committed and not offered yet */
    size_t n, cap;
    tc_hmap *acked; /* txid -> times committed (uint64_t) */
    uint64_t pending;
} wwallet;

static void add_coin(wwallet *ww, const tc_outpoint *o, uint64_t value)
{
    if (ww->n == ww->cap) {
        ww->cap = ww->cap ? 2 * ww->cap : 64;
        ww->coins = tc_xrealloc(ww->coins, ww->cap * sizeof *ww->coins);
    }
    ww->coins[ww->n++] = (tc_wallet_coin){.outpoint = *o, .value = value, .addr = ww->addr};
}

static int genesis_coin(void *ctx, const tc_outpoint *o, const tc_utxo *u, int locked)
{
    if (!locked)
        add_coin(ctx, o, u->value);
    return 0;
}

void w_wallet_open(wworld *w)
{
    char path[512];
    tc_errmsg e;
    snprintf(path, sizeof path, "%s/faucet.wallet", w->net);
    wwallet *ww = tc_xcalloc(1, sizeof *ww);
    w->wallet = ww;
    ww->acked = tc_hmap_new(32);
    if (tc_wallet_open(&ww->keys, path, NULL, &e) != 0) {
        w_violation(w, "wallet: %s", e.msg);
        return;
    }
    ww->addr = *tc_wallet_address(ww->keys, 0);
    if (tc_ledger_each_address_utxo(tc_node_parts_ledger(w->nodes[0].node), &ww->addr, NULL, genesis_coin, ww) != 0)
        w_violation(w, "wallet: cannot list the genesis allocation");
}

static void free_count(void *ctx, const void *key, void *value)
{
    free(value);
}

void w_wallet_free(wworld *w)
{
    wwallet *ww = w->wallet;
    if (ww == NULL)
        return;
    tc_hmap_each(ww->acked, free_count, NULL);
    tc_hmap_free(ww->acked);
    tc_wallet_free(ww->keys);
    free(ww->coins);
    free(ww);
    w->wallet = NULL;
}

/* Pays a share of one random coin back to the faucet through nd. */
static void pay_once(wworld *w, wwallet *ww, wnode *nd)
{
    size_t c = (size_t)sim_range(&w->rng, 0, ww->n - 1);
    tc_wallet_coin coin = ww->coins[c];
    ww->coins[c] = ww->coins[--ww->n];
    if (coin.value < 2 * TC_COIN)
        return; /* too small to split again: left unspent */
    uint64_t amount = coin.value / 100 * sim_range(&w->rng, 1, 45);
    tc_tx tx;
    tc_errmsg e;
    tc_hash txid;
    if (tc_wallet_build_transfer(ww->keys, &coin, 1, &ww->addr, amount, 0, &tx, NULL, &e) != 0) {
        tc_tx_release(&tx);
        w_violation(w, "wallet: cannot pay %" PRIu64 " sat from a coin of %" PRIu64 ": %s", amount, coin.value,
                    e.msg);
        return;
    }
    int err = tc_node_parts_submit(nd->node, &tx, &txid, &e);
    tc_tx_release(&tx);
    if (err) { /* a node behind the chain does not know the coin yet: offer it again later */
        add_coin(ww, &coin.outpoint, coin.value);
        if (w->cfg->verbose)
            fprintf(stderr, "t=%" PRIu64 " wallet: node %d refused: %s\n", w->now, nd->idx, e.msg);
        return;
    }
    uint64_t *count = tc_xcalloc(1, sizeof *count);
    tc_hmap_put(ww->acked, txid.b, count);
    ww->pending++;
    w->res->txs_acked++;
}

void w_wallet_step(wworld *w)
{
    wwallet *ww = w->wallet;
    int up[WHOLE_MAX_NODES], n_up = 0;
    for (int i = 0; i < w->n; i++)
        if (w->nodes[i].up && !w->nodes[i].byz) /* what a Byzantine node acknowledges means nothing */
            up[n_up++] = i;
    for (int k = (int)sim_range(&w->rng, 1, 3); k > 0; k--) {
        if (ww == NULL || ww->keys == NULL || ww->n == 0 || n_up == 0)
            return;
        pay_once(w, ww, &w->nodes[up[sim_range(&w->rng, 0, (uint64_t)n_up - 1)]]);
    }
}

void w_wallet_on_block(wworld *w, const tc_block *blk)
{
    wwallet *ww = w->wallet;
    if (ww == NULL)
        return;
    for (size_t i = 1; i < blk->n_tx; i++) {
        const tc_tx *tx = &blk->txs[i];
        tc_hash txid;
        tc_tx_txid(tx, &txid);
        uint64_t *count = tc_hmap_get(ww->acked, txid.b);
        if (count == NULL)
            continue; /* evidence, or ours but refused where offered and relayed anyway: none here */
        if (++*count == 1) {
            ww->pending--;
            w->res->txs_committed++;
        } else {
            char hex[17];
            w_violation(w, "transaction %s committed %" PRIu64 " times (height %" PRIu64 ")",
                        tc_hex_encode(hex, txid.b, 8), *count, blk->hdr.height);
        }
        for (size_t j = 0; j < tx->n_out; j++)
            if (memcmp(&tx->out[j].addr, &ww->addr, sizeof ww->addr) == 0)
                add_coin(ww, &(tc_outpoint){txid, (uint32_t)j}, tx->out[j].value);
    }
}

uint64_t w_wallet_pending(const wworld *w)
{
    return w->wallet ? w->wallet->pending : 0;
}

typedef struct {
    wworld *w;
    uint64_t missing;
    tc_hash first;
} missing_walk;

static void count_missing(void *ctx, const void *key, void *value)
{
    missing_walk *m = ctx;
    if (*(const uint64_t *)value == 0 && m->missing++ == 0)
        memcpy(m->first.b, key, 32);
}

void w_wallet_check(wworld *w)
{
    if (w->wallet == NULL)
        return;
    missing_walk m = {w, 0, {{0}}};
    tc_hmap_each(w->wallet->acked, count_missing, &m);
    char hex[17];
    if (m.missing)
        w_violation(w, "%" PRIu64 " acknowledged transactions never committed (first %s)", m.missing,
                    tc_hex_encode(hex, m.first.b, 8));
}
