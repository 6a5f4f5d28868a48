#include "testchain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/reward.h"
#include "util/hex.h"

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "testchain: %s: %s\n", what, detail);
    abort();
}

void testchain_key(tc_keypair *kp, uint8_t tag, uint32_t i)
{
    uint8_t seed[32] = {0};
    seed[0] = tag;
    tc_le32(seed + 1, i);
    tc_keypair_from_seed(kp, seed);
}

static void open_ledger(testchain *c)
{
    tc_errmsg e;
    tc_ledger_opts o = {1ull << 30, c->cache, c->pool};
    if (tc_ledger_open(&c->L, c->dir, &c->g, &o, &e))
        die("open", e.msg);
}

void testchain_init_genesis(testchain *c, size_t n_val, uint32_t activation_delay, uint32_t jail_after)
{
    memset(c, 0, sizeof *c);
    if (tc_crypto_init())
        die("crypto", "sodium_init failed");
    c->n_val = n_val;
    char json[65536];
    size_t off = 0;
    off += (size_t)snprintf(json + off, sizeof json - off,
                            "{\"network\":\"devnet\",\"chain_id\":3,\"time_ms\":1763700000000,\"allocations\":[");
    for (size_t i = 0; i < TESTCHAIN_USERS; i++) {
        char addr[TC_ADDR_STRLEN];
        testchain_key(&c->user[i], 'u', (uint32_t)i);
        tc_address_from_pubkey(&c->user_addr[i], &c->user[i].pk);
        if (tc_address_encode(addr, &c->user_addr[i], "dtime"))
            die("address", "encode");
        off += (size_t)snprintf(json + off, sizeof json - off, "%s{\"address\":\"%s\",\"amount\":\"%llu\"}",
                                i ? "," : "", addr, TESTCHAIN_USER_FUNDS / TC_COIN);
    }
    off += (size_t)snprintf(json + off, sizeof json - off, "],\"masternodes\":[");
    for (size_t i = 0; i < n_val; i++) {
        char op[65], ow[65], reward[TC_ADDR_STRLEN];
        tc_address ra;
        testchain_key(&c->val[i], 'v', (uint32_t)i);
        testchain_key(&c->owner[i], 'o', (uint32_t)i);
        tc_address_from_pubkey(&ra, &c->owner[i].pk);
        if (tc_address_encode(reward, &ra, "dtime"))
            die("address", "encode");
        off += (size_t)snprintf(json + off, sizeof json - off,
                                "%s{\"tier\":\"bronze\",\"owner_pubkey\":\"%s\",\"operator_pubkey\":\"%s\","
                                "\"reward_address\":\"%s\",\"netaddr\":\"127.0.0.1:%zu\"}",
                                i ? "," : "", tc_hex_encode(ow, c->owner[i].pk.b, 32),
                                tc_hex_encode(op, c->val[i].pk.b, 32), reward, 24200 + 10 * i);
    }
    snprintf(json + off, sizeof json - off,
             "],\"consensus\":{\"propose_timeout_ms\":1000,\"propose_delta_ms\":500,\"prevote_timeout_ms\":1000,"
             "\"prevote_delta_ms\":500,\"precommit_timeout_ms\":1000,\"precommit_delta_ms\":500,"
             "\"block_interval_ms\":1000,\"activation_delay\":%u,\"jail_after_missed\":%u}}",
             activation_delay, jail_after);
    tc_errmsg e;
    if (tc_genesis_parse(&c->g, json, strlen(json), &e))
        die("genesis", e.msg);
}

void testchain_init(testchain *c, size_t n_val, uint32_t activation_delay, uint32_t jail_after, int with_pool)
{
    testchain_init_genesis(c, n_val, activation_delay, jail_after);
    snprintf(c->dir, sizeof c->dir, "/tmp/tc-test-XXXXXX");
    if (mkdtemp(c->dir) == NULL)
        die("mkdtemp", c->dir);
    c->cache = tc_sigcache_new(1 << 16);
    c->pool = with_pool ? tc_pool_new(0) : NULL;
    open_ledger(c);
}

void testchain_close(testchain *c)
{
    tc_ledger_close(c->L);
    c->L = NULL;
}

void testchain_reopen(testchain *c)
{
    open_ledger(c);
}

