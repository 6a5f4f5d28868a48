#include "node/noderpc.h"

#include <string.h>

#include "chain/amount.h"
#include "chain/utxo.h"
#include "store/ledger.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/mem.h"
#include "util/version.h"

/* Application error codes (Bitcoin's where one exists). */
enum {
    RPC_MISC = -1,
    RPC_INVALID_ADDRESS = -5,
    RPC_NOT_FOUND = -5,
    RPC_DESERIALIZATION = -22,
    RPC_VERIFY_REJECTED = -26,
    RPC_VERIFY_ALREADY = -27,
};

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char *s = tc_xmalloc(2 * n + 1);
    json_t *j = json_string(tc_hex_encode(s, p, n));
    free(s);
    return j;
}

static json_t *amount_json(uint64_t sat)
{
    char s[TC_AMOUNT_STRLEN];
    return json_string(tc_amount_format(s, sat));
}

/* params[i] as an unsigned integer. */
static bool param_uint(json_t *params, size_t i, uint64_t *out)
{
    json_t *v = json_is_array(params) ? json_array_get(params, i) : NULL;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static const char *param_str(json_t *params, size_t i)
{
    json_t *v = json_is_array(params) ? json_array_get(params, i) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool param_hash(json_t *params, size_t i, tc_hash *out)
{
    const char *s = param_str(params, i);
    return s && tc_hex_decode(out->b, 32, s) == 0;
}

/* ---- chain -------------------------------------------------------------------- */

static json_t *m_getblockcount(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    return json_integer((json_int_t)tc_ledger_height(n->L));
}

static json_t *m_getbestblockhash(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    tc_hash h;
    tc_ledger_tip(n->L, NULL, &h);
    return hex_json(h.b, 32);
}

static json_t *m_getblockhash(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    uint64_t height;
    if (!param_uint(params, 0, &height))
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "usage: getblockhash height");
    tc_block b;
    if (height > tc_ledger_height(n->L) || tc_ledger_get_block(n->L, height, &b) != 0)
        return tc_rpc_fail(e, RPC_NOT_FOUND, "block height %llu out of range (tip is %llu)",
                           (unsigned long long)height, (unsigned long long)tc_ledger_height(n->L));
    tc_hash h;
    tc_header_hash(&b.hdr, &h);
    tc_block_release(&b);
    return hex_json(h.b, 32);
}

static json_t *m_getblock(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    tc_hash want;
    uint64_t height;
    if (!param_hash(params, 0, &want))
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "usage: getblock \"blockhash\" (64 hex digits)");
    if (tc_ledger_height_of(n->L, &want, &height) != 0)
        return tc_rpc_fail(e, RPC_NOT_FOUND, "block %s not found", param_str(params, 0));
    tc_block b;
    tc_cert cert;
    if (tc_ledger_get_block(n->L, height, &b) != 0)
        return tc_rpc_fail(e, TC_RPC_INTERNAL_ERROR, "block %llu unreadable", (unsigned long long)height);
    json_t *txs = json_array();
    for (size_t i = 0; i < b.n_tx; i++) {
        tc_hash id;
        tc_tx_txid(&b.txs[i], &id);
        json_array_append_new(txs, hex_json(id.b, 32));
    }
    json_t *r = json_pack("{s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:o}", "hash", hex_json(want.b, 32), "height",
                          (json_int_t)height, "time_ms", (json_int_t)b.hdr.time_ms, "previousblockhash",
                          hex_json(b.hdr.prev.b, 32), "proposer", hex_json(b.hdr.proposer.b, 32), "utxo_commitment",
                          hex_json(b.hdr.utxo_commitment.b, 32), "merkleroot", hex_json(b.hdr.tx_root.b, 32), "size",
                          (json_int_t)tc_block_size(&b), "tx", txs);
    if (tc_ledger_get_cert(n->L, height, &cert) == 0) {
        json_t *keys = json_array();
        for (size_t i = 0; i < cert.n; i++)
            json_array_append_new(keys, hex_json(cert.sigs[i].key.b, 32));
        json_object_set_new(r, "certificate",
                            json_pack("{s:I, s:I, s:o}", "round", (json_int_t)cert.round, "signers", (json_int_t)cert.n,
                                      "keys", keys));
        tc_cert_release(&cert);
    }
    json_object_set_new(r, "confirmations", json_integer((json_int_t)(tc_ledger_height(n->L) - height + 1)));
    tc_block_release(&b);
    return r;
}

static json_t *m_getblockchaininfo(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    tc_header tip;
    tc_hash h;
    tc_ledger_tip(n->L, &tip, &h);
    tc_valset vs;
    json_int_t validators = 0, weight = 0;
    if (tc_ledger_valset(n->L, tc_ledger_height(n->L) + 1, &vs) == 0) {
        validators = (json_int_t)vs.n;
        weight = (json_int_t)vs.total;
        tc_valset_release(&vs);
    }
    return json_pack("{s:s, s:I, s:I, s:o, s:I, s:I, s:o, s:o, s:I, s:I}", "chain", n->g->net->name, "chain_id",
                     (json_int_t)n->g->chain_id, "blocks", (json_int_t)tc_ledger_height(n->L), "bestblockhash",
                     hex_json(h.b, 32), "time_ms", (json_int_t)tip.time_ms, "last_block_age_ms",
                     (json_int_t)(tc_clock_wall_ms() > tip.time_ms ? tc_clock_wall_ms() - tip.time_ms : 0),
                     "genesis", hex_json(tc_ledger_genesis_hash(n->L)->b, 32), "utxo_commitment",
                     hex_json(tip.utxo_commitment.b, 32), "validators", validators, "total_weight", weight);
}

