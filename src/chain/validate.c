#include "chain/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/amount.h"
#include "util/hex.h"
#include "util/mem.h"

static int cmp_outpoint(const void *a, const void *b)
{
    const tc_outpoint *x = a, *y = b;
    int c = memcmp(x->txid.b, y->txid.b, 32);
    if (c)
        return c;
    return x->vout < y->vout ? -1 : x->vout > y->vout;
}

static int check_no_dup_inputs(const tc_tx *tx, tc_errmsg *e)
{
    if (tx->n_in < 2)
        return 0;
    tc_outpoint *ops = tc_xmalloc(tx->n_in * sizeof *ops);
    for (size_t i = 0; i < tx->n_in; i++)
        ops[i] = tx->in[i].prev;
    qsort(ops, tx->n_in, sizeof *ops, cmp_outpoint);
    int err = 0;
    for (size_t i = 1; i < tx->n_in && err == 0; i++) {
        if (cmp_outpoint(&ops[i - 1], &ops[i]) == 0) {
            char op[80];
            err = tc_fail(e, TC_ETX_DUP_INPUT, "outpoint %s is spent twice", tc_outpoint_str(op, &ops[i]));
        }
    }
    free(ops);
    return err;
}

static int check_outputs(const tc_tx *tx, tc_errmsg *e)
{
    uint64_t total = 0;
    for (size_t i = 0; i < tx->n_out; i++) {
        const tc_txout *o = &tx->out[i];
        if (o->addr.version != TC_ADDR_VERSION)
            return tc_fail(e, TC_EADDR_VERSION, "output %zu: unknown address version %u", i, o->addr.version);
        if (o->value < TC_DUST_LIMIT)
            return tc_fail(e, TC_ETX_DUST, "output %zu: value %llu sat is below the dust limit %llu sat", i,
                           (unsigned long long)o->value, (unsigned long long)TC_DUST_LIMIT);
        if (o->value > TC_MAX_MONEY || total + o->value > TC_MAX_MONEY)
            return tc_fail(e, TC_ETX_OVERFLOW, "output %zu: total output value exceeds the money supply", i);
        total += o->value;
    }
    return 0;
}

int tc_tx_check_basic(const tc_tx *tx, tc_errmsg *e)
{
    if (tx->version != TC_TX_VERSION)
        return tc_fail(e, TC_ETX_VERSION, "version %u is not supported (expected %u)", tx->version, TC_TX_VERSION);
    if (tx->kind >= TC_TX_KIND_COUNT)
        return tc_fail(e, TC_ETX_KIND, "unknown kind %u", tx->kind);
    size_t size = tc_tx_size(tx);
    if (size > TC_MAX_TX_SIZE)
        return tc_fail(e, TC_ETX_SIZE, "size %zu bytes exceeds %u", size, TC_MAX_TX_SIZE);
    switch (tx->kind) {
    case TC_TX_COINBASE:
        if (tx->n_in != 0)
            return tc_fail(e, TC_ETX_KIND, "coinbase has %zu inputs (must have none)", tx->n_in);
        if (tx->n_out == 0)
            return tc_fail(e, TC_ETX_NO_OUTPUTS, "coinbase has no outputs");
        break;
    case TC_TX_EVIDENCE:
        if (tx->n_in != 0 || tx->n_out != 0)
            return tc_fail(e, TC_ETX_PAYLOAD, "evidence carries no inputs or outputs");
        if (!tc_vote_conflict(&tx->u.evidence.a, &tx->u.evidence.b))
            return tc_fail(e, TC_EEVIDENCE, "the two votes do not conflict");
        break;
    case TC_TX_TRANSFER:
        if (tx->n_out == 0)
            return tc_fail(e, TC_ETX_NO_OUTPUTS, "transfer has no outputs");
        /* fall through */
    default:
        if (tx->n_in == 0)
            return tc_fail(e, TC_ETX_NO_INPUTS, "%s has no inputs", tc_tx_kind_name(tx->kind));
        break;
    }
    if (tx->kind == TC_TX_MN_REGISTER) {
        if (tc_tier_info(tx->u.reg.tier, NULL, NULL) || tx->u.reg.tier == TC_TIER_FREE)
            return tc_fail(e, TC_EMN_TIER, "tier %u cannot register (bronze, silver or gold)", tx->u.reg.tier);
        if (tx->u.reg.netaddr[0] == '\0')
            return tc_fail(e, TC_ETX_PAYLOAD, "masternode registration without a network address");
        if (tx->u.reg.reward.version != TC_ADDR_VERSION)
            return tc_fail(e, TC_EADDR_VERSION, "reward address version %u unknown", tx->u.reg.reward.version);
    }
    if (tx->kind == TC_TX_MN_UPDATE && tx->u.update.reward.version != TC_ADDR_VERSION)
        return tc_fail(e, TC_EADDR_VERSION, "reward address version %u unknown", tx->u.update.reward.version);
    int err = check_no_dup_inputs(tx, e);
    if (err)
        return err;
    return check_outputs(tx, e);
}

