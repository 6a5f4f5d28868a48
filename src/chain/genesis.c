#include "chain/genesis.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "chain/amount.h"
#include "chain/utxo.h"
#include "crypto/lthash.h"
#include "util/hex.h"
#include "util/mem.h"

#define MAX_GENESIS_ENTRIES 100000

/* Tiers were checked by parse_masternodes, so the lookup cannot fail here. */
static uint64_t collateral_of(const tc_mn *m)
{
    uint64_t col = 0;
    if (tc_tier_info(m->tier, &col, NULL) != 0)
        abort();
    return col;
}

void tc_genesis_release(tc_genesis *g)
{
    free(g->alloc);
    free(g->mn);
    memset(g, 0, sizeof *g);
}

/* Rejects keys of obj not in the NULL-terminated list. */
static int only_keys(json_t *obj, const char *path, const char *const *keys, tc_errmsg *e)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (keys[i] == NULL)
            return tc_fail(e, TC_EGENESIS, "%s: unknown key \"%s\"", path, k);
    }
    return 0;
}

static int get_uint(json_t *obj, const char *path, const char *key, uint64_t max, uint64_t *out, tc_errmsg *e)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return tc_fail(e, TC_EGENESIS, "%s: missing \"%s\"", path, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return tc_fail(e, TC_EGENESIS, "%s.%s: expected an integer from 0 to %llu", path, key,
                       (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_str(json_t *obj, const char *path, const char *key, const char **out, tc_errmsg *e)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return tc_fail(e, TC_EGENESIS, "%s: missing \"%s\"", path, key);
    if (!json_is_string(v))
        return tc_fail(e, TC_EGENESIS, "%s.%s: expected a string", path, key);
    *out = json_string_value(v);
    return 0;
}

static int get_address(json_t *obj, const char *path, const char *key, const char *hrp, tc_address *a,
                       tc_errmsg *e)
{
    const char *s;
    int err = get_str(obj, path, key, &s, e);
    if (err)
        return err;
    if ((err = tc_address_decode(a, hrp, s)))
        return tc_fail(e, TC_EGENESIS, "%s.%s: \"%s\": %s", path, key, s, tc_strerror(err));
    return 0;
}

static int get_pubkey(json_t *obj, const char *path, const char *key, tc_pubkey *pk, tc_errmsg *e)
{
    const char *s;
    int err = get_str(obj, path, key, &s, e);
    if (err)
        return err;
    if (tc_hex_decode(pk->b, 32, s))
        return tc_fail(e, TC_EGENESIS, "%s.%s: expected 64 hex digits", path, key);
    return 0;
}

static int parse_consensus(json_t *c, tc_consensus_params *cp, tc_errmsg *e)
{
    static const char *const keys[] = {"propose_timeout_ms", "propose_delta_ms", "prevote_timeout_ms",
                                       "prevote_delta_ms", "precommit_timeout_ms", "precommit_delta_ms",
                                       "block_interval_ms", "activation_delay", "jail_after_missed", NULL};
    uint32_t *fields[] = {&cp->propose_timeout_ms, &cp->propose_delta_ms, &cp->prevote_timeout_ms,
                          &cp->prevote_delta_ms, &cp->precommit_timeout_ms, &cp->precommit_delta_ms,
                          &cp->block_interval_ms, &cp->activation_delay, &cp->jail_after_missed};
    if (!json_is_object(c))
        return tc_fail(e, TC_EGENESIS, "consensus: expected an object");
    int err = only_keys(c, "consensus", keys, e);
    for (size_t i = 0; err == 0 && keys[i]; i++) {
        uint64_t v;
        err = get_uint(c, "consensus", keys[i], 3600000, &v, e);
        *fields[i] = (uint32_t)v;
    }
    if (err == 0 && cp->jail_after_missed == 0)
        err = tc_fail(e, TC_EGENESIS, "consensus.jail_after_missed: must be at least 1");
    return err;
}

static int parse_allocations(json_t *arr, tc_genesis *g, tc_errmsg *e)
{
    static const char *const keys[] = {"address", "amount", NULL};
    if (!json_is_array(arr) || json_array_size(arr) > MAX_GENESIS_ENTRIES)
        return tc_fail(e, TC_EGENESIS, "allocations: expected an array of at most %d entries", MAX_GENESIS_ENTRIES);
    g->n_alloc = json_array_size(arr);
    g->alloc = tc_xcalloc(g->n_alloc, sizeof *g->alloc);
    for (size_t i = 0; i < g->n_alloc; i++) {
        char path[48];
        const char *amount;
        json_t *a = json_array_get(arr, i);
        snprintf(path, sizeof path, "allocations[%zu]", i);
        if (!json_is_object(a))
            return tc_fail(e, TC_EGENESIS, "%s: expected an object", path);
        int err = only_keys(a, path, keys, e);
        if (err || (err = get_address(a, path, "address", g->net->hrp, &g->alloc[i].addr, e)) ||
            (err = get_str(a, path, "amount", &amount, e)))
            return err;
        if (tc_amount_parse(amount, &g->alloc[i].value) || g->alloc[i].value < TC_DUST_LIMIT)
            return tc_fail(e, TC_EGENESIS, "%s.amount: \"%s\" is not an amount of TIME above the dust limit", path,
                           amount);
    }
    return 0;
}

static int parse_masternodes(json_t *arr, tc_genesis *g, tc_errmsg *e)
{
    static const char *const keys[] = {"tier", "owner_pubkey", "operator_pubkey", "reward_address", "netaddr", NULL};
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > TC_MAX_VALIDATORS)
        return tc_fail(e, TC_EGENESIS, "masternodes: expected an array of 1 to %u entries", TC_MAX_VALIDATORS);
    g->n_mn = json_array_size(arr);
    g->mn = tc_xcalloc(g->n_mn, sizeof *g->mn);
    for (size_t i = 0; i < g->n_mn; i++) {
        char path[48];
        const char *tier, *netaddr;
        tc_mn *m = &g->mn[i];
        json_t *o = json_array_get(arr, i);
        snprintf(path, sizeof path, "masternodes[%zu]", i);
        if (!json_is_object(o))
            return tc_fail(e, TC_EGENESIS, "%s: expected an object", path);
        int err = only_keys(o, path, keys, e);
        if (err || (err = get_str(o, path, "tier", &tier, e)) ||
            (err = get_pubkey(o, path, "owner_pubkey", &m->owner, e)) ||
            (err = get_pubkey(o, path, "operator_pubkey", &m->operator_key, e)) ||
            (err = get_address(o, path, "reward_address", g->net->hrp, &m->reward, e)) ||
            (err = get_str(o, path, "netaddr", &netaddr, e)))
            return err;
        if (tc_tier_parse(tier, &m->tier) || m->tier == TC_TIER_FREE)
            return tc_fail(e, TC_EGENESIS, "%s.tier: \"%s\" is not bronze, silver or gold", path, tier);
        size_t n = strlen(netaddr);
        if (n == 0 || n > TC_MAX_NETADDR || strpbrk(netaddr, " \t\r\n") != NULL)
            return tc_fail(e, TC_EGENESIS, "%s.netaddr: expected host:port without spaces, 1..%u chars", path,
                           TC_MAX_NETADDR);
        memcpy(m->netaddr, netaddr, n + 1);
        for (size_t j = 0; j < i; j++)
            if (memcmp(g->mn[j].operator_key.b, m->operator_key.b, 32) == 0)
                return tc_fail(e, TC_EGENESIS, "%s.operator_pubkey: same key as masternodes[%zu]", path, j);
        m->registered_height = 0;
        m->active_height = 1;
    }
    return 0;
}

int tc_genesis_parse(tc_genesis *g, const char *json, size_t len, tc_errmsg *e)
{
    static const char *const keys[] = {"network",     "chain_id",  "time_ms", "allocations",
                                       "masternodes", "consensus", NULL};
    json_error_t jerr;
    int err = 0;
    memset(g, 0, sizeof *g);
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return tc_fail(e, TC_EGENESIS, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    const char *network;
    uint64_t chain_id = 0;
    if (!json_is_object(root)) {
        err = tc_fail(e, TC_EGENESIS, "expected a JSON object");
        goto out;
    }
    if ((err = only_keys(root, "genesis", keys, e)) || (err = get_str(root, "genesis", "network", &network, e)) ||
        (err = get_uint(root, "genesis", "chain_id", UINT32_MAX, &chain_id, e)) ||
        (err = get_uint(root, "genesis", "time_ms", UINT64_MAX >> 1, &g->time_ms, e)))
        goto out;
    g->chain_id = (uint32_t)chain_id;
    g->net = tc_params_by_name(network);
    if (g->net == NULL || g->net->chain_id != g->chain_id) {
        err = tc_fail(e, TC_EGENESIS, "network \"%s\" does not match chain_id %u", network, g->chain_id);
        goto out;
    }
    json_t *alloc = json_object_get(root, "allocations"), *mns = json_object_get(root, "masternodes");
    json_t *cons = json_object_get(root, "consensus");
    if (!alloc || !mns || !cons) {
        err = tc_fail(e, TC_EGENESIS, "genesis: missing \"%s\"", !alloc ? "allocations" : !mns ? "masternodes" : "consensus");
        goto out;
    }
    if ((err = parse_allocations(alloc, g, e)) || (err = parse_masternodes(mns, g, e)) ||
        (err = parse_consensus(cons, &g->cp, e)))
        goto out;
    g->cp.unbonding_blocks = g->net->unbonding_blocks;
    g->cp.slash_percent = g->net->slash_percent;
    uint64_t total = 0;
    for (size_t i = 0; i < g->n_alloc; i++)
        total += g->alloc[i].value; /* each ≤ TC_MAX_MONEY, at most 1e5 of them: no u64 overflow */
    for (size_t i = 0; i < g->n_mn; i++)
        total += collateral_of(&g->mn[i]);
    if (total > TC_MAX_MONEY) {
        err = tc_fail(e, TC_EGENESIS, "allocations and collaterals exceed the money supply");
        goto out;
    }
    /* Collateral outpoints: outputs of the genesis coinbase after the allocations. */
    tc_block blk;
    tc_genesis_block(g, &blk);
    tc_hash txid;
    tc_tx_txid(&blk.txs[0], &txid);
    for (size_t i = 0; i < g->n_mn; i++) {
        g->mn[i].collateral.txid = txid;
        g->mn[i].collateral.vout = (uint32_t)(g->n_alloc + i);
    }
    tc_block_release(&blk);
out:
    json_decref(root);
    if (err)
        tc_genesis_release(g);
    return err;
}

int tc_genesis_load(tc_genesis *g, const char *path, tc_errmsg *e)
{
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return tc_fail(e, TC_EIO, "%s: cannot open: %m", path);
    tc_buf b;
    tc_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (16u << 20))
        tc_buf_put(&b, chunk, n);
    int rerr = ferror(f);
    fclose(f);
    int err;
    if (rerr) {
        err = tc_fail(e, TC_EIO, "%s: read error", path);
    } else if (b.len >= (16u << 20)) {
        err = tc_fail(e, TC_EGENESIS, "%s: larger than 16 MiB", path);
    } else {
        tc_errmsg inner;
        err = tc_genesis_parse(g, (const char *)b.p, b.len, &inner);
        if (err)
            tc_fail(e, err, "%s: %s", path, inner.msg);
    }
    tc_buf_release(&b);
    return err;
}

void tc_genesis_valset(const tc_genesis *g, tc_valset *out)
{
    tc_valset_init(out);
    for (size_t i = 0; i < g->n_mn; i++) {
        uint64_t w = 0;
        if (tc_tier_info(g->mn[i].tier, NULL, &w) == 0 &&
            tc_valset_add(out, &g->mn[i].operator_key, w, &g->mn[i].reward) != 0)
            abort(); /* parse rejected duplicates and bad tiers: unreachable for a parsed genesis */
    }
}

void tc_genesis_block(const tc_genesis *g, tc_block *out)
{
    tc_tx cb;
    tc_tx_init(&cb);
    cb.kind = TC_TX_COINBASE;
    cb.u.coinbase_height = 0;
    tc_tx_alloc(&cb, 0, g->n_alloc + g->n_mn);
    for (size_t i = 0; i < g->n_alloc; i++) {
        cb.out[i].value = g->alloc[i].value;
        cb.out[i].addr = g->alloc[i].addr;
    }
    for (size_t i = 0; i < g->n_mn; i++) {
        tc_txout *o = &cb.out[g->n_alloc + i];
        o->value = collateral_of(&g->mn[i]);
        tc_address_from_pubkey(&o->addr, &g->mn[i].owner);
    }
    tc_block_init(out);
    tc_block_add_tx(out, &cb);
    tc_header *h = &out->hdr;
    h->version = TC_BLOCK_VERSION;
    h->chain_id = g->chain_id;
    h->height = 0;
    h->time_ms = g->time_ms;
    tc_block_tx_root(out, NULL, &h->tx_root);
    tc_valset vs;
    tc_genesis_valset(g, &vs);
    tc_valset_hash(&vs, &h->valset_hash);
    tc_valset_release(&vs);
    tc_cert_hash(&out->last_commit, &h->last_commit_hash);
    tc_lthash set;
    tc_lthash_init(&set);
    tc_hash txid;
    tc_tx_txid(&cb, &txid);
    for (uint32_t i = 0; i < cb.n_out; i++) {
        tc_outpoint op = {txid, i};
        tc_utxo u = {cb.out[i].value, cb.out[i].addr, 0, TC_UTXO_COINBASE};
        uint8_t key[TC_UTXO_KEY_SIZE], rec[TC_UTXO_REC_SIZE];
        tc_utxo_key(&op, key);
        tc_utxo_encode(&u, rec);
        tc_utxo_commit(&set, key, rec, 1);
    }
    tc_lthash_digest(&set, &h->utxo_commitment);
    tc_tx_release(&cb);
}