/* The fork query's state and the weight of its last answers; NULL if none. */
static json_t *fork_json(tc_noderpc *n)
{
    if (n->forkq == NULL || *n->forkq == NULL)
        return NULL;
    tc_forkq_status st;
    tc_forkq_status_get(*n->forkq, &st);
    json_t *keys = json_array(), *certified = json_array();
    const tc_pubkey *cul;
    for (size_t i = 0, k = tc_forkq_culprits(*n->forkq, &cul); i < k; i++)
        json_array_append_new(keys, hex_json(cul[i].b, 32));
    for (int pass = 0; pass < 2; pass++) /* ours first */
        for (size_t i = 0; i < st.n_branches; i++)
            if (st.branches[i].cert_valid && st.branches[i].ours == (pass == 0))
                json_array_append_new(certified, hex_json(st.branches[i].hash.b, 32));
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o, s:o, s:I}", "state",
                     tc_forkq_state_name(st.state), "height", (json_int_t)st.height, "answers",
                     (json_int_t)st.answers, "weight_for", (json_int_t)st.weight_for, "weight_against",
                     (json_int_t)st.weight_against, "weight_total", (json_int_t)st.weight_total, "culprits",
                     (json_int_t)st.n_culprits, "culprit_weight", (json_int_t)st.culprit_weight, "suspected",
                     (json_int_t)st.suspected, "queries", (json_int_t)st.queries, "undecided",
                     (json_int_t)st.undecided, "rollbacks", (json_int_t)st.rollbacks, "halted", st.halted,
                     "culprit_keys", keys, "certified", certified, "halts", (json_int_t)st.halts);
}

/* Our tip, and every other branch the last fork query saw at its height. */
static json_t *m_getchaintips(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    tc_header hdr;
    tc_hash tip;
    tc_ledger_tip(n->L, &hdr, &tip);
    json_t *r = json_array();
    json_array_append_new(r, json_pack("{s:I, s:o, s:s, s:I}", "height", (json_int_t)tc_ledger_height(n->L), "hash",
                                       hex_json(tip.b, 32), "status", "active", "branchlen", (json_int_t)0));
    if (n->forkq == NULL || *n->forkq == NULL)
        return r;
    tc_forkq_status st;
    tc_forkq_status_get(*n->forkq, &st);
    for (size_t i = 0; i < st.n_branches; i++) {
        const tc_forkq_branch *b = &st.branches[i];
        if (b->ours)
            continue;
        json_array_append_new(r, json_pack("{s:I, s:o, s:s, s:I, s:b, s:I}", "height", (json_int_t)st.height, "hash",
                                           hex_json(b->hash.b, 32), "status", "fork", "weight",
                                           (json_int_t)b->weight, "valid_cert", b->cert_valid, "answers",
                                           (json_int_t)b->answers));
    }
    return r;
}

static json_t *m_getconsensusinfo(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    static const char *const steps[] = {"new", "propose", "prevote", "precommit", "commit", "done"};
    tc_hash lv, vv;
    int32_t lr = tc_core_locked(n->core, &lv), vr = tc_core_valid(n->core, &vv);
    enum tc_step step = tc_core_step(n->core);
    tc_core_stats st;
    tc_core_get_stats(n->core, &st);
    json_t *r = json_pack("{s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "height", (json_int_t)tc_core_height(n->core),
                          "round", (json_int_t)tc_core_round(n->core), "step",
                          step <= TC_STEP_DONE ? steps[step] : "?", "locked_round", (json_int_t)lr, "valid_round",
                          (json_int_t)vr, "rounds_started", (json_int_t)st.rounds, "round_changes",
                          (json_int_t)st.round_changes, "signed", (json_int_t)st.signs,
                          "evidence", (json_int_t)st.evidence);
    tc_pubkey proposer;
    if (tc_core_proposer(n->core, tc_core_round(n->core), &proposer))
        json_object_set_new(r, "proposer", hex_json(proposer.b, 32));
    if (n->operator_key) {
        json_object_set_new(r, "self", hex_json(n->operator_key->b, 32));
        bool held = n->hold && !tc_signhold_may_sign(n->hold);
        json_object_set_new(r, "signing", json_string(held ? "held" : "yes"));
        if (held) /* network_height_unknown, sign_log_behind_chain, ... (node/signhold.h) */
            json_object_set_new(r, "signing_held_because", json_string(tc_signhold_reason(n->hold)));
    }
    json_t *fork = fork_json(n);
    if (fork)
        json_object_set_new(r, "fork", fork);
    if (n->hold && n->hold->why != TC_SIGNHOLD_NONE) /* a hold was decided at start, after catching up, or by a sighting */
        json_object_set_new(r, "sign_hold",
                            json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:I}", "held", n->hold->held, "reason",
                                      tc_signhold_why_name(n->hold->why), "sign_log_height", (json_int_t)n->hold->log_height, "chain_signed_height",
                                      (json_int_t)n->hold->signed_height, "release_after_ms",
                                      (json_int_t)n->hold->release_ms, "sightings", (json_int_t)n->hold->sightings,
                                      "released_at_height", (json_int_t)n->hold->released_height));
    return r;
}