void testchain_release(testchain *c)
{
    char cmd[300];
    testchain_close(c);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
    if (c->dir[0] && system(cmd) != 0)
        fprintf(stderr, "testchain: could not remove %s\n", c->dir);
    tc_pool_free(c->pool);
    tc_sigcache_free(c->cache);
    tc_genesis_release(&c->g);
    for (size_t i = 0; i < TESTCHAIN_MAX_VAL; i++) {
        tc_keypair_wipe(&c->val[i]);
        tc_keypair_wipe(&c->owner[i]);
    }
}

tc_outpoint testchain_user_outpoint(const testchain *c, size_t i)
{
    tc_block g;
    tc_outpoint o;
    tc_genesis_block(&c->g, &g);
    tc_tx_txid(&g.txs[0], &o.txid);
    o.vout = (uint32_t)i;
    tc_block_release(&g);
    return o;
}

void testchain_tip_cert(testchain *c, tc_cert *out)
{
    uint64_t h = tc_ledger_height(c->L);
    if (h == 0) {
        tc_cert_init(out);
        return;
    }
    if (tc_ledger_get_cert(c->L, h, out))
        die("tip cert", "missing");
}

static const tc_keypair *operator_of(const testchain *c, const tc_pubkey *pk)
{
    for (size_t i = 0; i < c->n_val; i++)
        if (memcmp(c->val[i].pk.b, pk->b, 32) == 0)
            return &c->val[i];
    return NULL;
}

void testchain_certify(testchain *c, const tc_block *blk, uint64_t signers_mask, tc_cert *out)
{
    tc_valset vs;
    /* A test may certify a block with a wrong height: sign with the next set. */
    if (tc_ledger_valset(c->L, blk->hdr.height, &vs) && tc_ledger_valset(c->L, tc_ledger_height(c->L) + 1, &vs))
        die("certify", "no validator set");
    tc_cert_init(out);
    out->height = blk->hdr.height;
    out->round = 0;
    tc_header_hash(&blk->hdr, &out->block);
    for (size_t i = 0; i < vs.n; i++) {
        const tc_keypair *kp = operator_of(c, &vs.v[i].key);
        if (kp == NULL || !(signers_mask >> (kp - c->val) & 1))
            continue;
        tc_vote v = {.type = TC_VOTE_PRECOMMIT, .height = out->height, .round = 0, .block = out->block};
        tc_vote_sign(&v, c->g.chain_id, kp);
        if (tc_cert_add(out, &v))
            die("certify", "cert_add");
    }
    tc_valset_release(&vs);
}

void testchain_build(testchain *c, const tc_tx *txs, size_t n, tc_block *out)
{
    tc_valset vs;
    tc_cert last;
    tc_header tip;
    tc_errmsg e;
    if (tc_ledger_valset(c->L, tc_ledger_height(c->L) + 1, &vs))
        die("build", "no validator set");
    tc_ledger_tip(c->L, &tip, NULL);
    testchain_tip_cert(c, &last);
    const tc_tx **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &txs[i];
    if (tc_ledger_build_block(c->L, ptrs, n, tip.time_ms + 1000, &vs.v[0].key, &last, out, NULL, &e))
        die("build", e.msg);
    free(ptrs);
    tc_cert_release(&last);
    tc_valset_release(&vs);
}

int testchain_next(testchain *c, const tc_tx *txs, size_t n, tc_block *out, tc_errmsg *e)
{
    tc_block local;
    tc_block *blk = out ? out : &local;
    tc_cert cert;
    testchain_build(c, txs, n, blk);
    testchain_certify(c, blk, ~0ull, &cert);
    int err = tc_ledger_apply_block(c->L, blk, &cert, e);
    tc_cert_release(&cert);
    if (blk == &local)
        tc_block_release(&local);
    return err;
}

void testchain_transfer(const testchain *c, const tc_outpoint *in, uint64_t in_value, const tc_keypair *from,
                        const tc_address *to, uint64_t amount, tc_tx *out)
{
    tc_address change;
    tc_address_from_pubkey(&change, &from->pk);
    uint64_t fee = tc_address_eq(&change, to) ? TC_MIN_FEE : tc_required_fee(amount);
    if (in_value < amount + fee)
        die("transfer", "input too small");
    uint64_t rest = in_value - amount - fee;
    tc_tx_init(out);
    tc_tx_alloc(out, 1, rest >= TC_DUST_LIMIT ? 2 : 1);
    out->in[0].prev = *in;
    out->in[0].pubkey = from->pk;
    out->out[0].value = amount;
    out->out[0].addr = *to;
    if (rest >= TC_DUST_LIMIT) {
        out->out[1].value = rest;
        out->out[1].addr = change;
    }
    tc_tx_sign_input(out, 0, c->g.chain_id, from);
}