/* The key each extra signature slot must verify under. */
static const tc_pubkey *xsig_key(const tc_tx *tx, size_t k)
{
    switch (tx->kind) {
    case TC_TX_MN_REGISTER:
        return k == 0 ? &tx->u.reg.owner : &tx->u.reg.operator_key;
    case TC_TX_MN_UPDATE:
        return &tx->u.update.owner;
    case TC_TX_MN_DEREGISTER:
        return &tx->u.dereg.owner;
    case TC_TX_MN_UNJAIL:
        return &tx->u.unjail.owner;
    default:
        return NULL;
    }
}

int tc_tx_check_sigs(const tc_tx *tx, const tc_hash *txid, uint32_t chain_id, tc_sigcache *cache, tc_errmsg *e)
{
    tc_hash sh;
    tc_tx_sighash(txid, chain_id, &sh);
    for (size_t i = 0; i < tx->n_in; i++)
        if (tc_sigcache_verify(cache, &tx->in[i].pubkey, sh.b, 32, &tx->in[i].sig))
            return tc_fail(e, TC_ESIG, "input %zu: bad signature", i);
    for (size_t k = 0; k < tc_tx_xsig_count(tx->kind); k++)
        if (tc_sigcache_verify(cache, xsig_key(tx, k), sh.b, 32, &tx->xsig[k]))
            return tc_fail(e, TC_ESIG, "%s signature %zu: bad signature", tc_tx_kind_name(tx->kind), k);
    if (tx->kind == TC_TX_EVIDENCE) {
        if (tc_vote_verify(&tx->u.evidence.a, chain_id) || tc_vote_verify(&tx->u.evidence.b, chain_id))
            return tc_fail(e, TC_EEVIDENCE, "evidence vote has a bad signature");
    }
    return 0;
}

uint64_t tc_tx_sent_amount(const tc_tx *tx)
{
    uint64_t sent = 0;
    tc_address small[8];
    tc_address *own = tx->n_in <= 8 ? small : tc_xmalloc(tx->n_in * sizeof *own);
    for (size_t i = 0; i < tx->n_in; i++)
        tc_address_from_pubkey(&own[i], &tx->in[i].pubkey);
    for (size_t o = 0; o < tx->n_out; o++) {
        int change = 0;
        for (size_t i = 0; i < tx->n_in && !change; i++)
            change = tc_address_eq(&own[i], &tx->out[o].addr);
        if (!change)
            sent += tx->out[o].value;
    }
    if (own != small)
        free(own);
    return sent;
}