/* ---- transactions and mempool -------------------------------------------------- */

static json_t *tx_hex(const tc_tx *tx)
{
    tc_buf b;
    tc_buf_init(&b);
    tc_tx_encode(tx, &b);
    json_t *j = hex_json(b.p, b.len);
    tc_buf_release(&b);
    return j;
}

/* A committed block is final (BFT): there are no confirmations to wait for. */
static json_t *tx_info(tc_noderpc *n, const tc_hash *txid, bool verbose, tc_rpc_error *e)
{
    const tc_tx *pending = tc_mempool_get(n->mp, txid);
    if (pending) {
        if (!verbose)
            return tx_hex(pending);
        return json_pack("{s:o, s:o, s:s, s:b, s:b}", "txid", hex_json(txid->b, 32), "hex", tx_hex(pending), "kind",
                         tc_tx_kind_name(pending->kind), "in_mempool", 1, "final", 0);
    }
    uint64_t height;
    uint32_t index;
    tc_block b;
    if (tc_ledger_tx_location(n->L, txid, &height, &index) != 0) {
        char hex[65];
        return tc_rpc_fail(e, RPC_NOT_FOUND, "no transaction %s on chain or in the mempool",
                           tc_hex_encode(hex, txid->b, 32));
    }
    if (tc_ledger_get_block(n->L, height, &b) != 0 || index >= b.n_tx)
        return tc_rpc_fail(e, TC_RPC_INTERNAL_ERROR, "transaction index points at a missing block %llu",
                           (unsigned long long)height);
    json_t *r;
    if (!verbose) {
        r = tx_hex(&b.txs[index]);
    } else {
        tc_hash bh;
        tc_header_hash(&b.hdr, &bh);
        r = json_pack("{s:o, s:o, s:s, s:o, s:I, s:I, s:I, s:b}", "txid", hex_json(txid->b, 32), "hex",
                      tx_hex(&b.txs[index]), "kind", tc_tx_kind_name(b.txs[index].kind), "blockhash",
                      hex_json(bh.b, 32), "height", (json_int_t)height, "time_ms", (json_int_t)b.hdr.time_ms,
                      "confirmations", (json_int_t)(tc_ledger_height(n->L) - height + 1), "final", 1);
    }
    tc_block_release(&b);
    return r;
}

static json_t *m_getrawtransaction(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_hash id;
    if (!param_hash(params, 0, &id))
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "usage: getrawtransaction \"txid\" [verbose]");
    json_t *v = json_array_get(params, 1);
    return tx_info(ctx, &id, json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0), e);
}

static json_t *m_gettransaction(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_hash id;
    if (!param_hash(params, 0, &id))
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "usage: gettransaction \"txid\"");
    return tx_info(ctx, &id, true, e);
}

/* O(1): the totals are kept with the set, like its commitment. */
static json_t *m_gettxoutsetinfo(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    uint64_t count, sat;
    tc_header tip;
    tc_hash h, commit;
    tc_ledger_utxo_totals(n->L, &count, &sat);
    tc_ledger_tip(n->L, &tip, &h);
    tc_ledger_utxo_commitment(n->L, &commit);
    return json_pack("{s:I, s:o, s:I, s:o, s:o}", "height", (json_int_t)tc_ledger_height(n->L), "bestblock",
                     hex_json(h.b, 32), "txouts", (json_int_t)count, "total_amount", amount_json(sat),
                     "utxo_commitment", hex_json(commit.b, 32));
}

static json_t *m_sendrawtransaction(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    const char *full;
    if (!tc_store_writable(tc_ledger_store(n->L), &full)) /* admitted now, it could never be committed */
        return tc_rpc_fail(e, RPC_VERIFY_REJECTED, "%s; not accepting transactions until the node can write", full);
    const char *hex = param_str(params, 0);
    size_t len = hex ? strlen(hex) : 0;
    if (hex == NULL || len % 2 != 0 || len / 2 > TC_MAX_TX_SIZE)
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "usage: sendrawtransaction \"hex\" (at most %u bytes)",
                           TC_MAX_TX_SIZE);
    uint8_t *raw = tc_xmalloc(len / 2 + 1);
    tc_tx tx;
    int err = tc_hex_decode(raw, len / 2, hex);
    if (err == 0)
        err = tc_tx_decode(&tx, raw, len / 2);
    free(raw);
    if (err)
        return tc_rpc_fail(e, RPC_DESERIALIZATION, "transaction does not decode: %s", tc_strerror(err));
    tc_hash txid;
    tc_errmsg why;
    err = tc_mempool_add(n->mp, &tx, tc_clock_wall_ms(), &txid, &why);
    int disk = err == 0 ? tc_txdurable_admitted(n->txd, &tx, true) : 0;
    tc_tx_release(&tx);
    if (err == TC_EEXIST)
        return tc_rpc_fail(e, RPC_VERIFY_ALREADY, "%s", why.msg);
    if (err)
        return tc_rpc_fail(e, RPC_VERIFY_REJECTED, "%s", why.msg);
    tc_p2p_relay(n->p2p, TC_INV_TX, &txid, 0);
    if (disk) /* pending and relayed, but this node would lose it in a crash: say so */
        return tc_rpc_fail(e, TC_RPC_INTERNAL_ERROR, "admitted and relayed but not written to disk: %s",
                           tc_strerror(disk));
    return hex_json(txid.b, 32);
}

static json_t *m_getmempoolinfo(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    tc_mempool_stats s;
    tc_mempool_get_stats(n->mp, &s);
    return json_pack("{s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I}", "size", (json_int_t)s.txs, "bytes",
                     (json_int_t)s.bytes, "fees", amount_json(s.fees), "admitted", (json_int_t)s.admitted,
                     "rejected", (json_int_t)s.rejected, "evicted", (json_int_t)s.evicted, "expired",
                     (json_int_t)s.expired, "mined", (json_int_t)s.mined);
}

static json_t *m_getrawmempool(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    tc_mempool_stats s;
    tc_mempool_get_stats(n->mp, &s);
    tc_hash *ids = tc_xcalloc(s.txs ? s.txs : 1, sizeof *ids);
    size_t k = tc_mempool_txids(n->mp, ids, s.txs);
    json_t *r = json_array();
    for (size_t i = 0; i < k; i++)
        json_array_append_new(r, hex_json(ids[i].b, 32));
    free(ids);
    return r;
}

/* listunspent's page: LISTUNSPENT_DEFAULT outputs unless asked, never more
 * than LISTUNSPENT_MAX: a page is built on the loop thread at about 5 µs an
 * output (bench/rpcstall), so the largest holds it some 25 ms. */
#define LISTUNSPENT_DEFAULT 1000
#define LISTUNSPENT_MAX 5000

static json_t *bad_address(tc_noderpc *n, const char *a, tc_rpc_error *e)
{
    return tc_rpc_fail(e, RPC_INVALID_ADDRESS, "expected a %s address (%s1…), got \"%s\"", n->g->net->name,
                       n->g->net->hrp, a ? a : "");
}

typedef struct {
    json_t *list;
    size_t limit;
    tc_outpoint last; /* of the last output listed */
    bool truncated;
} coin_page;

static int add_coin(void *ctx, const tc_outpoint *o, const tc_utxo *u, int locked)
{
    coin_page *p = ctx;
    if (json_array_size(p->list) == p->limit) {
        p->truncated = true; /* there is one more */
        return 1;
    }
    p->last = *o;
    /* Built field by field from stack buffers: a page is built on the loop
     * thread, and this is most of its cost. */
    char txid[65], amount[TC_AMOUNT_STRLEN];
    json_t *c = json_object();
    json_object_set_new_nocheck(c, "txid", json_string_nocheck(tc_hex_encode(txid, o->txid.b, 32)));
    json_object_set_new_nocheck(c, "vout", json_integer((json_int_t)o->vout));
    json_object_set_new_nocheck(c, "amount", json_string_nocheck(tc_amount_format(amount, u->value)));
    json_object_set_new_nocheck(c, "value_sat", json_integer((json_int_t)u->value));
    json_object_set_new_nocheck(c, "height", json_integer((json_int_t)u->height));
    json_object_set_new_nocheck(c, "locked", json_boolean(locked));
    json_array_append_new(p->list, c);
    return 0;
}

/* listunspent "address" [limit] ["after"]: one page of the address's outputs
 * in outpoint order, read from the address index (O(page)). */
static json_t *m_listunspent(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    const char *a = param_str(params, 0), *after_s = param_str(params, 2);
    tc_address addr;
    uint64_t limit = LISTUNSPENT_DEFAULT;
    tc_outpoint after;
    json_t *lim = json_array_get(params, 1), *aft = json_array_get(params, 2);
    if ((lim && !json_is_null(lim) && (!param_uint(params, 1, &limit) || limit == 0 || limit > LISTUNSPENT_MAX)) ||
        (aft && !json_is_null(aft) && (after_s == NULL || tc_outpoint_parse(&after, after_s) != 0)) ||
        json_array_size(params) > 3)
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS,
                           "usage: listunspent \"address\" [limit (1..%d, default %d)] [\"after\" (txid:vout, the "
                           "previous page's next)]",
                           LISTUNSPENT_MAX, LISTUNSPENT_DEFAULT);
    if (a == NULL || tc_address_decode(&addr, n->g->net->hrp, a) != 0)
        return bad_address(n, a, e);
    coin_page p = {json_array(), (size_t)limit, {{{0}}, 0}, false};
    if (tc_ledger_each_address_utxo(n->L, &addr, after_s ? &after : NULL, add_coin, &p) < 0) {
        json_decref(p.list);
        return tc_rpc_fail(e, TC_RPC_INTERNAL_ERROR, "store read failed");
    }
    json_t *r = json_pack("{s:o, s:b}", "utxos", p.list, "truncated", p.truncated);
    if (p.truncated) {
        char next[80];
        json_object_set_new(r, "next", json_string(tc_outpoint_str(next, &p.last)));
    }
    return r;
}