static int lookup_mn(const tc_view *v, const tc_outpoint *col, tc_mn *m, tc_errmsg *e)
{
    int err = v->get_mn(v->ctx, col, m);
    if (err == TC_ENOTFOUND) {
        char op[80];
        return tc_fail(e, TC_EMN_UNKNOWN, "no masternode with collateral %s", tc_outpoint_str(op, col));
    }
    return err ? tc_fail(e, err, "masternode lookup: %s", tc_strerror(err)) : 0;
}

static int check_register(const tc_tx *tx, const tc_view *v, tc_errmsg *e)
{
    const tc_mn_register *r = &tx->u.reg;
    char op[80];
    tc_utxo col;
    tc_mn m;
    int err = v->get_utxo(v->ctx, &r->collateral, &col);
    if (err == TC_ENOTFOUND)
        return tc_fail(e, TC_EMN_COLLATERAL, "collateral %s is not an unspent output",
                       tc_outpoint_str(op, &r->collateral));
    if (err)
        return tc_fail(e, err, "collateral lookup: %s", tc_strerror(err));
    uint64_t need = 0;
    if (tc_tier_info(r->tier, &need, NULL))
        return tc_fail(e, TC_EMN_TIER, "unknown tier %u", r->tier);
    if (col.value != need)
        return tc_fail(e, TC_EMN_COLLATERAL, "collateral %s holds %llu sat; tier %s needs exactly %llu sat",
                       tc_outpoint_str(op, &r->collateral), (unsigned long long)col.value,
                       tc_tier_name(r->tier), (unsigned long long)need);
    tc_address owner;
    tc_address_from_pubkey(&owner, &r->owner);
    if (!tc_address_eq(&owner, &col.addr))
        return tc_fail(e, TC_EMN_COLLATERAL, "collateral %s is not owned by the registering key",
                       tc_outpoint_str(op, &r->collateral));
    for (size_t i = 0; i < tx->n_in; i++)
        if (cmp_outpoint(&tx->in[i].prev, &r->collateral) == 0)
            return tc_fail(e, TC_EMN_COLLATERAL, "input %zu spends the collateral it registers", i);
    err = v->get_mn(v->ctx, &r->collateral, &m);
    if (err == 0)
        return tc_fail(e, TC_EMN_EXISTS, "collateral %s already backs a masternode",
                       tc_outpoint_str(op, &r->collateral));
    if (err != TC_ENOTFOUND)
        return tc_fail(e, err, "masternode lookup: %s", tc_strerror(err));
    err = v->get_mn_by_operator(v->ctx, &r->operator_key, &m);
    if (err == 0)
        return tc_fail(e, TC_EMN_EXISTS, "operator key already used by masternode %s",
                       tc_outpoint_str(op, &m.collateral));
    if (err != TC_ENOTFOUND)
        return tc_fail(e, err, "masternode lookup: %s", tc_strerror(err));
    return 0;
}

/* A collateral is spendable only once its masternode's unbonding period is
 * over (docs/chain.md, "Collateral, unbonding and slashing"): until then
 * evidence of a double sign can still reach it. 0 if o backs no masternode. */
static int check_bonded(const tc_view *v, const tc_outpoint *o, size_t i, uint64_t height, tc_errmsg *e)
{
    tc_mn m;
    char op[80];
    int err = v->get_mn(v->ctx, o, &m);
    if (err == TC_ENOTFOUND)
        return 0;
    if (err)
        return tc_fail(e, err, "input %zu: masternode lookup: %s", i, tc_strerror(err));
    if (m.unbond_height == 0)
        return tc_fail(e, TC_ETX_LOCKED,
                       "input %zu spends %s, the collateral of a registered masternode: deregister it first "
                       "(time-cli masternode deregister) and spend it after the unbonding period",
                       i, tc_outpoint_str(op, o));
    if (height < m.unbond_height)
        return tc_fail(e, TC_ETX_LOCKED, "input %zu spends collateral %s, unbonding until height %llu", i,
                       tc_outpoint_str(op, o), (unsigned long long)m.unbond_height);
    return 0;
}