/* O(1): the address index keeps each address's total. */
static json_t *m_getbalance(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    const char *a = param_str(params, 0);
    tc_address addr;
    uint64_t count, sat;
    if (a == NULL || tc_address_decode(&addr, n->g->net->hrp, a) != 0)
        return bad_address(n, a, e);
    if (tc_ledger_address_totals(n->L, &addr, &count, &sat) != 0)
        return tc_rpc_fail(e, TC_RPC_INTERNAL_ERROR, "store read failed");
    return amount_json(sat);
}

/* ---- network, masternodes, control ----------------------------------------------- */

static json_t *m_getpeerinfo(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    tc_peer_info *p;
    size_t k = tc_p2p_peers(n->p2p, &p);
    json_t *r = json_array();
    for (size_t i = 0; i < k; i++) {
        tc_pubkey op;
        bool attested = n->oplinks && tc_oplinks_operator(n->oplinks, p[i].id, &op);
        json_array_append_new(
            r, json_pack("{s:I, s:s, s:o, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:o}", "id",
                         (json_int_t)p[i].id, "addr", p[i].addr, "key", hex_json(p[i].key.b, 32), "inbound",
                         p[i].inbound, "established", p[i].established, "height", (json_int_t)p[i].height, "ping_ms",
                         (json_int_t)p[i].ping_ms, "bytes_in", (json_int_t)p[i].bytes_in, "bytes_out",
                         (json_int_t)p[i].bytes_out, "ban_score", (json_int_t)p[i].ban_score, "user_agent",
                         p[i].user_agent, "protocol", (json_int_t)p[i].protocol, "operator",
                         attested ? hex_json(op.b, 32) : json_null()));
    }
    free(p);
    return r;
}

static int add_mn(void *ctx, const tc_mn *m)
{
    json_t *list = ctx;
    char op[80];
    json_array_append_new(list, json_pack("{s:s, s:s, s:o, s:o, s:s, s:I, s:I, s:b, s:I, s:I, s:b}", "collateral",
                                          tc_outpoint_str(op, &m->collateral), "tier", tc_tier_name(m->tier),
                                          "operator", hex_json(m->operator_key.b, 32), "owner",
                                          hex_json(m->owner.b, 32), "netaddr", m->netaddr, "registered_height",
                                          (json_int_t)m->registered_height, "active_height",
                                          (json_int_t)m->active_height, "jailed", m->jailed != 0, "missed",
                                          (json_int_t)m->missed, "unbond_height", (json_int_t)m->unbond_height,
                                          "slashed", m->slashed != 0));
    return 0;
}

static json_t *m_listmasternodes(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    json_t *list = json_array();
    if (tc_ledger_each_mn(n->L, add_mn, list) != 0) {
        json_decref(list);
        return tc_rpc_fail(e, TC_RPC_INTERNAL_ERROR, "store read failed");
    }
    return list;
}

static json_t *m_getnetworkinfo(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    tc_peer_info *p;
    size_t k = tc_p2p_peers(n->p2p, &p), in = 0, out = 0;
    for (size_t i = 0; i < k; i++)
        if (p[i].established)
            *(p[i].inbound ? &in : &out) += 1;
    free(p);
    return json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:I}", "version", TC_VERSION, "subversion", TC_USER_AGENT,
                     "protocolversion", (json_int_t)TC_PROTOCOL_VERSION, "chain", n->g->net->name, "connections",
                     (json_int_t)(in + out), "connections_in", (json_int_t)in, "connections_out", (json_int_t)out,
                     "listen_port", (json_int_t)tc_p2p_listen_port(n->p2p));
}

/* The longest setban: about ten years, "for good" to an operator, and far
 * from overflowing when made milliseconds and added to the clock. */
#define SETBAN_MAX_SECS (10ull * 365 * 86400)

/* setban's bantime (params[2]): a whole number of seconds, 1 ..
 * SETBAN_MAX_SECS, as milliseconds into *ms. false if it is anything else. */
static bool setban_time(json_t *params, uint64_t *ms)
{
    json_t *v = json_array_get(params, 2);
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || (uint64_t)json_integer_value(v) > SETBAN_MAX_SECS)
        return false;
    *ms = (uint64_t)json_integer_value(v) * 1000;
    return true;
}

static json_t *m_setban(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    size_t np = json_is_array(params) ? json_array_size(params) : 0;
    const char *subject = param_str(params, 0), *cmd = param_str(params, 1);
    if (np == 0)
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS,
                           "usage: setban \"ip\"|\"key:<hex>\" \"add\"|\"remove\" [bantime] (see help setban)");
    if (subject == NULL)
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "subject: must be a string, an IP address or key:<hex>");
    if (strchr(subject, '/'))
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS,
                           "subject \"%s\": subnets are not supported, ban single addresses", subject);
    bool add = cmd && strcmp(cmd, "add") == 0;
    if (!add && !(cmd && strcmp(cmd, "remove") == 0))
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "command: must be \"add\" or \"remove\"");
    uint64_t ms = 0; /* the configured ban-time */
    if (np > 2 && !add)
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "bantime: only \"add\" takes one");
    if (np > 2 && !setban_time(params, &ms))
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS,
                           "bantime: must be a whole number of seconds from 1 to %llu (omit it for ban-time)",
                           (unsigned long long)SETBAN_MAX_SECS);
    if (np > 3)
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "absolute: not supported, bantime counts from now");
    int err = add ? tc_p2p_setban(n->p2p, subject, ms, "setban") : tc_p2p_unban(n->p2p, subject);
    if (err == TC_EINVAL)
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS,
                           "subject \"%s\": not an IPv4 or IPv6 address, nor key:<64 hex digits>", subject);
    if (err == TC_ENOTFOUND)
        return tc_rpc_fail(e, RPC_MISC, "setban remove %s: not banned", subject);
    if (err)
        return tc_rpc_fail(e, RPC_MISC, "setban %s %s: %s", cmd, subject, tc_strerror(err));
    return json_null();
}

static json_t *m_clearbanned(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    if (json_is_array(params) && json_array_size(params) > 0)
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "clearbanned takes no parameters");
    int err = tc_p2p_clearbanned(n->p2p);
    if (err)
        return tc_rpc_fail(e, RPC_MISC, "clearbanned: %s (the bans are lifted until the next start)",
                           tc_strerror(err));
    return json_null();
}

static json_t *m_listbanned(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    tc_ban *b;
    size_t k = tc_p2p_listbanned(n->p2p, &b);
    json_t *r = json_array();
    for (size_t i = 0; i < k; i++)
        json_array_append_new(r, json_pack("{s:s, s:I, s:I, s:s}", "subject", b[i].subject, "created_ms",
                                           (json_int_t)b[i].created_ms, "until_ms", (json_int_t)b[i].until_ms,
                                           "reason", b[i].reason));
    free(b);
    return r;
}

static json_t *m_addnode(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    const char *addr = param_str(params, 0), *cmd = param_str(params, 1);
    if (addr == NULL || cmd == NULL || (strcmp(cmd, "add") != 0 && strcmp(cmd, "onetry") != 0))
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "usage: addnode \"ip:port\" \"add\"|\"onetry\"");
    int err = strcmp(cmd, "add") == 0 ? tc_p2p_add_address(n->p2p, addr, TC_ADDR_CONNECT) : 0;
    if (err == 0)
        err = tc_p2p_connect(n->p2p, addr);
    if (err)
        return tc_rpc_fail(e, RPC_MISC, "addnode %s: %s", addr, tc_strerror(err));
    return json_null();
}

static json_t *m_disconnectnode(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    const char *addr = param_str(params, 0);
    uint64_t id = 0;
    if (addr == NULL && !param_uint(params, 0, &id))
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "usage: disconnectnode \"ip:port\" | peer_id");
    tc_peer_info *p;
    size_t k = tc_p2p_peers(n->p2p, &p);
    for (size_t i = 0; i < k && addr; i++)
        if (strcmp(p[i].addr, addr) == 0)
            id = p[i].id;
    free(p);
    if (id == 0 || tc_p2p_disconnect(n->p2p, id) != 0)
        return tc_rpc_fail(e, RPC_NOT_FOUND, "no connected peer %s", addr ? addr : "with that id");
    return json_null();
}

static json_t *m_forkrollback(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    uint64_t to;
    if (!param_uint(params, 0, &to) || json_array_size(params) != 1)
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "usage: forkrollback height (the fork height - 1, from the log)");
    tc_errmsg why;
    if (n->fork_rollback == NULL || n->fork_rollback(n->node, to, &why) != 0)
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "%s", n->fork_rollback ? why.msg : "not available");
    return json_pack("{s:I}", "height", (json_int_t)tc_ledger_height(n->L));
}

static json_t *m_forkchoose(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    tc_hash hash;
    if (!param_hash(params, 0, &hash) || json_array_size(params) != 1)
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "usage: forkchoose hash (a block at the fork height, from the log)");
    tc_errmsg why;
    uint64_t fork_height = 0;
    bool ours = false;
    if (n->fork_choose == NULL || n->fork_choose(n->node, &hash, &fork_height, &ours, &why) != 0)
        return tc_rpc_fail(e, TC_RPC_INVALID_PARAMS, "%s", n->fork_choose ? why.msg : "not available");
    return json_pack("{s:I, s:I, s:o, s:b}", "height", (json_int_t)tc_ledger_height(n->L), "fork_height",
                     (json_int_t)fork_height, "block", hex_json(hash.b, 32), "ours", ours);
}

static json_t *m_stop(void *ctx, json_t *params, tc_rpc_error *e)
{
    tc_noderpc *n = ctx;
    event_base_loopexit(n->base, NULL); /* after this reply is queued */
    return json_string("timed stopping");
}