static int check_mn_kind(const tc_tx *tx, const tc_view *v, tc_errmsg *e)
{
    tc_mn m;
    int err;
    switch (tx->kind) {
    case TC_TX_MN_REGISTER:
        return check_register(tx, v, e);
    case TC_TX_MN_UPDATE:
        if ((err = lookup_mn(v, &tx->u.update.collateral, &m, e)))
            return err;
        if (memcmp(m.owner.b, tx->u.update.owner.b, 32) != 0)
            return tc_fail(e, TC_EMN_COLLATERAL, "update not signed by the collateral owner");
        if (m.unbond_height)
            return tc_fail(e, TC_EMN_UNKNOWN, "masternode is deregistered (unbonding until height %llu)",
                           (unsigned long long)m.unbond_height);
        return 0;
    case TC_TX_MN_DEREGISTER:
        if ((err = lookup_mn(v, &tx->u.dereg.collateral, &m, e)))
            return err;
        if (memcmp(m.owner.b, tx->u.dereg.owner.b, 32) != 0)
            return tc_fail(e, TC_EMN_COLLATERAL, "deregistration not signed by the collateral owner");
        if (m.unbond_height)
            return tc_fail(e, TC_EMN_UNKNOWN, "masternode is already deregistered (unbonding until height %llu)",
                           (unsigned long long)m.unbond_height);
        return 0;
    case TC_TX_MN_UNJAIL:
        if ((err = lookup_mn(v, &tx->u.unjail.collateral, &m, e)))
            return err;
        if (memcmp(m.operator_key.b, tx->u.unjail.owner.b, 32) != 0)
            return tc_fail(e, TC_EMN_COLLATERAL, "unjail not signed by the operator key");
        if (!m.jailed)
            return tc_fail(e, TC_EMN_NOT_JAILED, "masternode is not jailed");
        if (m.slashed)
            return tc_fail(e, TC_EMN_COLLATERAL, "masternode was slashed for a double sign and stays jailed; "
                           "deregister it and register a new one");
        if (m.unbond_height)
            return tc_fail(e, TC_EMN_UNKNOWN, "masternode is deregistered (unbonding until height %llu)",
                           (unsigned long long)m.unbond_height);
        return 0;
    case TC_TX_EVIDENCE:
        err = v->get_mn_by_operator(v->ctx, &tx->u.evidence.a.validator, &m);
        if (err == TC_ENOTFOUND)
            return tc_fail(e, TC_EMN_UNKNOWN, "evidence names a key that is not a masternode operator");
        if (err)
            return tc_fail(e, err, "masternode lookup: %s", tc_strerror(err));
        /* one slash per masternode: more evidence could only fill blocks for free */
        return m.slashed ? tc_fail(e, TC_EEVIDENCE, "masternode was already slashed for a double sign") : 0;
    default:
        return 0;
    }
}

int tc_tx_check_inputs(const tc_tx *tx, const tc_hash *txid, const tc_view *v, uint64_t height, uint64_t *fee,
                       tc_errmsg *e)
{
    char op[80], a[TC_AMOUNT_STRLEN], b[TC_AMOUNT_STRLEN];
    *fee = 0;
    if (tx->kind == TC_TX_COINBASE)
        return tc_fail(e, TC_ETX_KIND, "a coinbase is only valid as the first transaction of its block");
    if (tx->lock_time > height)
        return tc_fail(e, TC_ETX_LOCKTIME, "lock time %u not reached at height %llu", tx->lock_time,
                       (unsigned long long)height);
    int err = v->has_tx(v->ctx, txid);
    if (err < 0)
        return tc_fail(e, err, "tx index lookup: %s", tc_strerror(err));
    if (err == 1) {
        char hex[65];
        return tc_fail(e, TC_ETX_DOUBLE_SPEND, "transaction %s is already on chain", tc_hex_encode(hex, txid->b, 32));
    }
    uint64_t in_total = 0, out_total = 0;
    for (size_t i = 0; i < tx->n_in; i++) {
        tc_utxo u;
        err = v->get_utxo(v->ctx, &tx->in[i].prev, &u);
        if (err == TC_ENOTFOUND)
            return tc_fail(e, TC_ETX_MISSING_INPUT, "input %zu spends unknown output %s", i,
                           tc_outpoint_str(op, &tx->in[i].prev));
        if (err)
            return tc_fail(e, err, "input %zu: %s", i, tc_strerror(err));
        tc_address owner;
        tc_address_from_pubkey(&owner, &tx->in[i].pubkey);
        if (!tc_address_eq(&owner, &u.addr))
            return tc_fail(e, TC_ETX_WRONG_KEY, "input %zu: key does not own output %s", i,
                           tc_outpoint_str(op, &tx->in[i].prev));
        if ((err = check_bonded(v, &tx->in[i].prev, i, height, e)))
            return err;
        if (in_total + u.value < in_total || in_total + u.value > TC_MAX_MONEY)
            return tc_fail(e, TC_ETX_OVERFLOW, "input %zu: total input value overflows", i);
        in_total += u.value;
    }
    for (size_t i = 0; i < tx->n_out; i++)
        out_total += tx->out[i].value; /* bounded by check_basic */
    if (in_total < out_total)
        return tc_fail(e, TC_ETX_INSUFFICIENT, "inputs %s TIME are below outputs %s TIME",
                       tc_amount_format(a, in_total), tc_amount_format(b, out_total));
    uint64_t paid = in_total - out_total;
    if (tx->kind != TC_TX_EVIDENCE) {
        uint64_t need = tc_required_fee(tc_tx_sent_amount(tx));
        if (paid < need)
            return tc_fail(e, TC_ETX_FEE, "fee %llu sat is below the required %llu sat", (unsigned long long)paid,
                           (unsigned long long)need);
    }
    if ((err = check_mn_kind(tx, v, e)))
        return err;
    *fee = paid;
    return 0;
}

/* ---- block time ------------------------------------------------------------------- */

int tc_block_check_time(uint64_t time_ms, uint64_t parent_ms, tc_errmsg *e)
{
    if (parent_ms == UINT64_MAX)
        return tc_fail(e, TC_EBLK_TIME, "the parent is dated %llu ms, the last time there is: no block can follow it",
                       (unsigned long long)parent_ms);
    if (time_ms <= parent_ms)
        return tc_fail(e, TC_EBLK_TIME, "time %llu ms is not after the parent's %llu ms", (unsigned long long)time_ms,
                       (unsigned long long)parent_ms);
    return 0;
}

int tc_block_check_drift(uint64_t time_ms, uint64_t now_ms, uint32_t max_drift_ms, tc_errmsg *e)
{
    uint64_t limit = now_ms > UINT64_MAX - max_drift_ms ? UINT64_MAX : now_ms + max_drift_ms;
    if (time_ms > limit)
        return tc_fail(e, TC_EBLK_TIME, "block time %llu is %llu ms ahead of this node's clock (drift limit %u ms)",
                       (unsigned long long)time_ms, (unsigned long long)(time_ms - now_ms), max_drift_ms);
    return 0;
}

int tc_block_next_time(uint64_t parent_ms, uint64_t now_ms, uint32_t max_drift_ms, uint64_t *out, tc_errmsg *e)
{
    if (parent_ms == UINT64_MAX)
        return tc_block_check_time(UINT64_MAX, parent_ms, e);
    uint64_t t = now_ms > parent_ms ? now_ms : parent_ms + 1;
    tc_errmsg why;
    int err = tc_block_check_drift(t, now_ms, max_drift_ms, &why);
    if (err)
        return tc_fail(e, err, "cannot date a child of the parent at %llu ms: %s", (unsigned long long)parent_ms,
                       why.msg);
    *out = t;
    return 0;
}