/* Every method with its help text, which `help METHOD` answers as is and
 * whose first line `help` lists (in name order: tc_rpc_register sorts). */
static const struct {
    const char *name;
    tc_rpc_handler fn;
    const char *help;
} methods[] = {
    {"getblockcount", m_getblockcount,
     "getblockcount\n"
     "Height of the last certified block.\n"
     "\n"
     "Result: a number\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getblockcount"},
    {"getbestblockhash", m_getbestblockhash,
     "getbestblockhash\n"
     "Hash of the last certified block.\n"
     "\n"
     "Result: hex string\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getbestblockhash"},
    {"getblockhash", m_getblockhash,
     "getblockhash height\n"
     "Hash of the block at height.\n"
     "\n"
     "Arguments:\n"
     "  1. height (number, required): 0 is genesis; above the tip: error -5 naming the tip\n"
     "\n"
     "Result: hex string\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getblockhash 5"},
    {"getblock", m_getblock,
     "getblock \"blockhash\"\n"
     "Header fields, txids and certificate of a block.\n"
     "\n"
     "Arguments:\n"
     "  1. blockhash (string, required): 64 hex characters\n"
     "\n"
     "Result: {hash, height, time_ms, previousblockhash, proposer, merkleroot, utxo_commitment, size, tx[], certificate{round, signers, keys[]}, confirmations}\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getblock $(time-cli --datadir DIR getblockhash 5)"},
    {"getblockchaininfo", m_getblockchaininfo,
     "getblockchaininfo\n"
     "Chain, tip, age of the last block, validators.\n"
     "\n"
     "Result: {chain, chain_id, blocks, bestblockhash, time_ms, last_block_age_ms, genesis, utxo_commitment, validators, total_weight}\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getblockchaininfo"},
    {"getconsensusinfo", m_getconsensusinfo,
     "getconsensusinfo\n"
     "Consensus height, round, step, locks.\n"
     "\n"
     "Result: {height, round, step, locked_round, valid_round, rounds_started, round_changes, signed, evidence, proposer, self,\n"
     "         fork: {state (idle|searching|querying|decided|waiting_operator|halted), height, answers, weight_for,\n"
     "                weight_against, weight_total, culprits, culprit_weight, suspected, queries, undecided, rollbacks,\n"
     "                halted, culprit_keys, certified (the blocks at height with a valid certificate, ours first), halts}}\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getconsensusinfo"},
    {"getchaintips", m_getchaintips,
     "getchaintips\n"
     "The branches this node knows: its tip (status active) and each other block the last fork query saw at the\n"
     "fork height (status fork), with the validator weight that answered for it and whether its certificate is valid.\n"
     "\n"
     "Result: [{height, hash, status, branchlen} , {height, hash, status: \"fork\", weight, valid_cert, answers}...]\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getchaintips"},
    {"sendrawtransaction", m_sendrawtransaction,
     "sendrawtransaction \"hex\"\n"
     "Admits a signed transaction to the mempool and relays it; returns its txid.\n"
     "\n"
     "Arguments:\n"
     "  1. hex (string, required): the encoded transaction\n"
     "\n"
     "Result: txid (hex string); -26 with the rule that refused it\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR sendrawtransaction 0100..."},
    {"getmempoolinfo", m_getmempoolinfo,
     "getmempoolinfo\n"
     "Pending transactions, bytes, fees and counters.\n"
     "\n"
     "Result: {size, bytes, fees, admitted, rejected, evicted, expired, mined}\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getmempoolinfo"},
    {"getrawmempool", m_getrawmempool,
     "getrawmempool\n"
     "Ids of pending transactions in arrival order.\n"
     "\n"
     "Result: [txid, ...]\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getrawmempool"},
    {"listunspent", m_listunspent,
     "listunspent \"address\" [limit] [\"after\"]\n"
     "One page of an address's unspent outputs in outpoint order; pass next as after for the next page. Masternode collateral is marked locked.\n"
     "\n"
     "Arguments:\n"
     "  1. address (string, required): an address of this network\n"
     "  2. limit (number, optional): default 1000, at most 5000\n"
     "  3. after (string, optional): \"txid:vout\", the next of the previous page\n"
     "\n"
     "Result: {utxos: [{txid, vout, amount, value_sat, height, locked}], truncated, next}\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR listunspent tdev1... 100"},
    {"getbalance", m_getbalance,
     "getbalance \"address\"\n"
     "Sum of the unspent outputs of an address (TIME).\n"
     "\n"
     "Arguments:\n"
     "  1. address (string, required): an address of this network\n"
     "\n"
     "Result: amount (string, TIME)\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getbalance tdev1..."},
    {"getpeerinfo", m_getpeerinfo,
     "getpeerinfo\n"
     "Connected peers.\n"
     "\n"
     "Result: [{id, addr, key, inbound, established, height, ping_ms, bytes_in, bytes_out, ban_score, user_agent,\n"
     "          protocol, operator}]\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getpeerinfo"},
    {"listmasternodes", m_listmasternodes,
     "listmasternodes\n"
     "Registered masternodes and their state.\n"
     "\n"
     "Result: [{collateral, tier, operator, owner, netaddr, registered_height, active_height, jailed, missed, unbond_height, slashed}]\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR listmasternodes"},
    {"getrawtransaction", m_getrawtransaction,
     "getrawtransaction \"txid\" [verbose]\n"
     "A transaction (hex) from the chain or the mempool; verbose adds its block and whether it is final.\n"
     "\n"
     "Arguments:\n"
     "  1. txid (string, required): 64 hex characters\n"
     "  2. verbose (boolean, optional): default false\n"
     "\n"
     "Result: hex string, or {txid, hex, kind, blockhash, height, time_ms, confirmations, final}\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getrawtransaction 3f1c... true"},
    {"gettransaction", m_gettransaction,
     "gettransaction \"txid\"\n"
     "The verbose form of getrawtransaction.\n"
     "\n"
     "Arguments:\n"
     "  1. txid (string, required): 64 hex characters\n"
     "\n"
     "Result: {txid, hex, kind, blockhash, height, time_ms, confirmations, final}\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR gettransaction 3f1c..."},
    {"gettxoutsetinfo", m_gettxoutsetinfo,
     "gettxoutsetinfo\n"
     "Unspent output count, total and commitment.\n"
     "\n"
     "Result: {height, bestblock, txouts, total_amount, utxo_commitment}\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR gettxoutsetinfo"},
    {"getnetworkinfo", m_getnetworkinfo,
     "getnetworkinfo\n"
     "Version, protocol, connections.\n"
     "\n"
     "Result: {version, subversion, protocolversion, chain, connections, connections_in, connections_out, listen_port}\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR getnetworkinfo"},
    {"setban", m_setban,
     "setban \"ip\"|\"key:<hex>\" \"add\"|\"remove\" [bantime]\n"
     "Bans or unbans a peer; matching links are dropped; bans persist.\n"
     "\n"
     "Arguments:\n"
     "  1. subject (string, required): an IPv4 or IPv6 address (no port, no subnet) or\n"
     "     key:<64 hex digits of a node key>; listed in canonical form\n"
     "  2. command (string, required): add or remove\n"
     "  3. bantime (number, optional, add only): seconds, 1 to 315360000 (ten years);\n"
     "     default ban-time\n"
     "\n"
     "Result: null\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR setban 203.0.113.9 add 3600"},
    {"clearbanned", m_clearbanned,
     "clearbanned\n"
     "Lifts every ban, the stored ones too.\n"
     "\n"
     "Result: null\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR clearbanned"},
    {"listbanned", m_listbanned,
     "listbanned\n"
     "Current bans with their expiry.\n"
     "\n"
     "Result: [{subject, created_ms, until_ms, reason}]\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR listbanned"},
    {"addnode", m_addnode,
     "addnode \"ip:port\" \"add\"|\"onetry\"\n"
     "Connects to a peer (add: keeps it in the address book).\n"
     "\n"
     "Arguments:\n"
     "  1. address (string, required): numeric ip:port\n"
     "  2. command (string, required): add or onetry\n"
     "\n"
     "Result: null\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR addnode 10.0.0.2:24200 add"},
    {"disconnectnode", m_disconnectnode,
     "disconnectnode \"ip:port\" | peer_id\n"
     "Closes a peer link (no ban).\n"
     "\n"
     "Arguments:\n"
     "  1. peer (string or number, required): its address or its id from getpeerinfo\n"
     "\n"
     "Result: null\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR disconnectnode 7"},
    {"forkrollback", m_forkrollback,
     "forkrollback height\n"
     "While a lost fork waits for the operator (getconsensusinfo fork.state waiting_operator: deeper than\n"
     "fork-max-rollback), rolls the chain back to height (the fork height - 1, as the log and getchaintips name it),\n"
     "returns the transactions to the mempool and syncs the branch the network's weight holds.\n"
     "\n"
     "Result: {height} (the tip after the rollback)\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR forkrollback 5"},
    {"forkchoose", m_forkchoose,
     "forkchoose hash\n"
     "While a fork halts commits (getconsensusinfo fork.halted: two valid certificates for different blocks at\n"
     "the fork height, and no branch with more than 2/3 of the other validators' weight), keeps the branch whose\n"
     "block at the fork height is hash (one of fork.certified). Our block: committing resumes and peers on the\n"
     "other branch are set aside. The other block: rolls back to the fork height - 1 (whatever\n"
     "fork-max-rollback says) and syncs it. The choice holds for later fork queries at that height.\n"
     "\n"
     "Result: {height (the tip after it), fork_height, block, ours}\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR forkchoose 3f1c...e09a"},
    {"stop", m_stop,
     "stop\n"
     "Stops timed gracefully.\n"
     "\n"
     "Result: \"timed stopping\"\n"
     "\n"
     "Example:\n"
     "  time-cli --datadir DIR stop"},
};

int tc_noderpc_register(tc_rpc *rpc, tc_noderpc *ctx)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        int err = tc_rpc_register(rpc, methods[i].name, methods[i].fn, ctx, methods[i].help);
        if (err)
            return err;
    }
    return 0;
}
